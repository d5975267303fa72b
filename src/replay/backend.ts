/**
 * The replay backend contract. Every backend (memory, Redis through ioredis or Upstash,
 * Postgres, and the cached one composed of two) implements this interface and passes the one
 * conformance suite in `cloakroom/testing` (`replayConformance`). The rules below are the
 * spec; the suite holds each of them. The core (`createReplayLog`) validates every argument
 * and encodes events before a backend sees them, so a backend only persists.
 *
 * Rules:
 * 1. Sequence numbers. `append` gives the event the channel's next sequence number, starting
 *    at 1: strictly increasing and without gaps, also when several processes append to one
 *    channel at once, and in the same atomic step as storing the event (an append either
 *    stores the event under its number or fails; a number is never used twice or skipped).
 *    The backend is the only place numbers come from.
 * 2. Time. An event's `at` is `max(now, at of the channel's previous event)`, so `at` never
 *    decreases along the sequence: what retention removes is always a prefix, never a hole.
 *    Every time is the caller's clock (`now`, epoch ms), never the server's.
 * 3. Reads. `read` returns `head` (the channel's last number, 0 for a channel it does not know)
 *    and the events after `after`, in order, at most `limit` of them, leaving out every event
 *    that the policy excludes whether or not it has been pruned yet: `seq <= head - maxEvents`
 *    or `at < now - retentionMs`. It never leaves out an event between two it returns. The
 *    core derives gaps and `more` from this (see `since` in log.ts).
 * 4. Members. `heartbeat` makes a member live until `now + ttlMs`; a member heartbeating for
 *    the first time starts at position `head`. `ack` moves a member's position forward (never
 *    back, never past `head`) and keeps it live for the ttl of its last heartbeat (or
 *    `policy.memberTtlMs` when it has none). `members` lists the live members only.
 * 5. Pruning. `prune` deletes, at most `batch` of each in one call: expired members, and
 *    events at or below the prune bound: the largest of `head - maxEvents`, the last event
 *    older than the retention, and, when the channel has live members, the lowest position of
 *    a live member. Nothing else is ever deleted, so pruning never opens a hole. An `append` may
 *    drop events beyond `maxEvents` as it goes (the Redis backend does, in the same script). A channel
 *    with no event, member or append for `retentionMs` may be forgotten entirely (its numbers
 *    then start again at 1); `prune` may sweep such channels and expired tokens, in bounded
 *    batches, as it goes. No backend needs a timer or a cron job.
 * 6. Tokens. `saveToken` stores a resume token's hash (never the token) until `expiresAt`;
 *    `consumeToken` removes it and says whether it was there and live, atomically: of two
 *    concurrent consumes of one hash at most one gets true.
 * 7. Everything expires. Nothing is stored without a way to go: events by the policy, members
 *    by their ttl, tokens by their expiry, channels when idle.
 * 8. A backend receives a client the application built; it never creates connections, reads
 *    the environment or starts timers. A system fault throws; it is never read as "no events".
 *
 * @module
 */

/** One stored event as a backend returns it. `payload` is the JSON text the core wrote. */
export interface StoredEvent {
  seq: number;
  /** Epoch ms (rule 2). */
  at: number;
  payload: string;
}

/** What bounds a channel, passed with every call that needs it. */
export interface ReplayPolicy {
  /** Events older than this (ms) are gone. */
  retentionMs: number;
  /** Events kept per channel at most. */
  maxEvents: number;
  /** Rows or entries one `prune` call deletes at most, per kind. */
  batch: number;
  /** How long a member that acknowledges without ever having sent a heartbeat stays live (ms). */
  memberTtlMs: number;
}

export interface ReadResult {
  /** The channel's last sequence number; 0 when the backend does not know the channel. */
  head: number;
  events: StoredEvent[];
}

export interface MemberRecord {
  member: string;
  /** The acknowledged position. */
  seq: number;
  /** Epoch ms of the last heartbeat (or ack). */
  heartbeatAt: number;
  /** Epoch ms at which the member stops being live. */
  expiresAt: number;
}

/**
 * The cache side of `cachedReplay`: a window of the newest events of a channel, as given (a
 * window never numbers events). Events never change once numbered, so anything in a window is
 * right; a window can only be incomplete, and it says so by answering null.
 */
export interface ReplayWindow {
  /**
   * Events after `after`, as `read` would answer, or null when the window cannot answer
   * exactly: it does not hold the channel, `after` is outside it, or the policy excludes an
   * event it would return (rule 3; the durable backend then decides).
   */
  readWindow(channel: string, after: number, limit: number, now: number, policy: ReplayPolicy): Promise<ReadResult | null>;
  /**
   * Adds contiguous events (ascending, no hole). When they touch or overlap the window, the
   * window grows to cover both. When they are `fresh` (an append, or a read that reached the
   * head) a window that lacks the channel starts with them, and one they start above (it missed
   * events) starts again with them; events that are not fresh never create or restart a window,
   * since its head would then claim events it does not know of. Events ending below the window
   * change nothing. Then it keeps the newest `size` events, and lives `ttlMs` from `now`.
   */
  mergeWindow(channel: string, events: readonly StoredEvent[], options: { size: number; now: number; ttlMs: number; fresh: boolean }): Promise<void>;
  /** Forgets the channel's window. */
  dropWindow(channel: string): Promise<void>;
}

export interface ReplayBackend {
  /** Short name for errors, for example "memory", "redis" or "postgres". */
  readonly name: string;
  /** Rule 1 and 2; returns the event's sequence number and time as stored. */
  append(channel: string, payload: string, now: number, policy: ReplayPolicy): Promise<{ seq: number; at: number }>;
  /** Rule 3. */
  read(channel: string, after: number, limit: number, now: number, policy: ReplayPolicy): Promise<ReadResult>;
  /** Rule 4. */
  heartbeat(channel: string, member: string, now: number, ttlMs: number, policy: ReplayPolicy): Promise<void>;
  /** Rule 4. */
  ack(channel: string, member: string, seq: number, now: number, policy: ReplayPolicy): Promise<void>;
  /** Rule 4: live members, in no particular order. */
  members(channel: string, now: number): Promise<MemberRecord[]>;
  /** Rule 5; returns how many events it deleted. */
  prune(channel: string, now: number, policy: ReplayPolicy): Promise<number>;
  /** Rule 6. */
  saveToken(hash: string, expiresAt: number): Promise<void>;
  /** Rule 6. */
  consumeToken(hash: string, now: number): Promise<boolean>;
  /** Present on backends that can serve as `cachedReplay`'s cache. */
  readonly window?: ReplayWindow;
}
