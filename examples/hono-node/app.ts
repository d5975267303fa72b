/**
 * The demo's routes as a Hono app, built around a session manager it is given, so tests
 * drive it with `app.request()` and no server. Every route but the page answers JSON.
 *
 *   GET    /                   the page (page.ts)
 *   POST   /login              {"user"} as JSON or form -> {"user","session"}; 429 past the
 *                               login limits (per client address and per user name)
 *   GET    /me                 {"user","count","session"}
 *   POST   /count              {"count"}
 *   GET    /sessions           {"sessions":[{"session","createdAt","lastSeenAt","expiresAt","current","device"}]}
 *   DELETE /sessions/:session  204; signs that device out
 *   POST   /logout             204; this device
 *   POST   /logout-all         {"revoked"}; every device, this one included
 *   GET    /health             sessions.health(): 200 when "ok" or "degraded", 503 only when
 *                               sessions cannot be served ("down")
 *   GET    /device             {"user","binding","deviceRegistered"}: what this request shows of
 *                               a device-bound session (with the deviceBound option)
 *   POST   /dbsc/register, /dbsc/refresh   the DBSC endpoints (with the deviceBound option)
 *
 * `session` is always the public handle (a hash of the session id): safe to show, useless as
 * a cookie.
 *
 * @module
 */
import { SessionError, type Sessions } from "cloakroom";
import { healthHandler, rateLimitMiddleware, sessionMiddleware, type SessionVariables } from "cloakroom/hono";
import { clientKey } from "./client-key.ts";
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { readLogin } from "./login-input.ts";
import { renderPage } from "./page.ts";

export interface DemoData {
  count: number;
  /** What the device list shows for this session: the browser's user agent, shortened. */
  device: string;
}

export interface DemoEnv {
  Variables: SessionVariables<DemoData> & {
    /** Set by the signed-in guard. */
    user: string;
  };
}

export interface LoginLimits {
  /** Sign-in attempts per client address per window. @default 20 */
  perClient: number;
  /** Sign-in attempts per user name (any address) per window. @default 5 */
  perUser: number;
  /** Window in seconds. @default 60 */
  window: number;
}

export interface DemoOptions {
  /**
   * The client's address, for the per-client login limit; undefined skips that limit for the
   * request. The default is the TCP peer (@hono/node-server's `incoming` socket). Behind a
   * proxy that is the proxy: pass a function that reads the header your proxy sets. The
   * default never reads X-Forwarded-For, which any client can send.
   */
  clientAddress?: (c: Context) => string | undefined;
  /** @default { perClient: 20, perUser: 5, window: 60 } */
  loginLimits?: LoginLimits;
  /**
   * With the manager's deviceBound option: "strict" refuses a session that a DBSC browser bound
   * to its device when it comes without that device's bound cookie (a copied cookie jar); the
   * default lets it through, and `GET /device` shows what it looks like. Browsers without DBSC
   * are never refused. @default "on"
   */
  deviceBinding?: "on" | "strict";
}

const MAX_DEVICE_LENGTH = 120;

function socketAddress(c: Context): string | undefined {
  return (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress;
}

function deviceOf(userAgent: string | undefined): string {
  const device = (userAgent ?? "").replace(/\p{Cc}/gu, "").trim();
  if (device === "") return "unknown device";
  return device.length > MAX_DEVICE_LENGTH ? `${device.slice(0, MAX_DEVICE_LENGTH - 3)}...` : device;
}

/**
 * hono's csrf() reads a POST without a content type as text/plain and refuses it unless
 * Origin or Sec-Fetch-Site say same-origin; that would refuse `curl -X POST .../logout`.
 * Browsers send Origin on every POST and DELETE, so a request with neither header is not
 * from a browser and carries no victim's cookie: it goes through untouched, the rule Go's
 * http.CrossOriginProtection uses. JSON bodies pass csrf() as they are, because a page on
 * another site cannot send application/json without a CORS preflight, which this app never
 * answers. SameSite=Lax already keeps the cookie off cross-site POSTs; csrf() adds the
 * same-site case (a sibling subdomain posting a form).
 */
function crossSiteGuard(): MiddlewareHandler {
  const guard = csrf();
  return async (c, next) => {
    if (c.req.header("origin") === undefined && c.req.header("sec-fetch-site") === undefined) return next();
    return guard(c, next);
  };
}

/**
 * @example
 * const app = createDemoApp(createSessions<DemoData>({ store: memoryStore(), keys }));
 * const response = await app.request("/login", { method: "POST", body: '{"user":"alice"}', headers: { "content-type": "application/json" } });
 */
export function createDemoApp(sessions: Sessions<DemoData>, options: DemoOptions = {}): Hono<DemoEnv> {
  const app = new Hono<DemoEnv>();
  const clientAddress = options.clientAddress ?? socketAddress;
  const limits = options.loginLimits ?? { perClient: 20, perUser: 5, window: 60 };
  // Only the routes that use a session read one: the page and the health probe must answer
  // even when the store is down.
  const session = sessionMiddleware(sessions);
  const strict = options.deviceBinding === "strict";

  const signedIn: MiddlewareHandler<DemoEnv> = async (c, next) => {
    const current = c.get("session");
    if (current.userId === null) {
      // A cookie whose session is gone is not cleared here: the library clears expired ones
      // itself, and clearing a "not found" one could undo a parallel sign-in's new cookie.
      return c.json({ error: "not signed in; POST /login first." }, 401);
    }
    if (strict && current.deviceRegistered && current.binding !== "bound") {
      return c.json({ error: "this session is bound to another device; sign in again here." }, 401);
    }
    c.set("user", current.userId);
    await next();
  };

  app.use("*", async (c, next) => {
    await next();
    // Every answer here is about one visitor: no shared cache may keep it.
    c.header("cache-control", "no-store");
  });
  // The DBSC endpoints, before the cross-site guard: a browser posts them by itself, and each
  // answer is a signature over a challenge no other site can read.
  const dbsc = sessions.deviceBound;
  if (dbsc) app.use("*", async (c, next) => (dbsc.matches(c.req.raw) ? dbsc.handle(c.req.raw) : next()));
  app.use("*", crossSiteGuard());

  app.get("/", (c) => {
    const nonce = crypto.randomUUID();
    c.header(
      "content-security-policy",
      // img-src data: for the page's empty `data:,` icon, which spares the browser a /favicon.ico request.
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src data:; connect-src 'self'; ` +
        `form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
    );
    return c.html(renderPage(nonce));
  });

  // "degraded" (a cache out, the durable store serving; no replica to fail over to) answers
  // 200: a load balancer must not pull instances that still serve sessions.
  app.get("/health", healthHandler(sessions));

  const loginLimit = bodyLimit({
    maxSize: 4 * 1024,
    onError: (c) => c.json({ error: "the login body is larger than 4 KiB." }, 413),
  });

  // Sign-in is where passwords get guessed: limited per client address and per user name, on
  // the session store's counters, so every instance sharing the store shares the count. When
  // the store is down the limits fail closed (503), as the session middleware does.
  const perClient = rateLimitMiddleware({
    store: sessions.store,
    limit: limits.perClient,
    window: limits.window,
    prefix: "login-ip",
    key: (c) => clientKey(clientAddress(c)) ?? null, // an IPv6 client counts per /64 (client-key.ts)
  });
  const perUser = rateLimitMiddleware({
    store: sessions.store,
    limit: limits.perUser,
    window: limits.window,
    prefix: "login-user",
    // A clone: the handler reads the body again. Case-folded, so "Alice" and "alice" share a count.
    key: async (c) => {
      const input = await readLogin(c.req.raw.clone());
      return input.ok ? input.user.toLowerCase() : null;
    },
  });

  app.post("/login", loginLimit, perClient, perUser, session, async (c) => {
    const input = await readLogin(c.req.raw);
    if (!input.ok) return c.json({ error: input.error }, 400);
    const current = c.get("session");
    // A new id on sign-in makes an id planted before it worthless; clearing drops whatever
    // the previous visitor of this browser left behind.
    // userId first: the handle carries the user's tag. Awaiting regenerate gives the new
    // handle now; the middleware commits after this handler.
    current.userId = input.user;
    await current.regenerate();
    current.clear();
    current.set("device", deviceOf(c.req.header("user-agent")));
    return c.json({ user: input.user, session: current.handle });
  });

  app.get("/me", session, signedIn, (c) => {
    const current = c.get("session");
    return c.json({ user: c.get("user"), count: current.get("count") ?? 0, session: current.handle });
  });

  app.get("/device", session, (c) => {
    const current = c.get("session");
    return c.json({ user: current.userId, binding: current.binding, deviceRegistered: current.deviceRegistered });
  });

  app.post("/count", session, signedIn, (c) => {
    const count = c.get("session").update("count", (n = 0) => n + 1);
    return c.json({ count });
  });

  app.get("/sessions", session, signedIn, async (c) => {
    const list = await sessions.listUser(c.get("user"), { current: c.get("session") });
    return c.json({
      sessions: list.map((info) => ({
        session: info.handle,
        createdAt: info.createdAt,
        lastSeenAt: info.lastSeenAt,
        expiresAt: info.expiresAt,
        current: info.current,
        device: typeof info.data.device === "string" ? info.data.device : "unknown device",
      })),
    });
  });

  app.delete("/sessions/:session", session, signedIn, async (c) => {
    const handle = c.req.param("session");
    const current = c.get("session");
    if (handle === current.handle) {
      // Through destroy, not revokeSession, so the commit also clears this browser's cookie.
      current.destroy();
      return c.body(null, 204);
    }
    if (!(await sessions.revokeSession(c.get("user"), handle))) {
      return c.json({ error: "you have no session with that handle; GET /sessions lists yours." }, 404);
    }
    return c.body(null, 204);
  });

  app.post("/logout", session, (c) => {
    c.get("session").destroy();
    return c.body(null, 204);
  });

  app.post("/logout-all", session, signedIn, async (c) => {
    const revoked = await sessions.revokeUser(c.get("user"));
    // The record is gone already; destroying makes the commit clear this browser's cookie.
    c.get("session").destroy();
    return c.json({ revoked });
  });

  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}.` }, 404));

  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      const message = error.status === 403
        ? "cross-site request refused: its Origin is not this site."
        : error.message || "the request was refused.";
      return c.json({ error: message }, error.status);
    }
    if (error instanceof SessionError && (error.code === "ERR_SESSION_STORE" || error.code === "ERR_SESSION_CONFLICT")) {
      // Same answer as the middleware gives when the store fails before the handler.
      c.header("retry-after", "1");
      return c.json({ error: "The session store is unavailable; try again shortly." }, 503);
    }
    console.error(error);
    return c.json({ error: "internal error." }, 500);
  });

  return app;
}
