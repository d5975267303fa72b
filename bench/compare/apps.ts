/**
 * The apps of `npm run bench:compare`, one per line, each built the way its library's README
 * sets it up. Loaded only by the server process (server.ts), so the orchestrator never holds a
 * client or a session library. cloakroom is imported from the sources in this tree, like every
 * other bench.
 *
 * Every app answers `POST /login?u=<n>` (sign visitor n in) and `GET /me` (the signed-in user as
 * JSON, or 401), and can be called in process (`call`, no network) as well as served over HTTP
 * (`listener`).
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import type { RequestListener } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { RedisStore } from "connect-redis";
import express, { type Express } from "express";
import session from "express-session";
import { Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { CookieStore, sessionMiddleware as honoSessions, type Session as HonoSessionsSession } from "hono-sessions";
import { Redis } from "ioredis";
import { getIronSession, webCookies } from "iron-session";
import { createClient } from "redis";
import { ioredisStore } from "../../adapters/ioredis/index.ts";
import { memoryStore } from "../../adapters/memory/index.ts";
import { inject } from "./inject.ts";
import { createSessions, generateKey, type SessionStore } from "../../src/index.ts";
import { sessionMiddleware as expressSessions, type SessionData as ExpressSessionData } from "../../src/integrations/express.ts";
import { sessionMiddleware, type SessionEnv } from "../../src/integrations/hono.ts";
import { userOf, type ScenarioId } from "./scenarios.ts";

export interface Call {
  method: "GET" | "POST";
  path: string;
  cookie?: string | undefined;
}

export interface Answer {
  status: number;
  setCookie: string[];
  body: string;
}

export interface App {
  /** Served by node:http in the server process. */
  listener: RequestListener;
  /** One request in process, no network: `app.fetch` for Hono, inject.ts for Express. */
  call(call: Call): Promise<Answer>;
  close(): Promise<void>;
}

type User = { id: string; name: string };

const IDLE_SECONDS = 1800;
/** A password as iron-session and hono-sessions ask for: 32+ characters, random. */
const password = () => randomBytes(32).toString("base64url");
const visitor = (query: string | undefined) => userOf(Number(query ?? "0"));

/** Any Hono app: only its `fetch` is used. */
function honoApp(app: { fetch: (request: Request) => Response | Promise<Response> }, close = async () => {}): App {
  return {
    listener: getRequestListener(app.fetch),
    async call({ method, path, cookie }) {
      const response = await app.fetch(
        new Request(`http://localhost${path}`, { method, headers: cookie ? { cookie } : {} }),
      );
      return { status: response.status, setCookie: response.headers.getSetCookie(), body: await response.text() };
    },
    close,
  };
}

function expressApp(app: Express, close = async () => {}): App {
  const listener = app as unknown as RequestListener;
  return { listener, call: (call) => inject(listener, call), close };
}

function ioredisClient(url: string): Redis {
  // ioredis's defaults, as an application that did not tune them would have; the same client
  // settings for the floor and for cloakroom.
  return new Redis(url);
}

async function hono(): Promise<App> {
  const app = new Hono();
  app.post("/login", (c) => c.json({ user: visitor(c.req.query("u")) }));
  app.get("/me", (c) => c.json({ user: userOf(0) }));
  return honoApp(app);
}

async function floor(redisUrl: string): Promise<App> {
  const client = ioredisClient(redisUrl);
  const app = new Hono();
  app.post("/login", async (c) => {
    const user = visitor(c.req.query("u"));
    const id = randomBytes(32).toString("base64url");
    await client.set(`floor:${id}`, JSON.stringify({ user }), "EX", IDLE_SECONDS);
    setCookie(c, "sid", id, { httpOnly: true, secure: true, sameSite: "Lax", path: "/" });
    return c.json({ user });
  });
  app.get("/me", async (c) => {
    const id = getCookie(c, "sid");
    const json = id ? await client.get(`floor:${id}`) : null;
    if (!json) return c.json({ error: "signed out" }, 401);
    return c.json({ user: (JSON.parse(json) as { user: User }).user });
  });
  return honoApp(app, async () => void client.disconnect());
}

async function cloakroom(store: SessionStore, close: () => Promise<void>): Promise<App> {
  type Data = { name: string };
  const sessions = createSessions<Data>({ store, keys: generateKey("bench") });
  const app = new Hono<SessionEnv<Data>>();
  app.use(sessionMiddleware(sessions));
  app.post("/login", (c) => {
    const user = visitor(c.req.query("u"));
    const current = c.get("session");
    current.userId = user.id;
    current.set("name", user.name);
    return c.json({ user });
  });
  app.get("/me", (c) => {
    const current = c.get("session");
    if (current.userId === null) return c.json({ error: "signed out" }, 401);
    return c.json({ user: { id: current.userId, name: current.get("name") } });
  });
  return honoApp(app, close);
}

async function cloakroomRedis(redisUrl: string): Promise<App> {
  const client = ioredisClient(redisUrl);
  return cloakroom(ioredisStore({ client }), async () => void client.disconnect());
}

async function cloakroomMemory(): Promise<App> {
  return cloakroom(memoryStore(), async () => {});
}

declare module "express-session" {
  interface SessionData {
    user: User;
  }
}

/**
 * express-session's `req.session`. In this program cloakroom/express's typed `req.session`
 * takes its place, as it does in an application that has both sets of types installed.
 */
const legacySession = (req: unknown) => (req as { session: session.Session & Partial<session.SessionData> }).session;

async function expressSession(redisUrl: string): Promise<App> {
  // connect-redis 10 takes a node-redis client (its peer dependency); it calls node-redis's
  // own SET options, so an ioredis client would not do.
  const client = createClient({ url: redisUrl });
  client.on("error", () => {});
  await client.connect();
  const app = express();
  app.use(
    session({
      store: new RedisStore({ client }),
      secret: password(),
      resave: false, // required by connect-redis: touch instead of rewriting
      saveUninitialized: false, // recommended: no session until there is data
    }),
  );
  // The login of express-session's README: a new id, then the user, then save.
  app.post("/login", (req, res, next) => {
    const user = visitor(req.query.u as string | undefined);
    legacySession(req).regenerate((error) => {
      if (error) return next(error);
      legacySession(req).user = user;
      legacySession(req).save((error) => (error ? next(error) : res.json({ user })));
    });
  });
  app.get("/me", (req, res) => {
    const user = legacySession(req).user;
    if (!user) return void res.status(401).json({ error: "signed out" });
    res.json({ user });
  });
  return expressApp(app, async () => void (await client.close()));
}

declare module "../../src/integrations/express.ts" {
  interface SessionData {
    name: string;
  }
}

/** cloakroom's Express binding on the same ioredis store as the Hono line: framework held constant against express-session. */
async function cloakroomExpress(redisUrl: string): Promise<App> {
  const client = ioredisClient(redisUrl);
  const sessions = createSessions<ExpressSessionData>({ store: ioredisStore({ client }), keys: generateKey("bench") });
  const app = express();
  app.use(expressSessions(sessions));
  app.post("/login", (req, res) => {
    const user = visitor(req.query.u as string | undefined);
    req.session.userId = user.id;
    req.session.set("name", user.name);
    res.json({ user });
  });
  app.get("/me", (req, res) => {
    if (req.session.userId === null) return void res.status(401).json({ error: "signed out" });
    res.json({ user: { id: req.session.userId, name: req.session.get("name") } });
  });
  return expressApp(app, async () => void client.disconnect());
}

async function ironSession(): Promise<App> {
  const options = { cookieName: "session", password: password() };
  const app = new Hono();
  app.post("/login", async (c) => {
    const user = visitor(c.req.query("u"));
    const headers = new Headers();
    const current = await getIronSession<{ user: User }>(webCookies(c.req.raw, headers), options);
    current.user = user;
    await current.save();
    for (const value of headers.getSetCookie()) c.header("set-cookie", value, { append: true });
    return c.json({ user });
  });
  app.get("/me", async (c) => {
    const current = await getIronSession<{ user: User }>(webCookies(c.req.raw, new Headers()), options);
    if (!current.user) return c.json({ error: "signed out" }, 401);
    return c.json({ user: current.user });
  });
  return honoApp(app);
}

async function honoSessionsApp(): Promise<App> {
  type Env = { Variables: { session: HonoSessionsSession<{ user: User }>; session_key_rotation: boolean } };
  const app = new Hono<Env>();
  app.use(
    "*",
    honoSessions({
      store: new CookieStore(),
      encryptionKey: password(),
      expireAfterSeconds: IDLE_SECONDS,
      cookieOptions: { sameSite: "Lax", path: "/", httpOnly: true },
    }),
  );
  app.post("/login", (c) => {
    const user = visitor(c.req.query("u"));
    c.get("session").set("user", user);
    return c.json({ user });
  });
  app.get("/me", (c) => {
    const user = c.get("session").get("user");
    if (!user) return c.json({ error: "signed out" }, 401);
    return c.json({ user });
  });
  return honoApp(app);
}

async function expressPlain(): Promise<App> {
  const app = express();
  app.post("/login", (req, res) => void res.json({ user: visitor(req.query.u as string | undefined) }));
  app.get("/me", (_req, res) => void res.json({ user: userOf(0) }));
  return expressApp(app);
}

export function buildApp(id: ScenarioId, redisUrl: string): Promise<App> {
  switch (id) {
    case "hono":
      return hono();
    case "floor":
      return floor(redisUrl);
    case "cloakroom-redis":
      return cloakroomRedis(redisUrl);
    case "cloakroom-memory":
      return cloakroomMemory();
    case "express-session":
      return expressSession(redisUrl);
    case "cloakroom-express":
      return cloakroomExpress(redisUrl);
    case "iron-session":
      return ironSession();
    case "hono-sessions":
      return honoSessionsApp();
    case "express":
      return expressPlain();
  }
}
