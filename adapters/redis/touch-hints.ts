/**
 * What the store last saw of a session's touch clock, so that a read whose touch cannot be due
 * is a plain `GET` instead of the READ script. A session's `lastSeenAt` only moves forward
 * (every write and touch sets it to the writer's now), so "not due by the last one seen"
 * implies "not due": the hint can only err towards running the script, never towards skipping
 * a touch. The store still checks the record a `GET` returns, for the one case where a hint
 * can be ahead of the record: a write by a server whose clock runs behind.
 *
 * Bounded; the oldest entry goes first. Web-standard (the Upstash adapter shares this folder).
 *
 * @module
 */
import type { SessionRecord } from "../../src/store.ts";

interface Seen {
  lastSeenAt: number;
  idleTimeout: number;
}

/** Store rule 4: a touch is due after the interval, or half the session's idle timeout if that is shorter. */
export function touchDue(seen: Seen, now: number, interval: number): boolean {
  return now - seen.lastSeenAt >= Math.min(interval, seen.idleTimeout / 2);
}

export class TouchHints {
  readonly #seen = new Map<string, Seen>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** True only when the last record seen under `handle` says a touch is not due at `now`. */
  notDue(handle: string, now: number, interval: number): boolean {
    const seen = this.#seen.get(handle);
    return seen !== undefined && !touchDue(seen, now, interval);
  }

  remember(handle: string, record: SessionRecord): void {
    if (this.#max === 0) return;
    this.#seen.delete(handle);
    if (this.#seen.size >= this.#max) this.#seen.delete(this.#seen.keys().next().value!);
    // A retired marker is never touched (store rule 10a): its reads are GETs for as long as it lasts.
    const lastSeenAt = record.successor === undefined ? record.lastSeenAt : Number.POSITIVE_INFINITY;
    this.#seen.set(handle, { lastSeenAt, idleTimeout: record.idleTimeout });
  }

  forget(handle: string): void {
    this.#seen.delete(handle);
  }
}
