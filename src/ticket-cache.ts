/**
 * Remembers opened tickets by their exact string, so a repeat visitor's request costs a map
 * lookup instead of an AES-GCM decrypt and a SHA-256 (each a thread-pool hop on Node).
 * Only tickets that opened successfully are remembered, so forged strings cannot flush it;
 * an entry never outlives the ticket's expiry or its key's `notAfter`. Bounded; the least
 * recently used entry goes first.
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

export class TicketCache {
  readonly #entries = new Map<string, OpenedEntry>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get(ticket: string, now: number): OpenedEntry | undefined {
    const entry = this.#entries.get(ticket);
    if (!entry) return undefined;
    this.#entries.delete(ticket);
    if (entry.validUntil <= now) return undefined;
    this.#entries.set(ticket, entry);
    return entry;
  }

  set(ticket: string, entry: OpenedEntry): void {
    if (this.#max === 0) return;
    this.#entries.delete(ticket);
    if (this.#entries.size >= this.#max) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(ticket, entry);
  }

  delete(ticket: string): void {
    this.#entries.delete(ticket);
  }

  get size(): number {
    return this.#entries.size;
  }
}
