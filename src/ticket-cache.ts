/**
 * Remembers opened tickets by their exact string, so a repeat visitor's request costs a map
 * lookup instead of an AES-GCM decrypt and a SHA-256 (each a thread-pool hop on Node).
 * Only tickets that opened successfully are remembered, so forged strings cannot flush it;
 * an entry never outlives the ticket's expiry or its key's `notAfter`. Bounded: when it is
 * full, the oldest entry not used since it was last passed over goes ("second chance", a cheap
 * approximation of least recently used: a hit only sets a flag, it moves nothing).
 *
 * The map is keyed by the ticket's last 22 characters (a JWE's authentication tag: 128 random
 * bits, distinct for every ticket ever sealed), and a hit must equal the whole string. Hashing
 * the whole ticket on every request costs about half a microsecond (V8 hashes a fresh string
 * character by character, and the cookie parser hands a fresh one each time); comparing two
 * strings is a memcmp. A forged string with someone's tag finds their entry, fails the
 * comparison, and is opened (and refused) like any string not seen before.
 *
 * @module
 */

/** The part of a ticket the map is keyed by. */
const keyOf = (ticket: string): string => ticket.slice(-22);

import type { Snapshot } from "./ticket.ts";

export interface OpenedEntry {
  sid: string;
  handle: string;
  /** Ticket's absolute expiry, epoch ms. */
  expiresAt: number;
  kid: string;
  /** Epoch ms after which the entry must be opened again. */
  validUntil: number;
  /** When the session id was issued, epoch ms (the ticket's `i`), if the ticket says. */
  issuedAt?: number;
  /** The cookie-cache snapshot the ticket carries, if any. */
  snapshot?: Snapshot;
}

interface Slot {
  /** The whole ticket; a lookup must match it exactly. */
  ticket: string;
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
    const slot = this.#slots.get(keyOf(ticket));
    if (!slot || slot.ticket !== ticket) return undefined;
    if (slot.entry.validUntil <= now) {
      this.#slots.delete(keyOf(ticket));
      return undefined;
    }
    slot.used = true;
    return slot.entry;
  }

  set(ticket: string, entry: OpenedEntry): void {
    if (this.#max === 0) return;
    const key = keyOf(ticket);
    this.#slots.delete(key);
    if (this.#slots.size >= this.#max) this.#evictOne();
    this.#slots.set(key, { ticket, entry, used: false });
  }

  delete(ticket: string): void {
    const key = keyOf(ticket);
    if (this.#slots.get(key)?.ticket === ticket) this.#slots.delete(key);
  }

  get size(): number {
    return this.#slots.size;
  }

  /** From the oldest on: a used entry gets a second chance (moved to the back, flag cleared). */
  #evictOne(): void {
    for (const [key, slot] of this.#slots) {
      this.#slots.delete(key);
      if (!slot.used) return;
      slot.used = false;
      this.#slots.set(key, slot);
    }
  }
}
