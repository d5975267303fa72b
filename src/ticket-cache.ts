/**
 * Remembers opened tickets by their exact string, so a repeat visitor's request costs a map
 * lookup instead of an AES-GCM decrypt and a SHA-256 (each a thread-pool hop on Node).
 * Only tickets that opened successfully are remembered, so forged strings cannot flush it;
 * an entry never outlives the ticket's expiry or its key's `notAfter`. Bounded: when it is
 * full, the oldest entry not used since it was last passed over goes ("second chance", a cheap
 * approximation of least recently used: a hit only sets a flag, it moves nothing).
 *
 * @module
 */

import type { Snapshot } from "./ticket.ts";

export interface OpenedEntry {
  sid: string;
  handle: string;
  /** Ticket's absolute expiry, epoch ms. */
  expiresAt: number;
  kid: string;
  /** Epoch ms after which the entry must be opened again. */
  validUntil: number;
  /** The cookie-cache snapshot the ticket carries, if any. */
  snapshot?: Snapshot;
}

interface Slot {
  entry: OpenedEntry;
  /** Used since the eviction sweep last passed it. */
  used: boolean;
}

export class TicketCache {
  readonly #slots = new Map<string, Slot>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get(ticket: string, now: number): OpenedEntry | undefined {
    const slot = this.#slots.get(ticket);
    if (!slot) return undefined;
    if (slot.entry.validUntil <= now) {
      this.#slots.delete(ticket);
      return undefined;
    }
    slot.used = true;
    return slot.entry;
  }

  set(ticket: string, entry: OpenedEntry): void {
    if (this.#max === 0) return;
    this.#slots.delete(ticket);
    if (this.#slots.size >= this.#max) this.#evictOne();
    this.#slots.set(ticket, { entry, used: false });
  }

  delete(ticket: string): void {
    this.#slots.delete(ticket);
  }

  get size(): number {
    return this.#slots.size;
  }

  /** From the oldest on: a used entry gets a second chance (moved to the back, flag cleared). */
  #evictOne(): void {
    for (const [ticket, slot] of this.#slots) {
      this.#slots.delete(ticket);
      if (!slot.used) return;
      slot.used = false;
      this.#slots.set(ticket, slot);
    }
  }
}
