/**
 * Express bindings, for Express 4 and 5 (and plain `node:http` handlers). `sessionMiddleware`
 * reads the session into a typed `req.session`, and commits it before the response's headers
 * leave: `res.json`, `res.send`, `res.redirect`, a streamed response and a bare `res.end` all
 * wait for the commit (express-response.ts), so the Set-Cookie is on the response and a
 * session is never silently unsaved. `rateLimitMiddleware` and `healthHandler` are the Hono
 * binding's, for Express. None of them holds session logic of its own, and nothing here
 * imports express at run time.
 *
 * Type the session's data by augmenting `SessionData`, as with express-session:
 *
 * @example
 * import express from "express";
 * import { sessionMiddleware } from "cloakroom/express";
 *
 * declare module "cloakroom/express" {
 *   interface SessionData { count: number }
 * }
 *
 * const app = express();
 * app.use(sessionMiddleware(sessions));
 * app.post("/count", (req, res) => res.json({ count: req.session.update("count", (n = 0) => n + 1) }));
 *
 * @module
 */
// This file alone is left out of tsconfig.web.json: the augmentation below needs Express's
// types, which are built on Node's, and that check has neither. What it runs is in the
// structurally typed (Web-standard-checked) express-response.ts and express-rate-limit.ts.
import { SessionError } from "../errors.ts";
import type { Sessions } from "../manager.ts";
import type { Session } from "../session.ts";
import { holdUntilCommitted, sendJson, type NextFunction, type NodeRequest, type NodeResponse } from "./express-response.ts";
import { checkHealthSource, checkManager, healthStatus, resolvePolicy } from "./binding-policy.ts";
import { sessionCacheControl } from "./private-response.ts";
import { isUnavailable, UNAVAILABLE_BODY, UNAVAILABLE_HEADERS } from "./unavailable.ts";

export { rateLimitMiddleware, type RateLimitMiddlewareOptions } from "./express-rate-limit.ts";
export type { NextFunction, NodeRequest, NodeResponse } from "./express-response.ts";

/**
 * The session's data, for `req.session`. Empty until augmented:
 * `declare module "cloakroom/express" { interface SessionData { cart: string[] } }`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by declaration merging
export interface SessionData {}

declare module "express-serve-static-core" {
  interface Request {
    /**
     * The cloakroom session, set by `sessionMiddleware` from cloakroom/express. Typed by the
     * `SessionData` interface of cloakroom/express. It takes the place of express-session's
     * `req.session` where both sets of types are installed.
     */
    session: Session<SessionData>;
  }
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
   * Writes the answer when the store fails (fail-closed) or a write keeps conflicting, before
   * anything was sent. The default is a 503 with `Retry-After: 1`: a store fault is never
   * treated as "signed out".
   */
  onUnavailable?: (req: NodeRequest, res: NodeResponse, error: SessionError) => void | Promise<void>;
}

type Middleware = (req: NodeRequest, res: NodeResponse, next: NextFunction) => void;

/** The default answer: the same 503 as every other binding (unavailable.ts). */
const sendUnavailable = (_req: NodeRequest, res: NodeResponse): void => sendJson(res, 503, UNAVAILABLE_BODY, UNAVAILABLE_HEADERS);

/** Node joins repeated Cookie headers with "; ", so `headers.cookie` is the whole header. */
const cookieHeader = (req: NodeRequest): string | null => (typeof req.headers.cookie === "string" ? req.headers.cookie : null);

/**
 * @param sessions the manager from `createSessions`
 *
 * A handler that fails still has what it changed before failing committed, with its error
 * response: Express gives a middleware no view of a later handler's error.
 */
export function sessionMiddleware<Data extends object = Record<string, unknown>>(
  sessions: Sessions<Data>,
  options: SessionMiddlewareOptions = {},
): Middleware {
  checkManager(sessions, "sessionMiddleware");
  const readOptions = resolvePolicy(options, "sessionMiddleware", "(req, res, error) => void that writes the answer");
  const unavailable = options.onUnavailable ?? sendUnavailable;

  const answerUnavailable = (req: NodeRequest, res: NodeResponse, next: NextFunction, error: SessionError) => {
    Promise.resolve()
      .then(() => unavailable(req, res, error))
      .catch(next);
  };

  // Never rejects: Express 4 does not look at a middleware's promise.
  return (req, res, next) => {
    const fail = (error: unknown) => (isUnavailable(error) ? answerUnavailable(req, res, next, error) : next(error));
    sessions.read(cookieHeader(req), readOptions).then(
      (session) => {
        (req as NodeRequest & { session: Session<Data> }).session = session;
        holdUntilCommitted(res, {
          commit: () => sessions.commitCookies(session),
          isDirty: () => session.isDirty,
          cacheControl: (setsCookie, current) => sessionCacheControl(session, setsCookie, current),
          failed: fail,
          // Headers are out: Express's error handling ends the response as failed.
          failedAfterHeaders: next,
        });
        next();
      },
      fail,
    );
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
export function healthHandler(sessions: Pick<Sessions, "health">): Middleware {
  checkHealthSource(sessions);
  return (_req, res, next) => {
    sessions.health().then((report) => {
      res.statusCode = healthStatus(report);
      res.setHeader("content-type", "application/json");
      res.setHeader("cache-control", "no-store");
      res.end(JSON.stringify(report));
    }, next);
  };
}
