/**
 * The demo on Postgres, chosen by DATABASE_URL as `npm start` would (storeFromEnv from
 * cloakroom/env): on a PostgreSQL server (via pg, schema migrated on start), on PGlite with a
 * data directory, where a session outlives the process that created it, and behind a Redis
 * cache that is down. Apps run in-process through `app.request()`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSessions, generateKey, SessionError } from "cloakroom";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDemoApp, type DemoData } from "../../examples/hono-node/app.ts";
import { configFromEnv } from "../../examples/hono-node/config.ts";
import { storeFromEnv, type EnvStore } from "../../env/index.ts";
import pg from "pg";
import { startPostgres, uniqueTable, type PostgresServer } from "../support/postgres-server.ts";

const SESSION_KEYS = generateKey("demo");
let server: PostgresServer;
let work: string;
/**
 * The demo uses the default table name. So that it never lands in (or is left in) a shared
 * DATABASE_URL database's public schema, it runs in a schema of its own, dropped at the end.
 */
const schema = uniqueTable("cloakroom_demo");
let databaseUrl: string;
const opened: EnvStore[] = [];

beforeAll(async () => {
  server = await startPostgres();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  databaseUrl = `${server.url}${server.url.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  work = mkdtempSync(join(tmpdir(), "cloakroom-demo-pglite-"));
});

afterAll(async () => {
  for (const choice of opened) await choice.close().catch(() => {});
  if (server) {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** One demo instance: the server's start-up, minus the listening socket. */
async function startDemo(env: Record<string, string>) {
  const config = configFromEnv({ SESSION_KEYS, ...env });
  const logged: string[] = [];
  const choice = await storeFromEnv({ SESSION_KEYS, ...env }, { log: (line) => logged.push(line) });
  opened.push(choice);
  const app = createDemoApp(createSessions<DemoData>({ ...config.sessions, store: choice.store }));
  return { app, choice, logged };
}

type App = Awaited<ReturnType<typeof startDemo>>["app"];

async function login(app: App, user: string): Promise<string> {
  const response = await app.request("/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user }),
  });
  expect(response.status).toBe(200);
  return response.headers.getSetCookie()[0]!.split(";")[0]!;
}

async function me(app: App, cookie: string) {
  const response = await app.request("/me", { headers: { cookie } });
  return { status: response.status, body: response.status === 200 ? ((await response.json()) as { user: string; count: number }) : null };
}

async function count(app: App, cookie: string) {
  const response = await app.request("/count", { method: "POST", headers: { cookie, "content-type": "application/json" }, body: "{}" });
  expect(response.status).toBe(200);
}

describe("demo on Postgres (DATABASE_URL)", () => {
  it("runs on a PostgreSQL server through pg, creating its table on start", async () => {
    const { app, choice } = await startDemo({ DATABASE_URL: databaseUrl });
    expect(choice.store.name).toBe("postgres");
    expect(choice.warnings).toEqual([]);
    const cookie = await login(app, "alice");
    await count(app, cookie);
    expect(await me(app, cookie)).toMatchObject({ status: 200, body: { user: "alice", count: 1 } });
    const health = await app.request("/health");
    expect(health.status).toBe(200);
    // It created its table where the URL pointed (the test's own schema), and wrote there.
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.cloakroom_sessions WHERE user_id = 'alice'`);
    await admin.end();
    expect(rows[0].n).toBe(1);
  });

  it("keeps a session across a restart on pglite:<dir>", async () => {
    const DATABASE_URL = `pglite:${join(work, "nested", "sessions")}`;
    const first = await startDemo({ DATABASE_URL });
    const cookie = await login(first.app, "bob");
    await count(first.app, cookie);
    await count(first.app, cookie);
    await first.choice.close();

    // A new process would start exactly like this: same directory, same keys.
    const second = await startDemo({ DATABASE_URL });
    expect(await me(second.app, cookie)).toMatchObject({ status: 200, body: { user: "bob", count: 2 } });
    await second.choice.close();
  });

  it("puts a Redis in front when REDIS_URL is set too, and keeps serving while that Redis is down", async () => {
    // Port 1 on loopback: nothing listens, so the cache is down from the start.
    const { app, choice, logged } = await startDemo({ DATABASE_URL: databaseUrl, REDIS_URL: "redis://:hunter2@127.0.0.1:1" });
    expect(choice.store.name).toBe("tiered(ioredis+postgres)");
    expect(choice.description).toMatch(/^tiered: Redis at 127\.0\.0\.1:1 \(REDIS_URL\) as cache, PostgreSQL at 127\.0\.0\.1:\d+\/postgres \(DATABASE_URL\) as store of record$/);
    const cookie = await login(app, "dora");
    await count(app, cookie);
    expect(await me(app, cookie)).toMatchObject({ status: 200, body: { user: "dora", count: 1 } });
    // Sessions are served, not as designed: 200 "degraded", never 503.
    const health = await app.request("/health");
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "degraded", store: { details: { cache: { ok: false } } } });
    expect(logged.some((line) => /Redis at 127\.0\.0\.1:1 \(REDIS_URL\) is unreachable .*served from the durable store/.test(line))).toBe(true);
    expect(logged.join("\n")).not.toContain("hunter2");
  });

  it("refuses a DATABASE_URL it cannot use, without echoing it", async () => {
    for (const url of ["mysql://root:hunter2@db/app", "pglite:", "not a url hunter2"]) {
      const error = await storeFromEnv({ DATABASE_URL: url }, { log: false }).catch((e: unknown) => e);
      expect(error, url).toBeInstanceOf(SessionError);
      expect((error as SessionError).message).toMatch(/^cloakroom: DATABASE_URL .*pglite:/);
      expect((error as SessionError).message).not.toContain("hunter2");
    }
  });

  it("says which database it could not reach, without the password", async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const error = await storeFromEnv({ DATABASE_URL: "postgres://app:hunter2@127.0.0.1:1/app" }, { log: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).message).toMatch(/^cloakroom: could not create the session table in PostgreSQL at 127\.0\.0\.1:1\/app \(.*ECONNREFUSED.*\); check DATABASE_URL/);
    expect((error as SessionError).message).not.toContain("hunter2");
  });
});
