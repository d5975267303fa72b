/**
 * Hono middleware over `rateLimit`: counts each request under one or more keys (per client,
 * per user) and answers 429 with `Retry-After` once any of them is over its limit. It sets
 * the `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` headers of the tightest
 * key. When the store is down it follows the session middleware's policies: "fail-closed"
 * answers 503, "anonymous" lets the request through uncounted.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { SessionError } from "../errors.ts";
import { rateLimit, type RateLimitOptions, type RateLimitResult } from "../rate-limit.ts";

export interface RateLimitMiddlewareOptions extends RateLimitOptions {
  /** The keys this request counts under; null or [] counts nothing. */
  key: (c: Context) => string | readonly string[] | null | Promise<string | readonly string[] | null>;
  /** @default "fail-closed" */
  onStoreError?: "fail-closed" | "anonymous";
}

function tightest(results: RateLimitResult[]): RateLimitResult {
  return results.reduce((a, b) => (!b.allowed && a.allowed) || b.remaining < a.remaining ? b : a);
}

/**
 * @example
 * app.post("/login", rateLimitMiddleware({ store, limit: 10, window: 60, prefix: "login", key: (c) => `ip:${ip(c)}` }), login);
 */
export function rateLimitMiddleware(options: RateLimitMiddlewareOptions): MiddlewareHandler {
  const { key, onStoreError = "fail-closed", ...limitOptions } = options;
  if (typeof key !== "function") {
    throw new SessionError("ERR_SESSION_CONFIG", "rateLimitMiddleware needs key: (c) => string | string[], for example the client's address.");
  }
  if (onStoreError !== "fail-closed" && onStoreError !== "anonymous") {
    throw new SessionError("ERR_SESSION_CONFIG", `rateLimitMiddleware onStoreError must be "fail-closed" or "anonymous"; got ${String(onStoreError)}.`);
  }
  const limiter = rateLimit(limitOptions);

  return async (c, next) => {
    const found = await key(c);
    const keys = found === null ? [] : typeof found === "string" ? [found] : [...found];
    if (keys.length === 0) return next();
    let results: RateLimitResult[];
    try {
      results = await Promise.all(keys.map((k) => limiter.check(k)));
    } catch (error) {
      if (!(error instanceof SessionError) || error.code !== "ERR_SESSION_STORE") throw error;
      if (onStoreError === "anonymous") return next();
      return c.json({ error: "The rate limit store is unavailable; try again shortly." }, 503, { "retry-after": "1" });
    }
    const result = tightest(results);
    const headers = {
      "ratelimit-limit": String(result.limit),
      "ratelimit-remaining": String(result.remaining),
      "ratelimit-reset": String(result.retryAfter),
    };
    if (!result.allowed) {
      return c.json({ error: `Too many requests; try again in ${result.retryAfter} s.` }, 429, { ...headers, "retry-after": String(result.retryAfter) });
    }
    await next();
    for (const [name, value] of Object.entries(headers)) c.header(name, value);
  };
}
