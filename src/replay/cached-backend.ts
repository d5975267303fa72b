/**
 * `cachedReplay({ cache, durable })`: the newest events of each channel kept in a fast cache
 * (Redis, Upstash) in front of a durable log (Postgres). Never write-behind:
 *
 * - An append goes to the durable backend, which numbers it; only then is it copied into the
 *   cache's window, and the append is acknowledged once the durable backend has it whatever the
 *   cache does. Members, acks, heartbeats, pruning and resume tokens live in the durable
 *   backend only.
 * - A read asks the window first. The window answers only what it holds exactly (a contiguous
 *   run of the newest events, see `ReplayWindow`); anything else (a position older than the
 *   window, a channel it lacks, an event the policy excludes) is read from the durable backend,
 *   and a durable read that reached the channel's head refills the window.
 * - A cache that fails or hangs (a time budget per call, then a circuit breaker) is passed
 *   over: the durable backend answers, and the client sees no error.
 *
 * Events never change once numbered, so nothing a window holds is wrong; a window can only
 * lag, when copying an append into it failed. This process then forgets that window before it
 * next uses it (and every window it could not update while the breaker was open). Until then,
 * or until the next append on the channel repairs it, another process may answer from the
 * lagging window without the newest events: a late answer, never a skipped event, a wrong
 * order or a false gap. Windows live `ttl` seconds after their last update, which bounds that.
 *
 * @module
 */
import { configError } from "../errors.ts";
import { CircuitBreaker, type BreakerOptions } from "../resilience/circuit-breaker.ts";
import type { ReplayBackend, ReplayWindow, StoredEvent } from "./backend.ts";

export interface CachedReplayOptions {
  /** A backend with a window: `redisReplay({ client })` (or `memoryReplay()` in tests). */
  cache: ReplayBackend;
  /** The log of record: `postgresReplay({ query })`. */
  durable: ReplayBackend;
  /** Newest events per channel the cache keeps. @default 1000 */
  size?: number;
  /** Seconds a window lives after its last update. @default 60 */
  ttl?: number;
  /** Budget of one cache call in ms; past it the durable backend answers. @default 250 */
  cacheTimeoutMs?: number;
  /** The cache's breaker. @default { failureThreshold: 3, openMs: 2000 } */
  breaker?: BreakerOptions;
  /** Epoch ms, for the breaker. @default Date.now */
  clock?: () => number;
}

export interface CachedReplay extends ReplayBackend {
  readonly cache: ReplayBackend;
  readonly durable: ReplayBackend;
  /** The cache's breaker state: "closed" while the cache is used. */
  readonly cacheState: "closed" | "open" | "half-open";
}

/** Windows this process could not update, forgotten before they are read again. */
const MAX_UNSYNCED = 10_000;

class CacheTimeout extends Error {
  override readonly name = "CacheTimeout";
}

/**
 * @example
 * import { cachedReplay, createReplayLog } from "cloakroom/replay";
 * const backend = cachedReplay({ cache: redisReplay({ client: redis }), durable: postgresReplay({ query: fromPg(pool) }) });
 * const log = createReplayLog({ backend, sessions });
 */
export function cachedReplay(options: CachedReplayOptions): CachedReplay {
  const { cache, durable } = options ?? ({} as CachedReplayOptions);
  const window: ReplayWindow | undefined = cache?.window;
  if (!window || typeof durable?.append !== "function") {
    throw configError("cachedReplay needs `cache`, a backend with a window (redisReplay({ client })), and `durable`, the log of record (postgresReplay({ query })).");
  }
  const size = options.size ?? 1000;
  if (!Number.isSafeInteger(size) || size < 1 || size > 1_000_000) throw configError(`cachedReplay size must be an integer from 1 to 1000000; got ${String(size)}.`);
  const ttl = options.ttl ?? 60;
  if (typeof ttl !== "number" || !(ttl > 0) || ttl > 86_400 * 30) throw configError(`cachedReplay ttl is in seconds and must be > 0 and at most 30 days; got ${String(ttl)}.`);
  const ttlMs = Math.max(1, Math.round(ttl * 1000));
  const timeoutMs = options.cacheTimeoutMs ?? 250;
  if (typeof timeoutMs !== "number" || !(timeoutMs > 0)) throw configError(`cachedReplay cacheTimeoutMs must be a number of ms > 0; got ${String(timeoutMs)}.`);
  const clock = options.clock ?? Date.now;
  const breaker = new CircuitBreaker(options.breaker ?? {}, clock, () => {});
  const unsynced = new Set<string>();

  function markUnsynced(channel: string): void {
    // Past the cap a window is not remembered; it lags at most `ttl` (see the module comment).
    if (unsynced.size < MAX_UNSYNCED) unsynced.add(channel);
  }

  /** Runs a cache call within its budget through the breaker; undefined when it was not used or failed. */
  async function viaCache<T>(run: () => Promise<T>): Promise<{ value: T } | undefined> {
    const admitted = breaker.admit();
    if (admitted === "reject") return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const value = await Promise.race([
        run(),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new CacheTimeout(`no answer within ${timeoutMs} ms`)), timeoutMs))),
      ]);
      breaker.success(admitted);
      return { value };
    } catch {
      breaker.failure(admitted);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Forgets a window this process could not update; true when the cache may be used for it. */
  async function synced(channel: string): Promise<boolean> {
    if (!unsynced.has(channel)) return true;
    if (!(await viaCache(() => window!.dropWindow(channel)))) return false;
    unsynced.delete(channel);
    return true;
  }

  async function copy(channel: string, events: readonly StoredEvent[], now: number, fresh: boolean): Promise<void> {
    if (!(await synced(channel))) return markUnsynced(channel);
    if (!(await viaCache(() => window!.mergeWindow(channel, events, { size, now, ttlMs, fresh })))) markUnsynced(channel);
  }

  return {
    name: `cached(${cache.name} in front of ${durable.name})`,
    cache,
    durable,
    get cacheState() {
      return breaker.state;
    },

    async append(channel, payload, now, policy) {
      const stored = await durable.append(channel, payload, now, policy);
      await copy(channel, [{ seq: stored.seq, at: stored.at, payload }], now, true);
      return stored;
    },

    async read(channel, after, limit, now, policy) {
      if (await synced(channel)) {
        const hit = await viaCache(() => window.readWindow(channel, after, limit, now, policy));
        if (hit?.value) return hit.value;
      }
      const result = await durable.read(channel, after, limit, now, policy);
      const last = result.events[result.events.length - 1];
      // Only a read that reached the head may start a window (a window claims everything up to
      // its head); any other grows one it touches, so older catch-ups come from the cache too.
      if (last) await copy(channel, result.events, now, last.seq === result.head);
      return result;
    },

    heartbeat: (channel, member, now, memberTtlMs, policy) => durable.heartbeat(channel, member, now, memberTtlMs, policy),
    ack: (channel, member, seq, now, policy) => durable.ack(channel, member, seq, now, policy),
    members: (channel, now) => durable.members(channel, now),
    async prune(channel, now, policy) {
      // Each prune also retries forgetting windows this process could not update.
      for (const name of [...unsynced].slice(0, 16)) await synced(name);
      return durable.prune(channel, now, policy);
    },
    saveToken: (hash, expiresAt) => durable.saveToken(hash, expiresAt),
    consumeToken: (hash, now) => durable.consumeToken(hash, now),
  };
}
