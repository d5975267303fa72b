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
import type { RateLimitOptions } from "../rate-limit.ts";
import { rateLimitDecider } from "./rate-limit-decision.ts";
import { sendJson, type NextFunction, type NodeRequest, type NodeResponse } from "./express-response.ts";

export interface RateLimitMiddlewareOptions<Req extends NodeRequest = NodeRequest> extends RateLimitOptions {
  /** The keys this request counts under; null or [] counts nothing. */
  key: (req: Req) => string | readonly string[] | null | Promise<string | readonly string[] | null>;
  /** @default "fail-closed" */
  onStoreError?: "fail-closed" | "anonymous";
}

/**
 * @example
 * app.post("/login", rateLimitMiddleware({ store, limit: 10, window: 60, prefix: "login", key: (req) => `ip:${req.ip}` }), login);
 */
export function rateLimitMiddleware<Req extends NodeRequest = NodeRequest>(
  options: RateLimitMiddlewareOptions<Req>,
): (req: Req, res: NodeResponse, next: NextFunction) => void {
  const decide = rateLimitDecider(options, "(req)");
  const count = async (req: Req, res: NodeResponse, next: NextFunction) => {
    const decision = await decide(await options.key(req));
    if (decision.kind === "pass") return next();
    if (decision.kind !== "allowed") return sendJson(res, decision.status, decision.body, decision.headers);
    for (const [name, value] of Object.entries(decision.headers)) res.setHeader(name, value);
    next();
  };

  // Never rejects: Express 4 does not look at a middleware's promise.
  return (req, res, next) => void count(req, res, next).catch(next);
}
