/**
 * The store contract. Every adapter (memory, Upstash, ioredis, Postgres) implements this
 * interface and passes the one conformance suite, `cloakroom/testing` (src/testing/). The rules below are
 * the spec; the suite holds each of them.
 *
 * Records are addressed by a *handle*: `<tag>.<base64url(SHA-256(session id))>`. The store never sees
 * the session id, so a leaked store yields no usable cookie. The core owns encoding,
 * lifetimes and hashing; a store only persists.
 *
 * Rules:
 * 1. A read returns the record or `null`. Missing, expired (`expiresAt` or
 *    `absoluteExpiresAt` passed) and malformed all read as `null`, whether or not the backend
 *    has pruned them yet. Only a system fault (connection lost, timeout, server error)
 *    throws, and it must throw: a fault read as "no session" logs people out.
 * 2. Every write carries an absolute expiry (`record.expiresAt`, epoch ms); the backend
 *    drops the record at that instant at the latest. Nothing is ever stored without one,
 *    including index entries and counters. A write whose `expiresAt` is not in the future
 *    *retires* the record: it succeeds (when the version matches) and the record reads as
 *    gone from then on. The core retires a session this way before it regenerates it, so the
 *    retirement is compare-and-set like any write.
 *    A store must not keep a reference to the record object it is given (copy or serialise).
 * 3. Writes are compare-and-set on `version`: `write(handle, record, expected)` stores the
 *    record only if the stored version equals `expected`, where an absent or expired record
 *    counts as version 0, and returns whether it did. The core passes `record.version` =
 *    `expected + 1`; a store keeps `record.version` as given and must not assume that (a
 *    cache in a tiered store is filled with whatever version the durable store holds).
 * 4. A read may *touch*: when `now - record.lastSeenAt >= min(touch.interval,
 *    record.idleTimeout / 2)` (a session with a short idle timeout of its own is touched
 *    often enough to stay alive), the store sets `lastSeenAt = now` and
 *    `expiresAt = min(now + record.idleTimeout, absoluteExpiresAt)` in the same round trip as
 *    the read, and reports `touched: true`. A touch does not change `version` or anything
 *    else. Without a due touch a read writes nothing.
 * 5. Delete of a missing record succeeds.
 * 6. Optional capabilities are declared by implementing them: the per-user index
 *    (`listUser`, `revokeUser`), atomic counters (`increment`), a health probe (`health`),
 *    a scan of every live session (`scan`, rule 9) and `close`. The index follows `record.userId` on every write and delete, atomically
 *    with it: once `revokeUser` returns, no session of that user whose write was
 *    acknowledged before `revokeUser` returned can be read again (a sign-in racing a
 *    "sign out everywhere" does not survive it).
 * 7. A store receives a client the application built. It never creates connections, reads
 *    the environment or starts timers.
 * 8. A handle is `<tag>.<digest>` (see `isHandle`). A record whose `userId` is not null is
 *    always written under a handle whose tag is `userTag(userId)`: the core re-keys a session
 *    whose user changes. A partitioned backend (Redis Cluster) can therefore keep a user's
 *    sessions and the user's index in one slot, keyed by the tag, and stay atomic.
 * 9. `scan` (optional capability) walks every live session in pages, for moving sessions to
 *    another store (`migratingStore`, `cloakroom migrate`). Start with cursor `null` and pass
 *    each page's `next` until it is `null`. Every session that is live from the start of a full
 *    scan to its end is returned at least once (a Redis scan may return one twice); one
 *    written, deleted or expiring meanwhile may or may not be; an expired or malformed one
 *    never. A page may be empty while `next` is not null. The cursor is an opaque string that
 *    can be saved and passed later, from another process with the same store configuration,
 *    to resume. `limit` is a hint for the page size. A scan reads only: it never touches.
 * 10. Retired ids (a store that declares `retiredIds: true`). When `renew` or `regenerate`
 *     gives a session a new id, the core leaves a *retired marker* under the old handle: a record
 *     whose `successor` is the handle of the session that replaced it, written by compare-and-set
 *     over the live record like any write (rule 3), with `data` saying why (opaque to the
 *     store), `lastSeenAt` the moment of retirement and `expiresAt` the session's absolute expiry. A store keeps `successor`
 *     (and `device`) exactly as given, and a record written without them reads back without
 *     them. Besides rules 1-5, which hold for markers as for any record:
 *     a. a read never touches a marker (its `lastSeenAt` and expiry stay as written);
 *     b. `listUser` leaves markers out: they are not sessions;
 *     c. `revokeUser` deletes the user's markers (but `except`) along with the user's sessions,
 *        atomically with them, and does not count them in what it returns.
 *     A delete removes the one record it names (rule 5), marker or not; nothing cascades. The
 *     core follows successors itself, one read per marker and never across a change of
 *     `userId` (src/retired-chain.ts): so with `renew` on, a sign-out reads the id first and
 *     deletes the live session its renewals led to as well as the id.
 *     A marker of a signed-in session carries the user's id, so it lives under the user's tag
 *     (rule 8) and in the user's index, like the session it stood for. A store that cannot keep
 *     `successor` must not declare `retiredIds`: the core then refuses the `renew` option,
 *     since a marker read back without it would be an empty session of that user.
 *
 * @module
 */

/** What a store persists for one session. Opaque to the store apart from the named fields. */
export interface SessionRecord {
  /** The signed-in user, if any; drives the per-user index. */
  userId: string | null;
  /** Application data: a JSON object. */
  data: Record<string, unknown>;
  /** Incremented by every write; starts at 1. */
  version: number;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms of the last write or touch. */
  lastSeenAt: number;
  /** Epoch ms after which the record is dead: `min(lastSeenAt + idleTimeout, absoluteExpiresAt)`. */
  expiresAt: number;
  /** Epoch ms; nothing extends a session past it. */
  absoluteExpiresAt: number;
  /** Idle timeout of this session in ms, used by a touch to move `expiresAt`. */
  idleTimeout: number;
  /**
   * Set only on a retired marker (rule 10): the handle of the session that replaced this id.
   * Absent on every live session.
   */
  successor?: string;
  /**
   * A device-bound session's binding (DBSC): the device's public key and the browser's session
   * identifier, as JSON the core writes. Opaque to the store, which keeps it as given; absent
   * for a session that is not device-bound.
   */
  device?: string;
}

export interface TouchRequest {
  /** The caller's clock, epoch ms. */
  now: number;
  /** Minimum ms between two touches of one record. */
  interval: number;
}

export interface ReadResult {
  record: SessionRecord;
  /** Whether this read moved the idle expiry forward. */
  touched: boolean;
}

export interface UserSession {
  handle: string;
  record: SessionRecord;
}

export interface CounterResult {
  /** The count in the current window, this increment included. */
  count: number;
  /** Epoch ms at which the current window ends and the counter starts again. */
  resetAt: number;
}

/** One page of a scan (rule 9). */
export interface ScanPage {
  /** Live sessions, each with its handle. */
  sessions: UserSession[];
  /** Where the next page starts; null when the scan is complete. */
  next: string | null;
}

export interface ScanOptions {
  /** About how many sessions one page holds (a hint). @default 100 */
  limit?: number;
}

/** A scan's page size for an adapter: the hint, bounded to 1..10000 (rule 9 makes it a hint). */
export function scanPageSize(options: ScanOptions = {}): number {
  const limit = options.limit;
  return Number.isSafeInteger(limit) && limit! > 0 ? Math.min(limit!, 10_000) : 100;
}

export interface StoreHealth {
  ok: boolean;
  /** Round-trip time of the probe in ms. */
  latencyMs: number;
  /** Adapter-specific facts, for example replicas online. Never a secret. */
  details?: Record<string, unknown>;
}

export interface SessionStore {
  /** Short name for events and health output, for example "memory" or "ioredis". */
  readonly name: string;

  /**
   * True when the store keeps retired markers by rule 10 (`successor` kept, markers never
   * touched, listed or counted, and revoked with their user). The `renew` option needs it.
   */
  readonly retiredIds?: boolean;

  /** See rules 1 and 4. Pass `touch` to let the read extend the idle expiry when due. */
  read(handle: string, touch?: TouchRequest): Promise<ReadResult | null>;

  /** See rules 2, 3 and 6. Returns false when the stored version is not `expectedVersion`. */
  write(handle: string, record: SessionRecord, expectedVersion: number): Promise<boolean>;

  /** See rule 5. Removes the record and its index entry. */
  delete(handle: string): Promise<void>;

  /** Live sessions of a user (optional capability). */
  listUser?(userId: string): Promise<UserSession[]>;

  /** Deletes every session of a user but `except`, atomically; returns how many (optional). */
  revokeUser?(userId: string, options?: { except?: string }): Promise<number>;

  /**
   * Adds `amount` (default 1) to the counter `key` in a fixed window of `windowMs` that starts
   * with the first increment, atomically (optional; used by rate limits and by the tiered
   * store's cache generation). `amount` 0 reads the counter without changing or creating it
   * (count 0 when absent).
   */
  increment?(key: string, windowMs: number, amount?: number): Promise<CounterResult>;

  /** One page of every live session, from `cursor` (null: the start); see rule 9 (optional). */
  scan?(cursor: string | null, options?: ScanOptions): Promise<ScanPage>;

  /** A cheap liveness probe (optional). */
  health?(): Promise<StoreHealth>;

  /** Releases what the adapter holds; never closes the application's client (optional). */
  close?(): Promise<void>;
}
