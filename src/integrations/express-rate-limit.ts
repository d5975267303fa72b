/**
 * Express middleware over `rateLimit`, like the Hono one (hono-rate-limit.ts): counts each
 * request under one or more keys (per client, per user) and answers 429 with `Retry-After`
 * once any of them is over its limit. It sets the `RateLimit-Limit`, `RateLimit-Remaining` and
 * `RateLimit-Reset` headers of the tightest key. When the store is down it follows the session
 * middleware's policies: "fail-closed" answers 503, "anonymous" lets the request through
 * uncounted.
 *
 * @module
 */
import { SessionError } from "../errors.ts";
import { rateLimit, type RateLimitOptions, type RateLimitResult } from "../rate-limit.ts";
import type { NextFunction, NodeRequest, NodeResponse } from "./express-response.ts";

export interface RateLimitMiddlewareOptions<Req extends NodeRequest = NodeRequest> extends RateLimitOptions {
  /** The keys this request counts under; null or [] counts nothing. */
  key: (req: Req) => string | readonly string[] | null | Promise<string | readonly string[] | null>;
  /** @default "fail-closed" */
  onStoreError?: "fail-closed" | "anonymous";
}

function tightest(results: RateLimitResult[]): RateLimitResult {
  return results.reduce((a, b) => (!b.allowed && a.allowed) || b.remaining < a.remaining ? b : a);
}

function json(res: NodeResponse, status: number, body: object, headers: Record<string, string>): void {
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify(body));
}

/**
 * @example
 * app.post("/login", rateLimitMiddleware({ store, limit: 10, window: 60, prefix: "login", key: (req) => `ip:${req.ip}` }), login);
 */
export function rateLimitMiddleware<Req extends NodeRequest = NodeRequest>(
  options: RateLimitMiddlewareOptions<Req>,
): (req: Req, res: NodeResponse, next: NextFunction) => void {
  const { key, onStoreError = "fail-closed", ...limitOptions } = options;
  if (typeof key !== "function") {
    throw new SessionError("ERR_SESSION_CONFIG", "rateLimitMiddleware needs key: (req) => string | string[], for example the client's address.");
  }
  if (onStoreError !== "fail-closed" && onStoreError !== "anonymous") {
    throw new SessionError("ERR_SESSION_CONFIG", `rateLimitMiddleware onStoreError must be "fail-closed" or "anonymous"; got ${String(onStoreError)}.`);
  }
  const limiter = rateLimit(limitOptions);

  const count = async (req: Req, res: NodeResponse, next: NextFunction) => {
    const found = await key(req);
    const keys = found === null ? [] : typeof found === "string" ? [found] : [...found];
    if (keys.length === 0) return next();
    let results: RateLimitResult[];
    try {
      results = await Promise.all(keys.map((k) => limiter.check(k)));
    } catch (error) {
      if (!(error instanceof SessionError) || error.code !== "ERR_SESSION_STORE") throw error;
      if (onStoreError === "anonymous") return next();
      return json(res, 503, { error: "The rate limit store is unavailable; try again shortly." }, { "retry-after": "1" });
    }
    const result = tightest(results);
    const headers = {
      "ratelimit-limit": String(result.limit),
      "ratelimit-remaining": String(result.remaining),
      "ratelimit-reset": String(result.retryAfter),
    };
    if (!result.allowed) {
      return json(res, 429, { error: `Too many requests; try again in ${result.retryAfter} s.` }, { ...headers, "retry-after": String(result.retryAfter) });
    }
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    next();
  };

  // Never rejects: Express 4 does not look at a middleware's promise.
  return (req, res, next) => void count(req, res, next).catch(next);
}
