/**
 * What the rate-limit middlewares (Hono, Express) decide for a request, apart from how each
 * framework answers: the keys counted, the tightest result, the `RateLimit-*` headers, and the
 * failure policy. Only a store fault takes the `onStoreError` path (a bad key is counted, see
 * rate-limit.ts), so both frameworks let exactly the same requests through.
 *
 * @module
 */
import { SessionError } from "../errors.ts";
import { rateLimit, type RateLimitOptions, type RateLimitResult } from "../rate-limit.ts";

export type RateLimitKeys = string | readonly string[] | null;

export type RateLimitDecision =
  /** Nothing to count, or the store is down under the "anonymous" policy: go on, no headers. */
  | { kind: "pass" }
  /** The store is down under "fail-closed": 503 with Retry-After. */
  | { kind: "unavailable"; status: 503; body: { error: string }; headers: Record<string, string> }
  /** Over a limit: 429 with Retry-After. */
  | { kind: "limited"; status: 429; body: { error: string }; headers: Record<string, string> }
  /** Within every limit: go on, and set these headers on the response. */
  | { kind: "allowed"; headers: Record<string, string> };

function tightest(results: RateLimitResult[]): RateLimitResult {
  return results.reduce((a, b) => (!b.allowed && a.allowed) || b.remaining < a.remaining ? b : a);
}

/**
 * Checks a middleware's options once and returns what it runs per request.
 * `keyShape` names the key function's argument in the error (`(c)`, `(req)`).
 */
export function rateLimitDecider(
  options: RateLimitOptions & { key?: unknown; onStoreError?: unknown },
  keyShape: string,
): (keys: RateLimitKeys) => Promise<RateLimitDecision> {
  const { key, onStoreError = "fail-closed", ...limitOptions } = options;
  if (typeof key !== "function") {
    throw new SessionError("ERR_SESSION_CONFIG", `rateLimitMiddleware needs key: ${keyShape} => string | string[], for example the client's address.`);
  }
  if (onStoreError !== "fail-closed" && onStoreError !== "anonymous") {
    throw new SessionError("ERR_SESSION_CONFIG", `rateLimitMiddleware onStoreError must be "fail-closed" or "anonymous"; got ${String(onStoreError)}.`);
  }
  const limiter = rateLimit(limitOptions);

  return async (found) => {
    const keys = found === null ? [] : typeof found === "string" ? [found] : [...found];
    if (keys.length === 0) return { kind: "pass" };
    let results: RateLimitResult[];
    try {
      results = await Promise.all(keys.map((k) => limiter.check(k)));
    } catch (error) {
      if (!(error instanceof SessionError) || error.code !== "ERR_SESSION_STORE") throw error;
      if (onStoreError === "anonymous") return { kind: "pass" };
      return { kind: "unavailable", status: 503, body: { error: "The rate limit store is unavailable; try again shortly." }, headers: { "retry-after": "1" } };
    }
    const result = tightest(results);
    const headers = {
      "ratelimit-limit": String(result.limit),
      "ratelimit-remaining": String(result.remaining),
      "ratelimit-reset": String(result.retryAfter),
    };
    if (result.allowed) return { kind: "allowed", headers };
    return {
      kind: "limited",
      status: 429,
      body: { error: `Too many requests; try again in ${result.retryAfter} s.` },
      headers: { ...headers, "retry-after": String(result.retryAfter) },
    };
  };
}
