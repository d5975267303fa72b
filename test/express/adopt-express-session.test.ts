/**
 * Moving a real express-session application to cloakroom without signing anyone out, on real
 * servers this file starts (test/support): an Express 5 + express-session + connect-redis app
 * signs visitors in; it stops; a cloakroom app (cloakroom/express, two instances) starts on the
 * same Redis, and the same cookie jars are still signed in with their data. The same with
 * connect-pg-simple on PostgreSQL, the store given by URL, and the new app on Hono.
 */
import { getRequestListener } from "@hono/node-server";
import connectPgSimple from "connect-pg-simple";
import { RedisStore } from "connect-redis";
import { sign } from "cookie-signature";
import express, { type Request } from "express";
import session from "express-session";
import { Hono } from "hono";
import { Redis } from "ioredis";
import pg from "pg";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSessions, generateKey, type SessionEvent } from "../../src/index.ts";
import { sessionMiddleware } from "../../src/integrations/express.ts";
import { adoptExpressSession, type ExpressSessionStore } from "../../src/integrations/express-session.ts";
import { sessionMiddleware as honoSessions, type SessionEnv } from "../../src/integrations/hono.ts";
import { ioredisStore } from "../../adapters/ioredis/index.ts";
import { fromPg, postgresStore } from "../../adapters/postgres/index.ts";
import { startRedisProcess, type RedisProcess } from "../support/redis-server.ts";
import { startPostgres, uniqueTable, type PostgresServer } from "../support/postgres-server.ts";
import { dropStore } from "../postgres/support.ts";
import { CookieJar, serve, type Served } from "./support.ts";

type User = { id: string; name: string };
type Legacy = session.Session & Partial<{ user: User; cart: string[] }>;
declare module "../../src/integrations/express.ts" {
  interface SessionData {
    user: User;
    cart: string[];
  }
}

/** The new app's keys: every instance has the same (SESSION_KEYS). */
const KEYS = generateKey("k1");
const SECRET = ["new-secret-of-the-legacy-app", "older-secret-still-accepted"];
/** express-session's `req.session`: cloakroom/express's typed one takes its place in this program's types. */
const legacyOf = (req: Request) => (req as unknown as { session: Legacy }).session;

/** The application before the move: express-session's README login, with a cart. */
function legacyApp(store: session.Store) {
  const app = express();
  app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false, cookie: { maxAge: 3_600_000 } }));
  app.post("/login", (req, res, next) => {
    legacyOf(req).regenerate((error) => {
      if (error) return next(error);
      const id = String(req.query.u);
      Object.assign(legacyOf(req), { user: { id, name: id.toUpperCase() }, cart: ["tea"] });
      legacyOf(req).save((error) => (error ? next(error) : res.json({ user: id })));
    });
  });
  return app;
}

const userIdOf = (legacy: Record<string, unknown>) => (legacy.user as User | undefined)?.id;

/** What the new app answers on GET /me, on Express and on Hono alike. */
interface Me {
  user: string | null;
  name?: string;
  cart?: string[];
  invalid: string | null;
}

async function signInOnLegacy(app: ReturnType<typeof legacyApp>, users: string[]): Promise<CookieJar[]> {
  const legacy = await serve(app);
  try {
    return await Promise.all(users.map(async (user) => {
      const jar = new CookieJar();
      expect((await jar.fetch(`${legacy.url}/login?u=${user}`, { method: "POST" })).status).toBe(200);
      expect([...jar.cookies.keys()]).toEqual(["connect.sid"]);
      return jar;
    }));
  } finally {
    await legacy.close();
  }
}

describe("adopting express-session + connect-redis sessions, on Express", () => {
  let redis: RedisProcess;
  let nodeRedis: ReturnType<typeof createClient>;
  let ioredis: Redis;
  const served: Served[] = [];
  const events: SessionEvent[] = [];
  const legacyCalls: string[] = [];

  beforeAll(async () => {
    redis = await startRedisProcess();
    nodeRedis = createClient({ url: redis.url });
    nodeRedis.on("error", () => {});
    await nodeRedis.connect();
    ioredis = new Redis(redis.url);
  });

  afterAll(async () => {
    await Promise.all(served.map((s) => s.close()));
    await nodeRedis?.close();
    ioredis?.disconnect();
    await redis?.stop();
  });

  /** One instance of the new application: cloakroom on the same Redis, adopting from it. */
  async function cloakroomInstance(): Promise<Served> {
    const legacyStore = new RedisStore({ client: nodeRedis });
    // Counts what reaches the legacy store, to show a forged cookie reaches nothing.
    const counted: ExpressSessionStore = {
      get: (sid, callback) => (legacyCalls.push(`get`), legacyStore.get(sid, callback)),
      destroy: (sid, callback) => (legacyCalls.push(`destroy`), legacyStore.destroy(sid, callback)),
    };
    const sessions = createSessions({
      store: ioredisStore({ client: ioredis }),
      keys: KEYS,
      cookie: { name: "session", secure: false },
      onEvent: (event) => events.push(event),
      adopt: adoptExpressSession({ secret: SECRET, store: counted, userIdOf }),
    });
    const app = express();
    app.use(sessionMiddleware(sessions));
    app.get("/me", (req, res) => {
      const me: Me = { user: req.session.userId, invalid: req.session.invalidReason };
      if (req.session.userId) Object.assign(me, { name: req.session.get("user")?.name, cart: req.session.get("cart") });
      res.json(me);
    });
    const instance = await serve(app);
    served.push(instance);
    return instance;
  }

  it("keeps every signed-in visitor signed in, with their data, in one session each", async () => {
    const [ada, bob] = await signInOnLegacy(legacyApp(new RedisStore({ client: nodeRedis })), ["ada", "bob"]);
    expect(await ioredis.keys("sess:*")).toHaveLength(2);
    const [one, two] = await Promise.all([cloakroomInstance(), cloakroomInstance()]);
    const adaLegacy = ada!.header;

    const first = await ada!.fetch(`${one.url}/me`);
    expect(await first.json()).toEqual({ user: "ada", name: "ADA", cart: ["tea"], invalid: null });
    expect(first.headers.getSetCookie()).toEqual([expect.stringMatching(/^session=/), "connect.sid=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"]);
    expect([...ada!.cookies.keys()]).toEqual(["session"]);
    expect(await (await ada!.fetch(`${two.url}/me`)).json()).toEqual({ user: "ada", name: "ADA", cart: ["tea"], invalid: null });

    // Bob's browser sends three requests at once, to both instances, before it has a ticket.
    const parallel = await Promise.all([one, two, one].map((instance) => fetch(`${instance.url}/me`, { headers: { cookie: bob!.header } })));
    for (const answer of parallel) expect(await answer.json()).toEqual({ user: "bob", name: "BOB", cart: ["tea"], invalid: null });

    // The legacy records are gone; each user has one session; the old cookie makes no second one.
    expect(await ioredis.keys("sess:*")).toEqual([]);
    const again = await fetch(`${two.url}/me`, { headers: { cookie: adaLegacy } });
    expect((await again.json()).user).toBe("ada");
    const store = ioredisStore({ client: ioredis });
    expect(await store.listUser("ada")).toHaveLength(1);
    expect(await store.listUser("bob")).toHaveLength(1);
    expect(events.filter((e) => e.type === "adopted")).toHaveLength(2);
  });

  it("reads forged, unsigned and expired legacy cookies as no session; a bad signature reaches no store", async () => {
    const instance = await cloakroomInstance();
    const me = async (cookie: string) => (await (await fetch(`${instance.url}/me`, { headers: { cookie } })).json()) as Me;
    legacyCalls.length = 0;
    const forged = `connect.sid=${encodeURIComponent(`s:${sign("some-id", "not-the-secret")}`)}`;
    expect(await me(forged)).toEqual({ user: null, invalid: "forged" });
    expect(await me("connect.sid=some-id")).toEqual({ user: null, invalid: "malformed" });
    expect(legacyCalls).toEqual([]);

    await ioredis.set("sess:stale", JSON.stringify({ cookie: { expires: "2020-01-01T00:00:00.000Z" }, user: { id: "eve", name: "EVE" } }));
    // Signed with the older secret, which express-session still accepted.
    expect(await me(`connect.sid=${encodeURIComponent(`s:${sign("stale", SECRET[1]!)}`)}`)).toEqual({ user: null, invalid: "expired" });
    expect(legacyCalls).toEqual(["get"]);

    // The same record through a redis:// URL (connect-redis's default layout), client opened here.
    const byUrl = adoptExpressSession({ secret: SECRET, store: redis.url, userIdOf });
    expect(await byUrl.read("stale")).toEqual({ data: { user: { id: "eve", name: "EVE" } }, userId: "eve", expiresAt: Date.parse("2020-01-01T00:00:00.000Z") });
    await byUrl.remove("stale");
    expect(await ioredis.exists("sess:stale")).toBe(0);
    await byUrl.close();
  });
});

describe("adoptExpressSession options", () => {
  it("are checked when the adopter is made, naming the option", () => {
    const store = "redis://127.0.0.1:1";
    expect(() => adoptExpressSession({ secret: "", store, userIdOf })).toThrow(/secret must be express-session's secret/);
    expect(() => adoptExpressSession({ secret: "s", store: "memcached://x", userIdOf })).toThrow(/store must be a redis/);
    expect(() => adoptExpressSession({ secret: "s", store: {} as ExpressSessionStore, userIdOf })).toThrow(/store must be the store express-session was given/);
    expect(() => adoptExpressSession({ secret: "s", store } as never)).toThrow(/needs userIdOf/);
    expect(() => adoptExpressSession({ secret: "s", store, userIdOf, resave: false } as never)).toThrow(/unknown adoptExpressSession option resave/);
    expect(adoptExpressSession({ secret: "s", store, userIdOf, name: "sid", cookie: { path: "/app", domain: "example.com", maxAge: 1 } }).clearCookie).toBe(
      "sid=; Max-Age=0; Domain=example.com; Path=/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    );
  });
});

describe("adopting express-session + connect-pg-simple sessions, on Hono, the store given by URL", () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  const table = uniqueTable();

  beforeAll(async () => {
    server = await startPostgres();
    pool = new pg.Pool({ connectionString: server.url, max: 4 });
    pool.on("error", () => {});
    await postgresStore({ query: fromPg(pool), table }).migrate();
  });

  afterAll(async () => {
    if (pool) {
      await dropStore(fromPg(pool), table);
      await pool.end();
    }
    await server?.stop();
  });

  it("keeps the visitor signed in with their data, and deletes the legacy row", async () => {
    const PgStore = connectPgSimple(session);
    const legacyStore = new PgStore({ pool, createTableIfMissing: true, pruneSessionInterval: false });
    const [ada] = await signInOnLegacy(legacyApp(legacyStore), ["ada"]);
    expect((await pool.query('SELECT count(*)::int AS n FROM "session"')).rows[0].n).toBe(1);

    const adopter = adoptExpressSession({ secret: SECRET, store: server.url, userIdOf });
    const sessions = createSessions({
      store: postgresStore({ query: fromPg(pool), table }),
      keys: KEYS,
      cookie: { name: "session", secure: false },
      adopt: adopter,
    });
    const app = new Hono<SessionEnv<{ user: User; cart: string[] }>>();
    app.use(honoSessions(sessions));
    app.get("/me", (c) => {
      const current = c.get("session");
      return c.json({ user: current.userId, name: current.get("user")?.name, cart: current.get("cart"), invalid: current.invalidReason });
    });
    const instance = await serve(getRequestListener(app.fetch));
    try {
      const legacyCookie = ada!.header;
      expect(await (await ada!.fetch(`${instance.url}/me`)).json()).toEqual({ user: "ada", name: "ADA", cart: ["tea"], invalid: null });
      expect([...ada!.cookies.keys()]).toEqual(["session"]);
      expect(await (await ada!.fetch(`${instance.url}/me`)).json()).toEqual({ user: "ada", name: "ADA", cart: ["tea"], invalid: null });
      expect((await pool.query('SELECT count(*)::int AS n FROM "session"')).rows[0].n).toBe(0);
      await fetch(`${instance.url}/me`, { headers: { cookie: legacyCookie } });
      expect(await sessions.listUser("ada")).toHaveLength(1);
    } finally {
      await instance.close();
      await adopter.close();
      await legacyStore.close();
    }
  });
});
