/**
 * Wraps any store with a time budget per operation and a circuit breaker, so a store that
 * hangs (a frozen Redis primary keeps its TCP connections open and answers nothing) costs a
 * request at most the budget, and once it is clearly down costs nothing at all. Every call's
 * latency and every breaker transition is an event, for metrics.
 *
 * A fault always surfaces as ERR_SESSION_STORE; it is never turned into "no record".
 *
 * @module
 */
import { SessionError } from "../errors.ts";
import { safeEmitter, type EventListener } from "../events.ts";
import type { SessionStore, StoreHealth } from "../store.ts";
import { CircuitBreaker, type BreakerOptions, type BreakerState } from "./circuit-breaker.ts";

export interface GuardOptions {
  /** Budget of one store operation in ms. @default 1000 */
  timeoutMs?: number;
  /** Breaker settings, or false for none. @default { failureThreshold: 3, openMs: 2000 } */
  breaker?: BreakerOptions | false;
  onEvent?: EventListener;
  /** @default Date.now */
  clock?: () => number;
}

export interface GuardedStore extends SessionStore {
  /** Always present: the store's own probe, or a read, under the time budget. */
  health(): Promise<StoreHealth>;
  readonly breakerState: BreakerState;
  /** Epoch ms at which the breaker last opened (0 if never). */
  readonly openedAt: number;
  /**
   * Runs the half-open probe (the store's health check, or a read) when the breaker allows
   * one; resolves true when the store answered and `beforeClose` (if given) succeeded, and
   * only then closes the breaker. Closes a breaker without risking a user's request on it.
   */
  probe(beforeClose?: () => Promise<void>): Promise<boolean>;
}

const PROBE_HANDLE = "prob.0000000000000000000000000000000000000000000";
const OPERATIONS = ["read", "write", "delete", "listUser", "revokeUser", "increment", "scan"] as const;

function timeout<T>(promise: Promise<T>, ms: number, describe: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SessionError("ERR_SESSION_STORE", describe())), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * @example
 * const store = guardedStore(ioredisStore({ client }), { timeoutMs: 300 });
 */
export function guardedStore<S extends SessionStore>(store: S, options: GuardOptions = {}): GuardedStore & Omit<S, keyof GuardedStore> {
  const timeoutMs = options.timeoutMs ?? 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new SessionError("ERR_SESSION_CONFIG", `guardedStore timeoutMs must be a positive number of ms; got ${String(timeoutMs)}.`);
  }
  const clock = options.clock ?? Date.now;
  const emit = safeEmitter(options.onEvent);
  const openMs = (options.breaker ? options.breaker.openMs : undefined) ?? 2000;
  const breaker = options.breaker === false ? undefined : new CircuitBreaker({ ...options.breaker, openMs }, clock, (from, to) => {
    emit?.({ type: "breaker", store: store.name, from, to });
  });

  async function guard<T>(operation: string, call: () => Promise<T>, admitted = breaker?.admit() ?? "call"): Promise<T> {
    if (admitted === "reject") {
      const wait = Math.max(0, Math.ceil(((breaker?.openedAt ?? 0) + openMs - clock()) / 1000));
      throw new SessionError(
        "ERR_SESSION_STORE",
        `the ${store.name} store is unavailable (circuit open after repeated failures); the next probe is in about ${wait} s.`,
      );
    }
    const started = clock();
    try {
      const result = await timeout(call(), timeoutMs, () => `the ${store.name} store did not answer ${operation} within ${timeoutMs} ms.`);
      breaker?.success(admitted);
      emit?.({ type: "store-call", store: store.name, operation, ms: clock() - started, ok: true });
      return result;
    } catch (error) {
      // A SessionError other than ERR_SESSION_STORE is about the call (a value the store
      // cannot hold, a handle that is not one, a setting to fix), not the store's health: one
      // visitor's bad value must not open the breaker for everyone.
      if (error instanceof SessionError && error.code !== "ERR_SESSION_STORE") breaker?.release(admitted);
      else breaker?.failure(admitted);
      emit?.({ type: "store-call", store: store.name, operation, ms: clock() - started, ok: false });
      throw error;
    }
  }

  const guarded: Record<string, unknown> = Object.create(store);
  for (const operation of OPERATIONS) {
    const method = store[operation] as ((...args: unknown[]) => Promise<unknown>) | undefined;
    if (typeof method !== "function") continue;
    Object.defineProperty(guarded, operation, {
      value: (...args: unknown[]) => guard(operation, () => method.apply(store, args)),
      enumerable: true,
    });
  }

  async function health(): Promise<StoreHealth> {
    const started = clock();
    const state = breaker?.state ?? "closed";
    try {
      const report: StoreHealth = await timeout(
        store.health ? store.health() : store.read(PROBE_HANDLE).then(() => ({ ok: true, latencyMs: clock() - started })),
        timeoutMs,
        () => `the ${store.name} store did not answer its health probe within ${timeoutMs} ms.`,
      );
      return { ...report, details: { ...report.details, breaker: state } };
    } catch (error) {
      return { ok: false, latencyMs: clock() - started, details: { breaker: state, error: error instanceof Error ? error.message : String(error) } };
    }
  }

  // defineProperty, not assignment: an inherited read-only property would refuse a plain set.
  const own = {
    name: store.name,
    health,
    async probe(beforeClose?: () => Promise<void>): Promise<boolean> {
      const admitted = breaker?.admit() ?? "call";
      if (admitted === "reject") return false;
      try {
        await guard("probe", async () => {
          const report = store.health ? await store.health() : (await store.read(PROBE_HANDLE), { ok: true });
          if (!report.ok) throw new Error(`the ${store.name} store reports itself unhealthy`);
          await beforeClose?.();
        }, admitted);
        return true;
      } catch {
        return false;
      }
    },
  };
  for (const [key, value] of Object.entries(own)) Object.defineProperty(guarded, key, { value, enumerable: true });
  Object.defineProperties(guarded, {
    breakerState: { get: () => breaker?.state ?? "closed" },
    openedAt: { get: () => breaker?.openedAt ?? 0 },
  });
  return guarded as unknown as GuardedStore & Omit<S, keyof GuardedStore>;
}
