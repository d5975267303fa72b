/**
 * The store-taking commands as processes, on servers this file starts (one redis-server, one
 * PostgreSQL, the Upstash REST bridge): health's report and exit codes, cleanup's batches,
 * migrate's count, copy, resume and re-run; a bad URL and an unreachable server (one line, an
 * exit code); passwords masked; the environment's store when no URL is given.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ioredisStore } from "../../adapters/ioredis/index.ts";
import { fromPg, postgresStore } from "../../adapters/postgres/index.ts";
import { testHandle, testRecord } from "cloakroom/testing";
import { dropStore } from "../postgres/support.ts";
import { startPostgres, uniqueTable, type PostgresServer } from "../support/postgres-server.ts";
import { freePort, startRedisProcess, uniqueKeyPrefix, type RedisProcess } from "../support/redis-server.ts";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.ts";
import { buildCli, CLI, cloakroom } from "./cli-process.ts";

let redis: RedisProcess;
let postgres: PostgresServer;
let bridge: UpstashBridge;
let client: Redis;
let pool: pg.Pool;
let work: string;
/** A port nothing listens on: an unreachable server. */
let deadPort: number;

beforeAll(async () => {
  [redis, postgres] = await Promise.all([startRedisProcess(), startPostgres(), buildCli()]);
  bridge = await startUpstashBridge({ redisPort: redis.port });
  client = new Redis(redis.url);
  pool = new pg.Pool({ connectionString: postgres.url, max: 4 });
  pool.on("error", () => {});
  work = mkdtempSync(join(tmpdir(), "cloakroom-cli-"));
  deadPort = await freePort();
});

afterAll(async () => {
  await dropStore(fromPg(pool), "cloakroom_sessions").catch(() => {});
  await pool?.end();
  client?.disconnect();
  await bridge?.close();
  await Promise.all([redis?.stop(), postgres?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The harness's URL with a password the server does not check (trust auth): it must never be printed. */
const PASSWORD = "pw-9f3a2c7e1b";
const pgUrl = () => postgres.url.replace("postgres@", `postgres:${PASSWORD}@`);
const oneLine = (text: string) => text.trim().split("\n").length === 1;

describe("npx cloakroom health", () => {
  it("prints the report and exits 0 for a healthy store, from --store or from the environment", async () => {
    const run = await cloakroom("health", "--store", redis.url);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ok: Redis at 127\.0\.0\.1:\d+ \(REDIS_URL\) \(ioredis, [\d.]+ ms\)\n/);
    expect(run.stdout).toContain("  maxmemoryPolicy: noeviction");
    const fromEnv = await cloakroom(["health", "--json"], { REDIS_URL: redis.url });
    expect(fromEnv.code).toBe(0);
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({ status: "ok", store: { name: "ioredis", ok: true, details: { deployment: "standalone" } } });
    const upstash = await cloakroom("health", "--store", bridge.url.replace("http://", `http://:${bridge.token}@`));
    expect(upstash).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ok: Upstash at 127\.0\.0\.1:\d+/) });
    expect(upstash.stdout + upstash.stderr).not.toContain(bridge.token);
    const postgresRun = await cloakroom("health", "--store", pgUrl());
    expect(postgresRun).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ok: PostgreSQL at 127\.0\.0\.1:\d+\/postgres/) });
    expect(postgresRun.stdout + postgresRun.stderr).not.toContain(PASSWORD);
  });

  it("exits 1 when degraded: an eviction policy that can drop sessions", async () => {
    await client.config("SET", "maxmemory-policy", "allkeys-lru");
    try {
      const run = await cloakroom("health", "--store", redis.url);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/^degraded: /);
      expect(run.stdout).toContain("evictionSafe: false");
    } finally {
      await client.config("SET", "maxmemory-policy", "noeviction");
    }
  });

  it("exits 2 with one line when the server cannot be reached, the password masked", async () => {
    const [redisDown, postgresDown, clusterDown] = await Promise.all([
      cloakroom("health", "--store", `redis://app:${PASSWORD}@127.0.0.1:${deadPort}`),
      cloakroom("health", "--store", `postgres://app:${PASSWORD}@127.0.0.1:${deadPort}/db`),
      // A Cluster that never becomes ready: ioredis queues its commands with no bound of their own.
      cloakroom("health", "--store", `redis+cluster://app:p@ss${PASSWORD}@127.0.0.1:${deadPort},127.0.0.1:${deadPort}`),
    ]);
    expect(clusterDown.stdout + clusterDown.stderr).not.toContain(`p@ss${PASSWORD}`);
    for (const run of [redisDown, postgresDown, clusterDown]) {
      expect(run.code).toBe(2);
      expect(run.stdout).toMatch(/^down: /);
      expect(oneLine(run.stderr)).toBe(true);
      expect(run.stderr).toMatch(/^cloakroom health: .*:\*\*\*@127\.0\.0\.1:\d+.* is down: /);
      expect(run.stdout + run.stderr).not.toContain(PASSWORD);
    }
  });

  it("exits 64 with one line for a URL it cannot use", async () => {
    for (const url of ["redis//localhost", "mysql://u:p@host/db", "redis+sentinel://127.0.0.1:26379", "https://example.upstash.io"]) {
      const run = await cloakroom("health", "--store", url);
      expect(run.code, url).toBe(64);
      expect(oneLine(run.stderr), run.stderr).toBe(true);
      expect(run.stderr).toMatch(/^cloakroom health: --store /);
    }
  });
});

describe("npx cloakroom cleanup", () => {
  it("deletes expired sessions in batches with progress, keeps live ones, and reads DATABASE_URL", async () => {
    const store = postgresStore({ query: fromPg(pool) });
    await store.migrate();
    const now = Date.now();
    await pool.query(
      `INSERT INTO cloakroom_sessions (handle, user_id, data, version, created_at, last_seen_at, expires_at, absolute_expires_at, idle_timeout)
       SELECT 'xprd.' || lpad(i::text, 43, '0'), NULL, '{}'::jsonb, 1, $1::bigint, $1::bigint, $1::bigint + 1000, $1::bigint + 1000, 1000
       FROM generate_series(1, 2500) AS i`,
      [now - 3_600_000],
    );
    const live = testHandle();
    await store.write(live, testRecord(), 0);
    const run = await cloakroom(["cleanup", "--batch-size", "1000"], { DATABASE_URL: pgUrl() });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^deleted 2500 expired sessions and 0 counters in \d+ batches \(\d+\/s\)\n/);
    expect(run.stdout).toMatch(/^done: 2500 expired sessions and 0 expired counters deleted from cloakroom_sessions \(PostgreSQL at 127\.0\.0\.1:\d+\/postgres\)\.\n$/);
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
    expect(await store.read(live)).not.toBeNull();
    expect((await pool.query("SELECT count(*)::int AS n FROM cloakroom_sessions WHERE handle LIKE 'xprd.%'")).rows[0].n).toBe(0);
  });

  it("fails with one line for a missing, bad or unreachable database", async () => {
    expect(await cloakroom("cleanup")).toMatchObject({ code: 64, stderr: expect.stringContaining("pass --database-url") });
    const bad = await cloakroom("cleanup", "--database-url", "mysql://db");
    expect(bad).toMatchObject({ code: 64, stderr: expect.stringMatching(/^cloakroom cleanup: --database-url has the scheme "mysql:"/) });
    const down = await cloakroom("cleanup", "--database-url", `postgres://app:${PASSWORD}@127.0.0.1:${deadPort}/db`);
    expect(down.code).toBe(2);
    expect(oneLine(down.stderr)).toBe(true);
    expect(down.stderr).toMatch(/^cloakroom cleanup: .*check/i);
    expect(down.stderr).not.toContain(PASSWORD);
  });
});

describe("npx cloakroom migrate", () => {
  it("counts on a dry run, copies in resumable runs, and copies nothing twice", async () => {
    const prefix = uniqueKeyPrefix("cli-move");
    const source = ioredisStore({ client, keyPrefix: prefix });
    const written = new Map<string, ReturnType<typeof testRecord>>();
    for (let i = 0; i < 60; i++) {
      const userId = i % 2 ? `mover-${i}` : null;
      const handle = testHandle(userId);
      const record = testRecord({ userId, version: 1 + (i % 4), data: { i } });
      await source.write(handle, record, 0);
      written.set(handle, record);
    }
    const table = uniqueTable("cloakroom_cli_move");
    // The table through the search path: a schema of its own, as a deployment may keep it.
    await pool.query(`CREATE SCHEMA ${table}`);
    const target = `${pgUrl()}?options=${encodeURIComponent(`-c search_path=${table}`)}`;
    const from = `${redis.url}/0?prefix=${encodeURIComponent(prefix)}`;
    const state = join(work, "move.json");
    const args = ["migrate", "--from", from, "--to", target, "--state", state, "--page-size", "10"];

    const dry = await cloakroom("migrate", "--from", from, "--to", target, "--dry-run");
    expect(dry).toMatchObject({ code: 0, stdout: expect.stringMatching(/^60 live sessions to copy from redis:\/\/.* \(dry run: nothing written\)\.\n$/) });
    expect((await pool.query(`SELECT to_regclass('${table}.cloakroom_sessions') AS t`)).rows[0].t).toBeNull();

    const first = await cloakroom(...args, "--max-pages", "2");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^stopped: \d+ copied, 0 already in the new store, 0 signed out or expired meanwhile, \d+ of about 60 looked at\. Run the same command again/);
    const saved = JSON.parse(readFileSync(state, "utf8"));
    expect(saved).toMatchObject({ done: false, total: 60 });
    expect(saved.cursor).toEqual(expect.any(String));
    expect(readFileSync(state, "utf8")).not.toContain(PASSWORD);
    // Plain progress lines off a terminal.
    expect(first.stderr).toMatch(/copying \d+\/60 \d+%, \d+\/s, [\d.]+ (s|min \d+ s) left, \d+ copied, 0 there already/);

    const second = await cloakroom(...args);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain(`resuming from ${state}: ${saved.copied} copied so far`);
    expect(second.stdout).toMatch(/^done: 60 copied, 0 already in the new store, 0 signed out or expired meanwhile\. Step 3/);

    const copied = postgresStore({ query: fromPg(pool), table: `${table}.cloakroom_sessions` });
    for (const [handle, record] of written) expect((await copied.read(handle))?.record).toEqual(record);

    const third = await cloakroom(...args);
    expect(third).toMatchObject({ code: 0, stdout: expect.stringMatching(/^already complete: 60 sessions copied .* Nothing to copy/) });
    // Scanned again from the start, on a terminal: a bar, and nothing copied a second time.
    const again = await onTerminal([...args, "--restart"]);
    expect(again).toMatch(/\r\x1b\[2Kcopying \[#+-*\] 60\/60 100%/);
    expect(again).toContain("done: 0 copied, 60 already in the new store");
    expect(again).not.toContain(PASSWORD);
  });

  it("names a store whose URL carries ?password= with the password masked, on the screen and in its state file", async () => {
    await postgresStore({ query: fromPg(pool) }).migrate();
    const from = `${postgres.url}?password=${PASSWORD}`;
    const dry = await cloakroom("migrate", "--from", from, "--to", "memory:", "--dry-run");
    expect(dry).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+ live sessions to copy from postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres\?password=\*\*\* to memory: \(dry run/) });
    const state = join(work, "password.json");
    const run = await cloakroom("migrate", "--from", from, "--to", "memory:", "--state", state);
    expect(run.code).toBe(0);
    expect(JSON.parse(readFileSync(state, "utf8")).from).toMatch(/\?password=\*\*\*$/);
    for (const output of [dry.stdout, dry.stderr, run.stdout, run.stderr, readFileSync(state, "utf8")]) expect(output).not.toContain(PASSWORD);
  });

  it("fails with one line and an exit code for bad input and unreachable stores", async () => {
    const [missing, bad, same, down] = await Promise.all([
      cloakroom("migrate"),
      cloakroom("migrate", "--from", "ftp://old", "--to", "memory:"),
      cloakroom("migrate", "--from", redis.url, "--to", redis.url),
      cloakroom("migrate", "--from", `redis://u:${PASSWORD}@127.0.0.1:${deadPort}`, "--to", "memory:"),
    ]);
    expect(missing).toMatchObject({ code: 64, stderr: expect.stringContaining("needs --from <url> and --to <url>") });
    expect(bad).toMatchObject({ code: 64, stderr: expect.stringMatching(/^cloakroom migrate: --from has the scheme ftp:/) });
    expect(same).toMatchObject({ code: 64, stderr: expect.stringContaining("name the same store") });
    expect(down.code).toBe(2);
    expect(down.stderr.trim().split("\n").at(-1)).toMatch(/^cloakroom migrate: the ioredis store could not run SCAN .*Check that Redis is reachable/);
    expect(down.stderr).not.toContain(PASSWORD);
    for (const run of [missing, bad, same]) expect(oneLine(run.stderr)).toBe(true);
  });
});

/** Runs the CLI under a pseudo-terminal (util-linux `script`), so stderr is a TTY; returns what it printed. */
async function onTerminal(args: string[]): Promise<string> {
  const quoted = [process.execPath, CLI, ...args].map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(" ");
  const { stdout } = await promisify(execFile)("script", ["-qec", quoted, "/dev/null"], { timeout: 60_000 });
  return stdout;
}
