/**
 * Cross-instance rate limits on a store's atomic counters (memory, Redis, Upstash, Postgres):
 * a fixed window per key that starts with its first hit. Every instance that shares the store
 * shares the count.
 *
 * @module
 */
import { SessionError } from "./errors.ts";
import { isStorableText } from "./storable.ts";
import type { SessionStore } from "./store.ts";

export interface RateLimitOptions {
  /** A store with atomic counters (`increment`). */
  store: SessionStore;
  /** Hits allowed per window. */
  limit: number;
  /** Window length in seconds. */
  window: number;
  /** Namespace of this limit's counters, so two limits never share one. @default "rl" */
  prefix?: string;
}

export interface RateLimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch ms at which the window ends. */
  resetAt: number;
  /** Seconds until the window ends (at least 1 when not allowed). */
  retryAfter: number;
}

export interface RateLimiter {
  /** Counts one hit for `key` and says whether it is within the limit. Throws ERR_SESSION_STORE when the store is down. */
  check(key: string): Promise<RateLimitResult>;
  readonly limit: number;
}

const PREFIX = /^[A-Za-z0-9._:-]{1,64}$/;
const encoder = new TextEncoder();

/** The UTF-16 code units of a string, as bytes: every string, well-formed or not, has one spelling. */
function codeUnits(key: string): Uint8Array<ArrayBuffer> {
  const units = new Uint16Array(key.length);
  for (let i = 0; i < key.length; i++) units[i] = key.charCodeAt(i);
  return new Uint8Array(units.buffer);
}

/**
 * Keys come from clients (an IP, a user name), so any string must give a counter: a short,
 * well-formed key is kept readable; a long one, or one that is not well-formed Unicode (a lone
 * surrogate, which encodeURIComponent throws on and no store should be handed), is hashed. A
 * bad key never fails, so it can neither skip a request's other limits nor answer 503.
 */
async function storageKey(prefix: string, key: string): Promise<string> {
  const wellFormed = isStorableText(key);
  if (key.length <= 128 && wellFormed) return `${prefix}:${encodeURIComponent(key)}`;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", wellFormed ? encoder.encode(key) : codeUnits(key)));
  // Two markers, so a UTF-8 spelling and a code-unit spelling can never name one counter.
  return `${prefix}:${wellFormed ? "#" : "~"}${Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * @example
 * const logins = rateLimit({ store, limit: 5, window: 60, prefix: "login" });
 * const { allowed, retryAfter } = await logins.check(`ip:${ip}`);
 */
export function rateLimit(options: RateLimitOptions): RateLimiter {
  const { store, limit, window } = options;
  const prefix = options.prefix ?? "rl";
  if (!store || typeof store.increment !== "function") {
    throw new SessionError("ERR_SESSION_CONFIG", `rateLimit needs a store with atomic counters (increment); ${store?.name ?? "this store"} has none.`);
  }
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new SessionError("ERR_SESSION_CONFIG", `rateLimit limit must be a positive integer; got ${String(limit)}.`);
  }
  if (typeof window !== "number" || !Number.isFinite(window) || window <= 0) {
    throw new SessionError("ERR_SESSION_CONFIG", `rateLimit window must be a positive number of seconds; got ${String(window)}.`);
  }
  if (!PREFIX.test(prefix)) {
    throw new SessionError("ERR_SESSION_CONFIG", `rateLimit prefix must be 1-64 characters from A-Z a-z 0-9 . _ : -; got ${JSON.stringify(prefix)}.`);
  }
  const increment = store.increment.bind(store);

  return {
    limit,
    async check(key: string): Promise<RateLimitResult> {
      if (typeof key !== "string" || key === "") {
        throw new SessionError("ERR_SESSION_STATE", "rateLimit check needs a non-empty key string (an IP, a user name).");
      }
      // Outside the try: only the store's own failure is a store fault (the fail-open path).
      const counterKey = await storageKey(prefix, key);
      let counter;
      try {
        counter = await increment(counterKey, window * 1000);
      } catch (error) {
        if (error instanceof SessionError) throw error;
        throw new SessionError("ERR_SESSION_STORE", `the ${store.name} store failed while counting a rate limit (the cause is attached).`, { cause: error });
      }
      const allowed = counter.count <= limit;
      const seconds = Math.ceil((counter.resetAt - Date.now()) / 1000);
      return {
        allowed,
        limit,
        remaining: Math.max(0, limit - counter.count),
        resetAt: counter.resetAt,
        retryAfter: allowed ? Math.max(0, seconds) : Math.max(1, seconds),
      };
    },
  };
}
