/**
 * The session store on Redis, for any client that can run a Lua script (`ScriptRunner`): the
 * ioredis adapter over TCP, the Upstash adapter over HTTP. Every operation is one round trip,
 * atomic on the server: a script, or for a session read whose touch is not due, where the
 * runner offers it, a plain GET. A user's keys share one Cluster slot (keys.ts).
 *
 * Web-standard: no Node built-ins (the Upstash adapter runs it in workerd).
 *
 * @module
 */
import { SessionError } from "../../src/errors.ts";
import { isSessionRecord } from "../../src/record.ts";
import { isHandle, tagOf, userTag } from "../../src/session-id.ts";
import {
  scanPageSize, type CounterResult, type ReadResult, type ScanOptions, type ScanPage, type SessionRecord, type SessionStore, type StoreHealth,
  type TouchRequest, type UserSession,
} from "../../src/store.ts";
import { checkHandle, isStoreHandle, keyLayout, type KeyLayout } from "./keys.ts";
import { decodeRecord, decodeStored, extrasArg, recordArgs } from "./record-codec.ts";
import type { ScriptRunner } from "./script-runner.ts";
import { DELETE, INCREMENT, LIST_USER, READ, REVOKE, SCAN_PAGE, WRITE } from "./scripts.ts";
import { TouchHints, touchDue } from "./touch-hints.ts";

/** Sessions whose touch clock the store remembers (touch-hints.ts): about 100 bytes each. */
const TOUCH_HINTS = 10_000;

export interface RedisSessionStoreOptions {
  /** Short name for events, errors and health, for example "ioredis" or "upstash". */
  name: string;
  /**
   * Prepended to every key, so several apps (or tests) can share one Redis. Must not contain
   * "{" or "}": the adapter sets the Cluster hash tags itself. @default "cloakroom:"
   */
  keyPrefix?: string;
  /**
   * How long a `revokeUser` keeps refusing sessions of that user issued before it whose write
   * reaches Redis only afterwards (a sign-in in flight while the revocation ran). Must exceed the
   * longest time from the core stamping a new session to its write arriving
   * (request time, retries during a failover), plus clock skew between app servers.
   * @default 3_600_000 (one hour)
   */
  revocationWindowMs?: number;
  /** Epoch ms; the time scripts judge expiry by. Pass the manager's clock in tests. @default Date.now */
  clock?: () => number;
}

export interface RedisSessionStore extends SessionStore {
  readonly retiredIds: true;
  listUser(userId: string): Promise<UserSession[]>;
  /**
   * Revokes every session of the user but `except`, atomically in the user's slot, and returns
   * how many live sessions ended. A session is *issued* when the write that creates it is
   * stamped: its `lastSeenAt` then, the writer's clock (for a regenerated session that is the
   * regeneration, although `createdAt` carries over). Precisely:
   * 1. every session of the user whose write completed before the call is gone (store rule 6);
   * 2. every session of the user issued before T is gone and cannot come back, wherever its
   *    write lands: T is this store's clock (ms) once the first of its two scripts has
   *    returned, just before the second is sent. A sign-in stamped before T whose write arrives
   *    later is refused on arrival: the write reports success and the record is deleted at once
   *    (the write is ordered before the revocation that covers it). This holds for
   *    `revocationWindowMs` after the call.
   * So a session created before revokeUser returns does not survive it, except one issued
   * during the last round trip (or in T's own millisecond, which counts as after, so that
   * revoking the other sessions and regenerating one's own in the same request keeps it).
   * It relies on app servers' clocks agreeing (NTP): a server whose clock runs behind by d can
   * see its sign-ins in the d after a revocation refused.
   */
  revokeUser(userId: string, options?: { except?: string }): Promise<number>;
  increment(key: string, windowMs: number, amount?: number): Promise<CounterResult>;
  health(): Promise<StoreHealth>;
  /**
   * Every live session, by SCAN over the session keys (every master of a Cluster, in address
   * order), then their values: one round trip per page through a script on one server (Upstash),
   * or a SCAN step and the page's GETs, sent together (ioredis). Redis's SCAN guarantee applies:
   * a key there for the whole scan is returned, possibly twice. On a Cluster a key whose slot
   * moves during the scan can be missed: do not reshard the Cluster a copy reads from. Its
   * cursor names a master by its place in that order, and is refused once the masters changed.
   */
  scan(cursor: string | null, options?: ScanOptions): Promise<ScanPage>;
  /** Releases nothing: the client belongs to the application, which closes it. */
  close(): Promise<void>;
  /** Where this store keeps what (tests read the server directly through it). */
  readonly keys: KeyLayout;
}

/** 128 random bits as hex, new for every write call (scripts.ts, WRITE). */
function nonce(): string {
  let hex = "";
  for (const byte of crypto.getRandomValues(new Uint8Array(16))) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/**
 * @example
 * // Inside a client adapter (see adapters/ioredis, adapters/upstash):
 * const store = redisSessionStore(runner, { name: "ioredis", keyPrefix: "myapp:" });
 */
export function redisSessionStore(runner: ScriptRunner, options: RedisSessionStoreOptions): RedisSessionStore {
  const { name } = options;
  const keys = keyLayout(options.keyPrefix);
  const clock = options.clock ?? Date.now;
  const windowMs = options.revocationWindowMs ?? 3_600_000;
  if (!Number.isSafeInteger(windowMs) || windowMs < 1) {
    throw new SessionError("ERR_SESSION_CONFIG", `${name} store: revocationWindowMs must be a positive whole number of ms, for example 3600000; got ${String(windowMs)}.`);
  }

  function checkRecord(handle: string, record: SessionRecord): void {
    if (!isSessionRecord(record)) {
      throw new SessionError("ERR_SESSION_STATE", `${name} store: write got a record that is not a SessionRecord (see src/store.ts); pass what the core builds.`);
    }
    if (record.userId !== null && tagOf(handle) !== userTag(record.userId)) {
      // Keeping the user's index atomic needs the session in the user's slot (store rule 8);
      // the core re-keys a session whose user changes, so only a direct caller gets here.
      throw new SessionError(
        "ERR_SESSION_STATE",
        `${name} store: a signed-in user's session must be written under a handle carrying userTag(userId) (store rule 8); make a new session id for the user instead of reusing this handle.`,
      );
    }
  }

  const get = runner.get?.bind(runner);
  // Without a GET every read runs the script, and there is nothing to remember.
  const hints = new TouchHints(get ? TOUCH_HINTS : 0);

  /** The READ script: the record, with its touch when due. */
  async function readScript(handle: string, now: number, touch: TouchRequest | undefined): Promise<ReadResult | null> {
    const reply = await runner.run(READ, [keys.session(handle)], [String(now), touch ? String(touch.interval) : ""]);
    const record = decodeRecord(reply, handle)?.record;
    if (!record) {
      hints.forget(handle);
      return null;
    }
    hints.remember(handle, record);
    return { record, touched: (reply as string).startsWith("1 ") };
  }

  async function revokePass(userId: string, except: string, mode: "all" | "issued-before"): Promise<number> {
    const now = clock();
    const reply = await runner.run(
      REVOKE,
      [keys.userIndex(userId), keys.revocation(userId), keys.userStem(userId)],
      [String(now), except, String(Math.ceil(now + windowMs)), mode],
    );
    return Number(reply);
  }

  return {
    name,
    retiredIds: true,
    keys,

    async read(handle: string, touch?: TouchRequest): Promise<ReadResult | null> {
      // Nothing is stored under a string that is not a handle.
      if (!isStoreHandle(handle)) return null;
      const now = touch?.now ?? clock();
      // The steady state: a session read within its touch interval of the last read or write
      // this store saw is one GET. The first read of a session here, and one whose touch is
      // due, run the READ script, which moves the idle expiry in the same round trip.
      if (!get || (touch && !hints.notDue(handle, now, touch.interval))) return readScript(handle, now, touch);
      const record = decodeStored(await get(keys.session(handle)), handle);
      if (!record || !(record.expiresAt > now && record.absoluteExpiresAt > now)) {
        hints.forget(handle);
        return null;
      }
      // Due after all: the record was written by a server whose clock is behind this one's.
      // (A retired marker is never touched, store rule 10a.)
      if (touch && record.successor === undefined && touchDue(record, now, touch.interval)) return readScript(handle, now, touch);
      return { record, touched: false };
    },

    async write(handle: string, record: SessionRecord, expectedVersion: number): Promise<boolean> {
      checkHandle(handle, `${name} store write`);
      checkRecord(handle, record);
      const reply = await runner.run(
        WRITE,
        [keys.session(handle), keys.stem(tagOf(handle))],
        [
          String(expectedVersion),
          String(clock()),
          handle,
          ...recordArgs(record),
          String(Math.ceil(record.expiresAt)),
          // expiresAt <= absoluteExpiresAt in every record the core makes; max() keeps the
          // entry at least as long as the key even for one that is not.
          String(Math.max(record.expiresAt, record.absoluteExpiresAt)),
          // Makes the write idempotent: a client that sends it again (reply lost) sends this too.
          nonce(),
          extrasArg(record),
        ],
      );
      const outcome = Number(reply);
      // What was just written is the freshest touch clock there is (2: revoked on arrival).
      if (outcome === 1 && record.expiresAt > record.lastSeenAt) hints.remember(handle, record);
      else hints.forget(handle);
      return outcome !== 0;
    },

    async delete(handle: string): Promise<void> {
      if (!isStoreHandle(handle)) return;
      hints.forget(handle);
      await runner.run(DELETE, [keys.session(handle), keys.stem(tagOf(handle))], [handle]);
    },

    async listUser(userId: string): Promise<UserSession[]> {
      const reply = await runner.run(LIST_USER, [keys.userIndex(userId), keys.userStem(userId)], [String(clock())]);
      const found: UserSession[] = [];
      if (!Array.isArray(reply)) return found;
      for (const line of reply) {
        const decoded = decodeRecord(line);
        if (decoded?.record && decoded.record.userId === userId) found.push({ handle: decoded.lead, record: decoded.record });
      }
      return found;
    },

    async revokeUser(userId: string, revokeOptions: { except?: string } = {}): Promise<number> {
      const except = revokeOptions.except ?? "";
      const first = await revokePass(userId, except, "all");
      // The second pass moves the mark to now, after the first returned: sign-ins stamped while
      // the first was in flight are ended too, wherever their writes land.
      const second = await revokePass(userId, except, "issued-before");
      return first + second;
    },

    async increment(key: string, windowMs: number, amount = 1): Promise<CounterResult> {
      if (!(windowMs > 0) || !Number.isFinite(windowMs)) {
        throw new SessionError("ERR_SESSION_STATE", `${name} store: increment needs a window of more than 0 ms; got ${String(windowMs)}.`);
      }
      if (!Number.isSafeInteger(amount)) {
        throw new SessionError("ERR_SESSION_STATE", `${name} store: increment's amount must be a whole number (0 reads the counter); got ${String(amount)}.`);
      }
      const reply = await runner.run(INCREMENT, [keys.counter(key)], [String(clock()), String(windowMs), String(amount)]);
      const [count, resetAt] = Array.isArray(reply) ? reply : [];
      return { count: Number(count), resetAt: Number(resetAt) };
    },

    async scan(cursor: string | null, scanOptions: ScanOptions = {}): Promise<ScanPage> {
      const limit = scanPageSize(scanOptions);
      const now = clock();
      let found: Array<[key: string, value: unknown]>;
      let next: string | null;
      if (runner.scan && get) {
        const step = await runner.scan(cursor, keys.sessionPattern, limit);
        next = step.next;
        found = await Promise.all(step.keys.map(async (key): Promise<[string, unknown]> => [key, await get(key)]));
      } else {
        const reply = await runner.run(SCAN_PAGE, [], [cursor ?? "0", keys.sessionPattern, String(limit)]);
        const flat = Array.isArray(reply) ? reply : [];
        next = flat[0] === "0" || typeof flat[0] !== "string" ? null : flat[0];
        found = [];
        for (let i = 1; i + 1 < flat.length; i += 2) found.push([String(flat[i]), flat[i + 1]]);
      }
      const sessions: UserSession[] = [];
      for (const [key, value] of found) {
        const handle = keys.handleOf(key);
        // Cache entries of a tiered store (`<handle>.g<n>`) are not sessions of their own.
        if (!handle || !isHandle(handle)) continue;
        const record = decodeStored(value, handle);
        if (record && record.expiresAt > now && record.absoluteExpiresAt > now) sessions.push({ handle, record });
      }
      return { sessions, next };
    },

    async health(): Promise<StoreHealth> {
      return { ok: true, latencyMs: await runner.ping() };
    },

    async close(): Promise<void> {},
  };
}
