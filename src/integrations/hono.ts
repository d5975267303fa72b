/**
 * Hono bindings. `sessionMiddleware` reads the session before the handler, exposes it as a
 * typed `c.get("session")`, commits after the handler and appends the Set-Cookie.
 * `healthHandler` serves `sessions.health()`. Neither holds session logic of its own, and
 * nothing here imports hono at run time.
 *
 * @example
 * import { Hono } from "hono";
 * import { sessionMiddleware, type SessionEnv } from "cloakroom/hono";
 *
 * const app = new Hono<SessionEnv<{ count: number }>>();
 * app.use(sessionMiddleware(sessions));
 * app.post("/count", (c) => c.json({ count: c.get("session").update("count", (n = 0) => n + 1) }));
 *
 * @module
 */
import type { Context, Handler, MiddlewareHandler } from "hono";
import { SessionError } from "../errors.ts";
import { checkHealthSource, checkManager, healthStatus, resolvePolicy } from "./binding-policy.ts";
import { PRIVATE } from "./private-response.ts";
import { isUnavailable, unavailableResponse } from "./unavailable.ts";
import type { Sessions } from "../manager.ts";
import type { Session } from "../session.ts";

export { rateLimitMiddleware, type RateLimitMiddlewareOptions } from "./hono-rate-limit.ts";

/** Context variables the middleware sets. */
export interface SessionVariables<Data extends object = Record<string, unknown>> {
  session: Session<Data>;
}

/** A Hono `Env` with the session variable, for `new Hono<SessionEnv<Data>>()`. */
export interface SessionEnv<Data extends object = Record<string, unknown>> {
  Variables: SessionVariables<Data>;
}

export interface SessionMiddlewareOptions {
  /**
   * What a request gets when the store cannot be reached. "fail-closed" answers 503 (through
   * `onUnavailable`); "anonymous" runs the handler with an empty session marked
   * `isDegraded`, saves nothing and keeps the browser's cookie: for pages that can be served
   * signed out. Choose per route by mounting the middleware per route.
   * @default "fail-closed"
   */
  onStoreError?: "fail-closed" | "anonymous";
  /**
   * The response when the store fails (fail-closed) or a write keeps conflicting. The default
   * is a 503 with `Retry-After: 1`: a store fault is never treated as "signed out".
   */
  onUnavailable?: (c: Context, error: SessionError) => Response | Promise<Response>;
}

/**
 * @param sessions the manager from `createSessions`
 */
export function sessionMiddleware<Data extends object = Record<string, unknown>>(
  sessions: Sessions<Data>,
  options: SessionMiddlewareOptions = {},
): MiddlewareHandler<SessionEnv<Data>> {
  checkManager(sessions, "sessionMiddleware");
  const readOptions = resolvePolicy(options, "sessionMiddleware", "(c, error) => Response");
  const unavailable = options.onUnavailable ?? unavailableResponse;

  const dbsc = sessions.deviceBound;
  return async (c, next) => {
    // Device-bound sessions: the registration and refresh endpoints are served here.
    if (dbsc?.matches(c.req.raw)) {
      try {
        return await dbsc.handle(c.req.raw);
      } catch (error) {
        if (isUnavailable(error)) return unavailable(c, error);
        throw error;
      }
    }
    let session: Session<Data>;
    try {
      session = await sessions.read(c.req.raw, readOptions);
    } catch (error) {
      if (isUnavailable(error)) return unavailable(c, error);
      throw error;
    }
    c.set("session", session);
    // Private by default (private-response.ts), set before the handler so its response carries
    // it as built: a header set on a finished response makes Hono copy the response, which
    // also costs @hono/node-server its fast path (40 µs of CPU a request, measured). A handler
    // that sets Cache-Control itself overrides it.
    if (!session.isNew) c.header("cache-control", PRIVATE);
    await next();
    // A failed handler's changes are not persisted: its error response stands alone.
    if (c.error) return;
    let setCookies: string[];
    try {
      setCookies = await sessions.commitCookies(session);
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      c.res = await unavailable(c, error);
      return;
    }
    if (setCookies.length > 0) {
      for (const setCookie of setCookies) c.header("set-cookie", setCookie, { append: true });
      // A shared cache must never replay a response that hands out a session.
      c.header("cache-control", "no-store");
      const registration = await dbsc?.registrationHeader(session);
      if (registration) c.header("secure-session-registration", registration);
    }
  };
}

/**
 * Serves `sessions.health()` as JSON: 200 while sessions can be served ("ok" or "degraded"),
 * 503 only when they cannot ("down"), so a load balancer does not pull instances that still
 * work off a cache outage.
 *
 * @example
 * app.get("/health", healthHandler(sessions));
 */
export function healthHandler(sessions: Pick<Sessions, "health">): Handler {
  checkHealthSource(sessions);
  return async (c) => {
    const report = await sessions.health();
    c.header("cache-control", "no-store");
    return c.json(report, healthStatus(report));
  };
}
