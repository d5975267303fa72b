/**
 * The Express example's routes, built around a session manager it is given, so tests serve it
 * on any port. Every route answers JSON.
 *
 *   POST /login    {"user"} as JSON -> {"user","session"}; 429 past the login limit per address
 *   GET  /me       {"user","count","session"}; user null when signed out
 *   POST /count    {"count"}; signed in only (401 otherwise)
 *   POST /logout   204
 *   GET  /health   sessions.health(): 200 when "ok" or "degraded", 503 when "down"
 *
 * `session` is the public handle (a hash of the session id): safe to show, useless as a cookie.
 *
 * @module
 */
import type { Sessions } from "cloakroom";
import { healthHandler, rateLimitMiddleware, sessionMiddleware, type SessionData } from "cloakroom/express";
import express, { type NextFunction, type Request, type Response } from "express";

declare module "cloakroom/express" {
  interface SessionData {
    count: number;
  }
}

export interface ExampleOptions {
  /** Sign-in attempts per client address per minute. @default 10 */
  loginLimit?: number;
}

const USER = /^[\w.@-]{1,64}$/;

/**
 * A state-changing request from another site's page is refused (the job hono/csrf does in the
 * Hono demo). The session cookie is SameSite=Lax too; this also covers same-site subdomains.
 */
function sameOrigin(req: Request, res: Response, next: NextFunction): void {
  const origin = req.headers.origin;
  if (req.method === "GET" || req.method === "HEAD" || origin === undefined) return next();
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host !== req.headers.host) return void res.status(403).json({ error: "cross-origin request refused" });
  next();
}

export function createExampleApp(sessions: Sessions<SessionData>, options: ExampleOptions = {}) {
  const app = express();
  app.disable("x-powered-by");
  app.get("/health", healthHandler(sessions));
  app.use(sameOrigin, express.json({ limit: "1kb" }), sessionMiddleware(sessions));

  const loginLimit = rateLimitMiddleware({
    store: sessions.store,
    limit: options.loginLimit ?? 10,
    window: 60,
    prefix: "login",
    // The TCP peer: behind a proxy, read the header your proxy sets instead (never a client's own X-Forwarded-For).
    key: (req: Request) => (req.socket.remoteAddress ? `ip:${req.socket.remoteAddress}` : null),
  });

  app.post("/login", loginLimit, async (req, res) => {
    const user: unknown = req.body?.user;
    if (typeof user !== "string" || !USER.test(user)) {
      return void res.status(400).json({ error: "user must be 1 to 64 letters, digits or . _ @ -" });
    }
    // A new id on sign-in, so an id planted before it is worthless after it.
    req.session.userId = user;
    await req.session.regenerate();
    res.json({ user, session: req.session.handle });
  });

  app.get("/me", (req, res) => {
    res.json({ user: req.session.userId, count: req.session.get("count") ?? 0, session: req.session.handle });
  });

  app.post("/count", (req, res) => {
    if (req.session.userId === null) return void res.status(401).json({ error: "sign in first" });
    res.json({ count: req.session.update("count", (n = 0) => n + 1) });
  });

  app.post("/logout", (req, res) => {
    req.session.destroy();
    res.status(204).end();
  });

  return app;
}
