/**
 * examples/bun as a user runs it: `bun examples/bun/server.ts` in a child process on a free
 * port, on a redis-server and a PostgreSQL server this file starts (never REDIS_URL's), spoken
 * to over real HTTP, then stopped by its own PID. The server imports `cloakroom`, which is the
 * built package (dist/), as an application would see it.
 *
 * Runs under `bun test` (scripts/test.mjs); vitest leaves test/bun/ alone.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKey } from "../../src/index.ts";
import { freePort, startRedisProcess, type RedisProcess } from "../support/redis-server.ts";
import { startPostgres, uniqueTable, type PostgresServer } from "../support/postgres-server.ts";
import { dropStore } from "../postgres/support.ts";
import { keysUnder } from "../support/redis-backend.ts";
import { fromPg } from "../../adapters/postgres/index.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const SERVER = "examples/bun/server.ts";
const BUILT = ["dist/index.js", "dist/adapters/memory.js", "dist/adapters/ioredis.js", "dist/adapters/postgres.js"];

interface Run {
  child: ChildProcess;
  output: string;
  exited: Promise<number | null>;
}

const runs: Run[] = [];

/** Starts the example with `env` on a free port; resolves with its URL once it says it listens. */
async function startExample(env: Record<string, string>): Promise<{ run: Run; base: string }> {
  const port = await freePort();
  // This file runs under Bun, so execPath is the bun binary.
  const child = spawn(process.execPath, [SERVER], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", PORT: String(port), SESSION_KEYS: generateKey("k1"), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const run: Run = { child, output: "", exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) };
  runs.push(run);
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (run.output += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (run.output += chunk));
  await new Promise<void>((resolve, reject) => {
    const check = () => run.output.includes("listening on") && resolve();
    child.stdout!.on("data", check);
    void run.exited.then((code) => reject(new Error(`the example exited with ${code} before listening:\n${run.output}`)));
  });
  return { run, base: `http://127.0.0.1:${port}` };
}

/** SIGTERM to the example's PID; it stops listening, closes its store and exits 0. */
async function stop(run: Run): Promise<number | null> {
  if (run.child.exitCode === null && run.child.signalCode === null) process.kill(run.child.pid!, "SIGTERM");
  return run.exited;
}

/** A tiny cookie-keeping client, as a browser would be for one site. */
function browser(base: string) {
  let cookie = "";
  return {
    get cookie() {
      return cookie;
    },
    async call(method: string, path: string, body?: unknown) {
      const headers: Record<string, string> = cookie ? { cookie } : {};
      if (body !== undefined) headers["content-type"] = "application/json";
      const response = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      for (const set of response.headers.getSetCookie()) {
        const pair = set.split(";")[0]!;
        // An expired cookie (sign-out) clears it, as a browser would.
        cookie = /max-age=0|expires=thu, 01 jan 1970/i.test(set) ? "" : pair;
      }
      const text = await response.text();
      return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
    },
  };
}

/** Signs in, counts twice, signs out: what every store must carry the same way. */
async function driveFlow(base: string): Promise<{ cookieWhileSignedIn: string }> {
  const visitor = browser(base);
  expect((await visitor.call("GET", "/me")).status).toBe(401);
  expect(await visitor.call("POST", "/login", { user: "ann" })).toEqual({ status: 200, body: { user: "ann" } });
  expect(visitor.cookie).toMatch(/^__Host-session=/);
  expect((await visitor.call("POST", "/count")).body).toEqual({ count: 1 });
  expect((await visitor.call("POST", "/count")).body).toEqual({ count: 2 });
  expect(await visitor.call("GET", "/me")).toEqual({ status: 200, body: { user: "ann", count: 2 } });
  const cookieWhileSignedIn = visitor.cookie;
  expect((await visitor.call("POST", "/logout")).status).toBe(204);
  expect(visitor.cookie).toBe("");
  expect((await visitor.call("GET", "/me")).status).toBe(401);
  // The old cookie is worthless: its session is gone from the store, not only from this browser.
  const replay = await fetch(`${base}/me`, { headers: { cookie: cookieWhileSignedIn } });
  expect(replay.status).toBe(401);
  return { cookieWhileSignedIn };
}

beforeAll(() => {
  // scripts/test.mjs builds first; this keeps the file runnable on its own.
  if (BUILT.every((file) => existsSync(join(root, file)))) return;
  const build = spawnSync(join(root, "node_modules/.bin/tsup"), ["--silent", "--no-dts"], { cwd: root, stdio: "inherit" });
  expect(build.status).toBe(0);
});

afterAll(async () => {
  for (const run of runs) await stop(run);
});

describe("examples/bun on Redis (ioredis)", () => {
  let redis: RedisProcess;
  let direct: Redis;
  const keyPrefix = `cloakroom-bun-example-${Date.now().toString(36)}:`;

  beforeAll(async () => {
    redis = await startRedisProcess();
    direct = new Redis(redis.url);
  });

  afterAll(async () => {
    direct?.disconnect();
    await redis?.stop();
  });

  it("signs in, counts, signs out over HTTP, with the session in Redis, and stops cleanly on SIGTERM", async () => {
    const { run, base } = await startExample({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: keyPrefix });
    expect(run.output).toContain("(redis store)");
    const visitor = browser(base);
    await visitor.call("POST", "/login", { user: "bea" });
    await visitor.call("POST", "/count");
    // What Redis holds, read around the example: a session string for bea, with an expiry.
    const sessionKeys = (await keysUnder([direct], keyPrefix)).filter((key) => key.includes("}:s:"));
    expect(sessionKeys).toHaveLength(1);
    expect((await direct.get(sessionKeys[0]!))?.split("\n").at(-1)).toBe("bea");
    expect(await direct.pttl(sessionKeys[0]!)).toBeGreaterThan(0);

    await driveFlow(base);
    expect(await stop(run)).toBe(0);
  });
});

describe("examples/bun on PostgreSQL (pg)", () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  const table = uniqueTable("cloakroom_bun_example");

  beforeAll(async () => {
    server = await startPostgres();
    pool = new pg.Pool({ connectionString: server.url, max: 2 });
    pool.on("error", () => {});
  });

  afterAll(async () => {
    if (pool) {
      await dropStore(fromPg(pool), table);
      await pool.end();
    }
    await server?.stop();
  });

  it("migrates its table on start, keeps the session in it, and drives the same flow", async () => {
    const { run, base } = await startExample({ DATABASE_URL: server.url, SESSION_TABLE: table });
    expect(run.output).toContain("(postgres store)");
    const visitor = browser(base);
    await visitor.call("POST", "/login", { user: "cy" });
    const { rows } = await pool.query(`SELECT user_id FROM ${table}`);
    expect(rows).toEqual([{ user_id: "cy" }]);

    await driveFlow(base);
    expect(await stop(run)).toBe(0);
  });
});

describe("examples/bun in memory", () => {
  it("runs with no store variable set, and refuses a cross-site POST", async () => {
    const { run, base } = await startExample({});
    expect(run.output).toContain("(memory store)");
    await driveFlow(base);
    const refused = await fetch(`${base}/login`, {
      method: "POST",
      headers: { origin: "https://evil.example", "content-type": "application/json" },
      body: JSON.stringify({ user: "mallory" }),
    });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("set-cookie")).toBeNull();
    expect(await stop(run)).toBe(0);
  });
});
