/**
 * A fast cache (Redis, Upstash) in front of a durable store (Postgres), so a cache failure
 * signs nobody out.
 *
 * - Reads go to the cache; a miss reads the durable store and refills the cache. When a
 *   cache read touches (moves the idle expiry, at most once per touch interval), the durable
 *   store is touched too, and its answer wins: a session the durable store no longer has is
 *   gone, whatever the cache says.
 * - Writes, deletes and revocations go to the durable store first, then the cache. A cache
 *   that refuses a write (it holds another version) loses the entry instead.
 * - The cache sits behind a time budget and a circuit breaker. When it fails or hangs, the
 *   breaker opens and the durable store serves alone, with no waiting on the dead cache.
 * - Nothing stale is served after the cache comes back. Cache entries live under a
 *   *generation* kept in the durable store (`increment` with amount 0 reads it); the probe
 *   that closes the breaker first bumps it, so whatever the cache held from before the
 *   outage is never read again. A cache call that fails while the breaker is still closed (a
 *   timeout, one dropped connection) moves the generation on as well, so a sign-out never
 *   leaves a live copy.
 * - Instances agree on the generation. Each re-reads it at least every `generationRefreshMs`
 *   (lazily, so an idle instance re-reads it before its next cache read). Every write,
 *   delete and revocation reads it again *after* the durable store took the change and
 *   updates the cache under that newest generation, so an instance that moved on first (its
 *   probe bumped it) never keeps an entry another instance changed. For `recheckMs` after an
 *   instance moves to another generation it also updates the entries of the one it left (for
 *   instances that have not re-read it yet) and checks every cache hit against the durable
 *   store, since two instances recovering at once bump twice and briefly disagree.
 *   The one case this bounds rather than excludes: a cache cut off from one instance only (a
 *   partition, not an outage). The other instances follow that instance's generation within
 *   `generationRefreshMs`, and a touch consults the durable store at least once per touch
 *   interval.
 *
 * @module
 */
import { SessionError } from "../errors.ts";
import { safeEmitter, type EventListener } from "../events.ts";
import type { CounterResult, ReadResult, SessionRecord, SessionStore, StoreHealth, TouchRequest, UserSession } from "../store.ts";
import type { BreakerOptions } from "./circuit-breaker.ts";
import { guardedStore, type GuardedStore } from "./guarded-store.ts";

export interface TieredStoreOptions {
  /** The fast store in front, for example ioredisStore or upstashStore. */
  cache: SessionStore;
  /** The store of record, for example postgresStore. Must implement increment. */
  durable: SessionStore;
  /** Budget of one cache operation in ms; past it the durable store answers. @default 250 */
  cacheTimeoutMs?: number;
  /** Budget of one durable operation in ms. @default 2000 */
  durableTimeoutMs?: number;
  /** The cache's breaker. @default { failureThreshold: 3, openMs: 2000 } */
  breaker?: BreakerOptions;
  /** How often an instance re-reads the cache generation, in ms. @default 1000 */
  generationRefreshMs?: number;
  /**
   * After this instance moves to another cache generation (the cache came back, a cache call
   * failed, another instance moved it), how long cache hits are checked against the durable
   * store, in ms: until every instance that saw the same outage has probed and re-read the
   * generation. @default breaker openMs + 2 × generationRefreshMs
   */
  recheckMs?: number;
  onEvent?: EventListener;
  /** @default Date.now */
  clock?: () => number;
}

export interface TieredStore extends SessionStore {
  listUser(userId: string): Promise<UserSession[]>;
  revokeUser(userId: string, options?: { except?: string }): Promise<number>;
  increment(key: string, windowMs: number, amount?: number): Promise<CounterResult>;
  health(): Promise<StoreHealth>;
  readonly cache: GuardedStore;
  readonly durable: GuardedStore;
  /** The cache generation in use. */
  readonly generation: number;
  /** Whether cache hits are being checked against the durable store (see `recheckMs`). */
  readonly rechecking: boolean;
}

const GENERATION_KEY = "cloakroom:cache-generation";
/** Longer than any session lives; a counter that resets after it finds no old entry left. */
const GENERATION_WINDOW_MS = 400 * 24 * 3600 * 1000;

/**
 * @example
 * const store = tieredStore({ cache: ioredisStore({ client }), durable: postgresStore({ query }) });
 */
export function tieredStore(options: TieredStoreOptions): TieredStore {
  const { cache: rawCache, durable: rawDurable } = options;
  if (!rawCache || !rawDurable || typeof rawCache.read !== "function" || typeof rawDurable.read !== "function") {
    throw new SessionError("ERR_SESSION_CONFIG", "tieredStore needs { cache, durable }, two session stores, for example ioredisStore and postgresStore.");
  }
  if (typeof rawDurable.increment !== "function") {
    throw new SessionError(
      "ERR_SESSION_CONFIG",
      `tieredStore's durable store (${rawDurable.name}) must implement increment: it keeps the cache generation that stops stale reads after an outage.`,
    );
  }
  const clock = options.clock ?? Date.now;
  const emit = safeEmitter(options.onEvent);
  const refreshMs = options.generationRefreshMs ?? 1000;
  const recheckMs = options.recheckMs ?? (options.breaker?.openMs ?? 2000) + 2 * refreshMs;
  const cache = guardedStore(rawCache, {
    timeoutMs: options.cacheTimeoutMs ?? 250,
    breaker: options.breaker ?? {},
    onEvent: options.onEvent,
    clock,
  });
  const durable = guardedStore(rawDurable, { timeoutMs: options.durableTimeoutMs ?? 2000, breaker: false, onEvent: options.onEvent, clock });

  let generation = 0;
  /** False until the first read of the generation: adopting that one is not a change. */
  let known = false;
  let generationReadAt = -Infinity;
  let refreshing: Promise<void> | undefined;
  /** Generation reads and bumps started, and how many had started when `generation` was adopted. */
  let calls = 0;
  let adoptedWhen = 0;
  /** Generations this instance left within the last recheckMs, and until when they count. */
  let left: { gen: number; until: number }[] = [];
  let recheckUntil = -Infinity;

  /**
   * Reads (amount 0) or bumps (amount 1) the generation and moves to it. A higher value is
   * always taken. A lower one only from a call that started after the current one was
   * adopted: an older read overtaken by a bump must not undo it, but the counter does start
   * again when its window ends. A change starts the recheck period.
   */
  async function generationCall(amount: 0 | 1): Promise<void> {
    const mine = ++calls;
    const { count } = await durable.increment!(GENERATION_KEY, GENERATION_WINDOW_MS, amount);
    generationReadAt = clock();
    if (known && (count === generation || (count < generation && mine <= adoptedWhen))) return;
    if (known) {
      const until = clock() + recheckMs;
      left = [...left.filter((entry) => entry.until > clock() && entry.gen !== generation), { gen: generation, until }];
      recheckUntil = until;
    }
    generation = count;
    adoptedWhen = calls;
    known = true;
  }

  async function refreshGeneration(): Promise<void> {
    try {
      await generationCall(0);
    } catch {
      // Keep the one we have; the durable store's own failure shows on the request path.
      generationReadAt = clock();
    }
  }

  async function currentGeneration(): Promise<number> {
    if (clock() - generationReadAt >= refreshMs) {
      refreshing ??= refreshGeneration().finally(() => (refreshing = undefined));
      await refreshing;
    }
    return generation;
  }

  async function bumpGeneration(): Promise<void> {
    await generationCall(1);
  }

  /**
   * The generations a change must reach: the newest, read now (after the durable store took
   * the change, so an instance that refills from the durable store under a newer generation
   * reads the change), and those this instance left within recheckMs.
   */
  async function generationsToChange(): Promise<number[]> {
    await refreshGeneration();
    const now = clock();
    return [...new Set([generation, ...left.filter((entry) => entry.until > now).map((entry) => entry.gen)])];
  }

  const inCache = (handle: string, gen: number) => `${handle}.g${gen}`;

  /** Whether the cache may be used now; when its breaker allows a probe, runs it. */
  async function cacheUsable(): Promise<boolean> {
    if (cache.breakerState === "closed") return true;
    return cache.probe(bumpGeneration);
  }

  function fellBack(operation: string, error: unknown): void {
    emit?.({ type: "store-error", store: rawCache.name, operation, error });
  }

  /** Cache work that must never fail the request: the durable store already has the truth. */
  async function bestEffort(operation: string, work: () => Promise<unknown>): Promise<void> {
    if (!(await cacheUsable())) return;
    try {
      await work();
    } catch (error) {
      fellBack(operation, error);
    }
  }

  /**
   * Cache work that keeps the cache from contradicting the durable store (a write, a sign-out,
   * a revocation). If it fails, the cache may still hold what the durable store no longer
   * does, so the generation moves on and every entry of the old one becomes unreachable.
   * With the breaker open nothing is sent, and the probe that closes it moves the generation.
   */
  async function invalidate(operation: string, work: () => Promise<unknown>): Promise<void> {
    if (!(await cacheUsable())) return;
    try {
      await work();
    } catch (error) {
      fellBack(operation, error);
      await bumpGeneration();
    }
  }

  /**
   * Puts what a cache miss found in the durable store into the cache. A sign-out or revocation
   * that ran between that durable read and this create had nothing to delete in the cache, so
   * after creating the entry the durable store is asked again, and an entry it no longer backs
   * goes (a failure to remove it moves the generation on, as any failed invalidation does).
   * One more durable read per miss, and misses are rare: a write fills the cache itself.
   */
  async function refill(handle: string, gen: number, record: SessionRecord): Promise<void> {
    if (!(await cacheUsable())) return;
    const key = inCache(handle, gen);
    try {
      if (!(await cache.write(key, record, 0))) return;
    } catch (error) {
      fellBack("refill", error);
      return;
    }
    let backed = false;
    try {
      backed = (await durable.read(handle))?.record.version === record.version;
    } catch (error) {
      emit?.({ type: "store-error", store: rawDurable.name, operation: "refill check", error });
    }
    if (!backed) await invalidate("delete", () => cache.delete(key));
  }

  /** Puts the durable store's record (or its absence) in place of a cache entry that disagrees. */
  async function repair(handle: string, gen: number, truth: ReadResult | null): Promise<void> {
    await invalidate(truth ? "write" : "delete", async () => {
      await cache.delete(inCache(handle, gen));
      if (truth) await cache.write(inCache(handle, gen), truth.record, 0);
    });
  }

  const store: TieredStore = {
    name: `tiered(${rawCache.name}+${rawDurable.name})`,
    // Markers pass through like any record; both tiers must keep them by rule 10.
    retiredIds: rawCache.retiredIds === true && rawDurable.retiredIds === true,
    cache,
    durable,
    get generation() {
      return generation;
    },
    get rechecking() {
      return clock() < recheckUntil;
    },

    async read(handle: string, touch?: TouchRequest): Promise<ReadResult | null> {
      if (await cacheUsable()) {
        const gen = await currentGeneration();
        let cached: ReadResult | null | undefined;
        try {
          cached = await cache.read(inCache(handle, gen), touch);
        } catch (error) {
          fellBack("read", error);
        }
        const recheck = clock() < recheckUntil;
        if (cached && !cached.touched && !recheck) return cached;
        if (cached) {
          // Once per touch interval the durable store is asked too (it moves its own idle
          // expiry), and on every hit while rechecking after a generation change. If it no
          // longer has the session, neither may the cache. If it cannot answer, the cache's
          // answer stands: a durable fault is not a logout either.
          let truth: ReadResult | null;
          try {
            truth = await durable.read(handle, cached.touched ? touch : undefined);
          } catch (error) {
            emit?.({ type: "store-error", store: rawDurable.name, operation: cached.touched ? "touch" : "recheck", error });
            return cached;
          }
          // The cache missed a write (a failed cache call, another instance on another
          // generation): put the durable record, or its absence, in the cache's place.
          if (!truth || truth.record.version !== cached.record.version) await repair(handle, gen, truth);
          if (!truth) return null;
          return { record: truth.record, touched: cached.touched };
        }
        if (cached === null) {
          const found = await durable.read(handle, touch);
          if (found) await refill(handle, gen, found.record);
          return found;
        }
      }
      return durable.read(handle, touch);
    },

    async write(handle: string, record: SessionRecord, expectedVersion: number): Promise<boolean> {
      if (!(await durable.write(handle, record, expectedVersion))) {
        // The durable store holds another version, so the cache's copy (which the caller just
        // read) is out of date: drop it, or the caller's re-read would find it again.
        await invalidate("delete", async () => {
          for (const gen of await generationsToChange()) await cache.delete(inCache(handle, gen));
        });
        return false;
      }
      await invalidate("write", async () => {
        for (const gen of await generationsToChange()) {
          const key = inCache(handle, gen);
          // In step: replace. Missing: create, which also beats a reader's refill of the older
          // version (its create then fails). Holding another version: drop it, never keep it.
          if (await cache.write(key, record, expectedVersion)) continue;
          if (expectedVersion !== 0 && (await cache.write(key, record, 0))) continue;
          await cache.delete(key);
        }
      });
      return true;
    },

    async delete(handle: string): Promise<void> {
      await durable.delete(handle);
      await invalidate("delete", async () => {
        for (const gen of await generationsToChange()) await cache.delete(inCache(handle, gen));
      });
    },

    async listUser(userId: string): Promise<UserSession[]> {
      if (!durable.listUser) throw new SessionError("ERR_SESSION_UNSUPPORTED", `the ${rawDurable.name} store has no per-user index.`);
      return durable.listUser(userId);
    },

    async revokeUser(userId: string, revokeOptions: { except?: string } = {}): Promise<number> {
      if (!durable.revokeUser) throw new SessionError("ERR_SESSION_UNSUPPORTED", `the ${rawDurable.name} store has no per-user index.`);
      const count = await durable.revokeUser(userId, revokeOptions);
      if (cache.revokeUser) {
        await invalidate("revokeUser", async () => {
          // One call reaches every generation: the cache's user index holds the user's entries
          // of all of them. Only the kept session's entry under other generations goes too,
          // which costs a cache miss, never a stale read.
          const [gen] = await generationsToChange();
          await cache.revokeUser!(userId, revokeOptions.except ? { except: inCache(revokeOptions.except, gen!) } : {});
        });
      }
      return count;
    },

    async increment(key: string, windowMs: number, amount = 1): Promise<CounterResult> {
      if (cache.increment && (await cacheUsable())) {
        try {
          return await cache.increment(key, windowMs, amount);
        } catch (error) {
          fellBack("increment", error);
        }
      }
      return durable.increment!(key, windowMs, amount);
    },

    async health(): Promise<StoreHealth> {
      const [cacheHealth, durableHealth] = await Promise.all([cache.health(), durable.health()]);
      const cacheUp = cacheHealth.ok && cache.breakerState === "closed";
      return {
        ok: durableHealth.ok,
        latencyMs: Math.max(cacheHealth.latencyMs, durableHealth.latencyMs),
        details: {
          status: !durableHealth.ok ? "down" : cacheUp ? "ok" : "degraded",
          generation,
          rechecking: clock() < recheckUntil,
          cache: { name: rawCache.name, ...cacheHealth, breaker: cache.breakerState },
          durable: { name: rawDurable.name, ...durableHealth },
        },
      };
    },

    async close(): Promise<void> {
      await Promise.all([rawCache.close?.(), rawDurable.close?.()]);
    },
  };
  // The durable store holds every session (the cache only some): a scan walks it alone.
  if (durable.scan) store.scan = (cursor, scanOptions) => durable.scan!(cursor, scanOptions);
  return store;
}
