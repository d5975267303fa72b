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
import type { RateLimitOptions } from "../rate-limit.ts";
import { rateLimitDecider } from "./rate-limit-decision.ts";

export interface RateLimitMiddlewareOptions extends RateLimitOptions {
  /** The keys this request counts under; null or [] counts nothing. */
  key: (c: Context) => string | readonly string[] | null | Promise<string | readonly string[] | null>;
  /** @default "fail-closed" */
  onStoreError?: "fail-closed" | "anonymous";
}

/**
 * @example
 * app.post("/login", rateLimitMiddleware({ store, limit: 10, window: 60, prefix: "login", key: (c) => `ip:${ip(c)}` }), login);
 */
export function rateLimitMiddleware(options: RateLimitMiddlewareOptions): MiddlewareHandler {
  const decide = rateLimitDecider(options, "(c)");
  return async (c, next) => {
    const decision = await decide(await options.key(c));
    if (decision.kind === "pass") return next();
    if (decision.kind !== "allowed") return c.json(decision.body, decision.status, decision.headers);
    await next();
    for (const [name, value] of Object.entries(decision.headers)) c.header(name, value);
  };
}
