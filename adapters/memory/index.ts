/**
 * In-process store: for development, tests, and single-instance apps. Records are kept as
 * JSON strings so values behave exactly as they would through Redis or Postgres (a Date comes
 * back as a string, nothing is shared by reference). Every entry expires; the store is
 * bounded: when it is full, expired sessions go first, then the least recently used.
 * Sessions do not survive a restart and are not shared between processes: use Redis or
 * Postgres for that.
 *
 * @module
 */
import { SessionError } from "../../src/errors.ts";
import { isRetiredMarker, isSessionRecord } from "../../src/record.ts";
import { scanPageSize, type CounterResult, type ReadResult, type ScanOptions, type ScanPage, type SessionRecord, type SessionStore, type StoreHealth, type TouchRequest, type UserSession } from "../../src/store.ts";

export interface MemoryStoreOptions {
  /** Sessions kept at most; when full, expired ones go first, then the least recently used. @default 100000 */
  maxEntries?: number;
  /** Epoch ms; pass the same clock as the session manager's in tests. @default Date.now */
  clock?: () => number;
}

export interface MemoryStore extends SessionStore {
  readonly retiredIds: true;
  listUser(userId: string): Promise<UserSession[]>;
  revokeUser(userId: string, options?: { except?: string }): Promise<number>;
  increment(key: string, windowMs: number, amount?: number): Promise<CounterResult>;
  health(): Promise<StoreHealth>;
  /** Pages in handle order; the cursor is the last handle of the page before. */
  scan(cursor: string | null, options?: ScanOptions): Promise<ScanPage>;
  close(): Promise<void>;
  /** Number of live and not yet pruned sessions. */
  readonly size: number;
  /** The backing maps as stored, bypassing every rule; for tests and debugging only. */
  readonly raw: {
    /** Sessions by handle and counters by `counter:` + key, each with its expiry. */
    entries(): Array<[key: string, value: { json: string; expiresAt: number }]>;
    get(handle: string): { json: string; expiresAt: number } | undefined;
    /** Replaces the stored JSON of an existing session, for corruption tests. */
    set(handle: string, json: string): void;
  };
}

/** Live counters compared when the counter table is full (see makeCounterRoom). */
const COUNTER_CANDIDATES = 64;

interface Entry {
  json: string;
  userId: string | null;
  expiresAt: number;
}

/**
 * @example
 * const sessions = createSessions({ store: memoryStore(), keys: process.env.SESSION_KEYS });
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const maxEntries = options.maxEntries ?? 100_000;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new SessionError("ERR_SESSION_CONFIG", `memoryStore maxEntries must be a positive integer; got ${String(maxEntries)}.`);
  }
  const clock = options.clock ?? Date.now;
  const entries = new Map<string, Entry>();
  const byUser = new Map<string, Set<string>>();
  const counters = new Map<string, CounterResult>();

  function unindex(handle: string, userId: string | null): void {
    if (userId === null) return;
    const set = byUser.get(userId);
    set?.delete(handle);
    if (set?.size === 0) byUser.delete(userId);
  }

  function remove(handle: string): void {
    const entry = entries.get(handle);
    if (!entry) return;
    entries.delete(handle);
    unindex(handle, entry.userId);
  }

  /** The live entry, or undefined (an expired one is pruned on the way). */
  function live(handle: string, now: number): Entry | undefined {
    const entry = entries.get(handle);
    if (entry && entry.expiresAt <= now) {
      remove(handle);
      return undefined;
    }
    return entry;
  }

  // Map order is least recently written or touched first: with one idle timeout for all, the
  // first entry is also the first to expire; with per-session timeouts it is the least
  // recently used. Either way it goes first. (Past maxEntries anyone who can create sessions
  // can push others out: size the store for its traffic, or use Redis or Postgres.) A cursor
  // kept between calls finds the first entry in constant time: restarting `entries.keys()`
  // would walk the slots of every entry deleted before it.
  let oldest: Iterator<string> | undefined;
  // Expired entries go before any live one. Finding them walks every entry, so the sweep runs
  // only when one can have expired (the earliest expiry written since the last sweep has come)
  // and at most once a second; in between, the least recently used goes.
  let earliestExpiry = Infinity;
  let lastSweep = -Infinity;
  function sweep(now: number): void {
    lastSweep = now;
    earliestExpiry = Infinity;
    for (const [handle, entry] of entries) {
      if (entry.expiresAt <= now) remove(handle);
      else earliestExpiry = Math.min(earliestExpiry, entry.expiresAt);
    }
  }
  function makeRoom(now: number): void {
    if (entries.size >= maxEntries && earliestExpiry <= now && now - lastSweep >= 1000) sweep(now);
    while (entries.size >= maxEntries) {
      oldest ??= entries.keys();
      const next = oldest.next();
      if (next.done) oldest = undefined;
      else remove(next.value);
    }
  }

  /**
   * A full counter table must not forget a blocked key: a burst of new keys (a thousand
   * addresses of one IPv6 /64) would otherwise reset the count of a client already over its
   * limit. So ended windows go first, and then the live counter with the lowest count among the
   * oldest few: a key with many hits outlives any number of keys with fewer. (Pushing a
   * blocked key out would take as many hits as it has, on every counter in the table.)
   */
  function makeCounterRoom(now: number): void {
    let lowest: string | undefined;
    let lowestCount = Infinity;
    let looked = 0;
    for (const [key, counter] of counters) {
      if (counter.resetAt <= now) {
        counters.delete(key);
        if (counters.size < maxEntries) return;
        continue;
      }
      if (counter.count < lowestCount) [lowest, lowestCount] = [key, counter.count];
      if (++looked >= COUNTER_CANDIDATES) break;
    }
    if (lowest !== undefined) counters.delete(lowest);
  }

  /** Malformed reads as no record (store rule 1), whatever put it there. */
  function parse(entry: Entry): SessionRecord | null {
    try {
      const record: unknown = JSON.parse(entry.json);
      return isSessionRecord(record) ? record : null;
    } catch {
      return null;
    }
  }

  return {
    name: "memory",
    retiredIds: true,

    async read(handle: string, touch?: TouchRequest): Promise<ReadResult | null> {
      const now = touch?.now ?? clock();
      const entry = live(handle, now);
      if (!entry) return null;
      const record = parse(entry);
      if (!record) return null;
      if (record.absoluteExpiresAt <= now) return null;
      // A retired marker is never touched (store rule 10a).
      if (!touch || isRetiredMarker(record) || now - record.lastSeenAt < Math.min(touch.interval, record.idleTimeout / 2)) {
        return { record, touched: false };
      }
      record.lastSeenAt = now;
      record.expiresAt = Math.min(now + record.idleTimeout, record.absoluteExpiresAt);
      entries.delete(handle);
      entries.set(handle, { json: JSON.stringify(record), userId: entry.userId, expiresAt: record.expiresAt });
      return { record, touched: true };
    },

    async write(handle: string, record: SessionRecord, expectedVersion: number): Promise<boolean> {
      const now = clock();
      const current = live(handle, now);
      const currentVersion = current ? (parse(current)?.version ?? -1) : 0;
      if (currentVersion !== expectedVersion) return false;
      if (current) {
        entries.delete(handle);
        if (current.userId !== record.userId) unindex(handle, current.userId);
      } else {
        makeRoom(now);
      }
      entries.set(handle, { json: JSON.stringify(record), userId: record.userId, expiresAt: record.expiresAt });
      earliestExpiry = Math.min(earliestExpiry, record.expiresAt);
      if (record.userId !== null) {
        let set = byUser.get(record.userId);
        if (!set) byUser.set(record.userId, (set = new Set()));
        set.add(handle);
      }
      return true;
    },

    async delete(handle: string): Promise<void> {
      remove(handle);
    },

    async listUser(userId: string): Promise<UserSession[]> {
      const now = clock();
      const result: UserSession[] = [];
      for (const handle of [...(byUser.get(userId) ?? [])]) {
        const entry = live(handle, now);
        const record = entry && parse(entry);
        if (record && !isRetiredMarker(record)) result.push({ handle, record });
      }
      return result;
    },

    async revokeUser(userId: string, options: { except?: string } = {}): Promise<number> {
      const now = clock();
      let count = 0;
      for (const handle of [...(byUser.get(userId) ?? [])]) {
        if (handle === options.except) continue;
        const entry = live(handle, now);
        const record = entry && parse(entry);
        if (entry && !(record && isRetiredMarker(record))) count++;
        remove(handle);
      }
      return count;
    },

    async increment(key: string, windowMs: number, amount = 1): Promise<CounterResult> {
      const now = clock();
      let counter = counters.get(key);
      if (amount === 0) {
        return counter && counter.resetAt > now ? { ...counter } : { count: 0, resetAt: now + windowMs };
      }
      if (!counter || counter.resetAt <= now) {
        counters.delete(key);
        if (counters.size >= maxEntries) makeCounterRoom(now);
        counter = { count: 0, resetAt: now + windowMs };
        counters.set(key, counter);
      }
      counter.count += amount;
      return { ...counter };
    },

    async scan(cursor: string | null, scanOptions: ScanOptions = {}): Promise<ScanPage> {
      const limit = scanPageSize(scanOptions);
      const now = clock();
      // Map order moves with every write and touch, so pages follow the handles' sort order
      // instead: a handle after the cursor is one no earlier page returned.
      const after = [...entries.keys()].filter((handle) => cursor === null || handle > cursor).sort();
      const page = after.slice(0, limit);
      const sessions: UserSession[] = [];
      for (const handle of page) {
        const entry = live(handle, now);
        const record = entry && parse(entry);
        if (record && record.absoluteExpiresAt > now) sessions.push({ handle, record });
      }
      return { sessions, next: after.length > limit ? page.at(-1)! : null };
    },

    async health(): Promise<StoreHealth> {
      return { ok: true, latencyMs: 0, details: { sessions: entries.size } };
    },

    async close(): Promise<void> {
      entries.clear();
      byUser.clear();
      counters.clear();
    },

    get size() {
      return entries.size;
    },

    raw: {
      entries() {
        return [
          ...[...entries].map(([handle, entry]) => [handle, { json: entry.json, expiresAt: entry.expiresAt }] as const),
          ...[...counters].map(([key, counter]) => [`counter:${key}`, { json: String(counter.count), expiresAt: counter.resetAt }] as const),
        ] as Array<[string, { json: string; expiresAt: number }]>;
      },
      get(handle: string) {
        const entry = entries.get(handle);
        return entry && { json: entry.json, expiresAt: entry.expiresAt };
      },
      set(handle: string, json: string) {
        const entry = entries.get(handle);
        if (entry) entry.json = json;
      },
    },
  };
}

export { memoryReplay, type MemoryReplay } from "./replay.ts";
