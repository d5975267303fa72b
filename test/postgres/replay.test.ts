/**
 * The Postgres replay backend on a PostgreSQL server started here (through `pg`) and on PGlite,
 * and cachedReplay with a real redis-server in front of it: the replay conformance suite on
 * each, then numbering from several processes, the schema, and the cache going away (and
 * coming back) under a running log with no error reaching the client.
 */
import { PGlite } from "@electric-sql/pglite";
import { Redis } from "ioredis";
import pg from "pg";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisReplay } from "../../adapters/ioredis/index.ts";
import { fromPg, fromPGlite, fromPostgresJs, postgresReplay, replaySchemaSql, type PostgresReplay, type QueryFunction } from "../../adapters/postgres/index.ts";
import { replayTables } from "../../adapters/postgres/replay-schema.ts";
import { cachedReplay, createReplayLog, type CachedReplay } from "../../src/replay/index.ts";
import { replayConformance } from "cloakroom/testing";
import { startPostgres, uniqueTable, type PostgresServer } from "../support/postgres-server.ts";
import { startRedisProcess, uniqueKeyPrefix, type RedisProcess } from "../support/redis-server.ts";
import { appendFromProcesses } from "../support/replay-processes.ts";
import { storeFromEnv, type EnvStore } from "../../env/index.ts";
import { createSessions, generateKey } from "../../src/index.ts";
import { createReconnectApp, type RoomEvent } from "../../examples/reconnect/app.ts";
import { replayBackendFor } from "../../examples/reconnect/replay-backend.ts";

const table = uniqueTable("cloakroom_replay");
let server: PostgresServer;
let redis: RedisProcess;
let pool: pg.Pool;
let lite: PGlite;
let cacheClient: Redis;
let sql: postgres.Sql;
const extraPools: pg.Pool[] = [];

beforeAll(async () => {
  [server, redis, lite] = await Promise.all([startPostgres(), startRedisProcess(), PGlite.create()]);
  pool = new pg.Pool({ connectionString: server.url, max: 10 });
  pool.on("error", () => {});
  sql = postgres(server.url, { max: 4, onnotice: () => {} });
  cacheClient = new Redis(redis.url, { commandTimeout: 500, maxRetriesPerRequest: 1 });
  cacheClient.on("error", () => {});
  await postgresReplay({ query: fromPg(pool), table }).migrate();
  await postgresReplay({ query: fromPGlite(lite), table: "replay" }).migrate();
});

afterAll(async () => {
  cacheClient?.disconnect();
  await sql?.end();
  await Promise.all(extraPools.map((extra) => extra.end()));
  if (pool) {
    const t = replayTables(table);
    await pool.query(`DROP TABLE IF EXISTS ${t.events}, ${t.channels}, ${t.members}, ${t.tokens}`);
    await pool.end();
  }
  await lite?.close();
  await Promise.all([server?.stop(), redis?.stop()]);
});

const storedSeqs = (query: () => QueryFunction, events: string) => async (_backend: unknown, channel: string) =>
  (await query()(`SELECT seq FROM ${events} WHERE channel = $1 ORDER BY seq`, [channel])).rows.map((row) => Number(row.seq));

replayConformance<PostgresReplay>("postgres via pg", {
  create: () => postgresReplay({ query: fromPg(pool), table }),
  async clients(_backend, count) {
    return Array.from({ length: count }, () => {
      const own = new pg.Pool({ connectionString: server.url, max: 4 });
      extraPools.push(own);
      return postgresReplay({ query: fromPg(own), table });
    });
  },
  direct: { storedSeqs: storedSeqs(() => fromPg(pool), replayTables(table).events) },
});

replayConformance<PostgresReplay>("postgres via postgres.js", {
  create: () => postgresReplay({ query: fromPostgresJs(sql), table }),
  direct: { storedSeqs: storedSeqs(() => fromPg(pool), replayTables(table).events) },
});

replayConformance<PostgresReplay>("postgres via PGlite", {
  create: () => postgresReplay({ query: fromPGlite(lite), table: "replay" }),
  direct: { storedSeqs: storedSeqs(() => fromPGlite(lite), replayTables("replay").events) },
});

replayConformance<CachedReplay>("cached: Redis (ioredis) in front of postgres via pg", {
  create: () => cachedReplay({ cache: redisReplay({ client: cacheClient, keyPrefix: uniqueKeyPrefix("cached") }), durable: postgresReplay({ query: fromPg(pool), table }), size: 5 }),
  direct: { storedSeqs: storedSeqs(() => fromPg(pool), replayTables(table).events) },
});

describe("postgres replay backend", () => {
  it("numbers appends from several processes at once without a gap or a duplicate", async () => {
    const channel = `race-${crypto.randomUUID()}`;
    const seqs = await appendFromProcesses({ kind: "postgres", url: server.url, namespace: table, channel, processes: 3, each: 60 });
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 180 }, (_, i) => i + 1));
    const read = await createReplayLog({ backend: postgresReplay({ query: fromPg(pool), table }) }).since(channel, 0, { limit: 1000 });
    expect(read.gap === false && read.events.map((e) => e.seq)).toEqual(Array.from({ length: 180 }, (_, i) => i + 1));
  });

  it("sends concurrent appends to one channel together, numbered in the order they were made", async () => {
    const statements: string[] = [];
    const query: QueryFunction = (text, params) => (statements.push(text), fromPg(pool)(text, params));
    const log = createReplayLog({ backend: postgresReplay({ query, table }), pruneEvery: 1_000_000 });
    const channel = `together-${crypto.randomUUID()}`;
    const seqs = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(channel, i).then((r) => r.seq)));
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(statements.length).toBeLessThan(10);
    const read = await log.since(channel, 0);
    expect(read.gap === false && read.events.map((e) => [e.seq, e.event])).toEqual(Array.from({ length: 50 }, (_, i) => [i + 1, i]));
  });

  it("migrates idempotently with (channel, seq) as the events' primary key, and says what to do when not migrated", async () => {
    await postgresReplay({ query: fromPg(pool), table }).migrate();
    const { rows } = await pool.query(
      `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
      [replayTables(table).events],
    );
    expect(rows.map((row) => row.attname)).toEqual(["channel", "seq"]);
    expect(replaySchemaSql(table)).toContain("PRIMARY KEY (channel, seq)");
    const missing = createReplayLog({ backend: postgresReplay({ query: fromPg(pool), table: uniqueTable("absent") }) });
    await expect(missing.append("room", 1)).rejects.toThrow(/call backend.migrate\(\) once at start-up/);
    expect(() => postgresReplay({ query: fromPg(pool), table: "bad name" })).toThrow(/postgresReplay table must be a table name/);
  });

  it("sweeps expired tokens and idle channels as part of pruning, with no cron job", async () => {
    const backend = postgresReplay({ query: fromPg(pool), table });
    const log = createReplayLog({ backend, retention: 1 });
    const t = replayTables(table);
    const idle = `idle-${crypto.randomUUID()}`;
    await log.append(idle, "x");
    await backend.saveToken(`swept-${crypto.randomUUID()}`, Date.now() - 1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await log.prune(`other-${crypto.randomUUID()}`);
    const left = await pool.query(`SELECT (SELECT count(*) FROM ${t.channels} WHERE channel = $1) AS channels, (SELECT count(*) FROM ${t.events} WHERE channel = $1) AS events, (SELECT count(*) FROM ${t.tokens} WHERE expires_at < $2) AS tokens`, [idle, Date.now()]);
    expect(left.rows[0]).toEqual({ channels: "0", events: "0", tokens: "0" });
  });
});

describe("cachedReplay: Redis in front of Postgres", () => {
  it("keeps serving with no client error while the cache is down, and nothing is skipped after it comes back", async () => {
    const own = await startRedisProcess();
    const cache = new Redis(own.url, { commandTimeout: 300, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 50 });
    cache.on("error", () => {});
    try {
      const backend = cachedReplay({ cache: redisReplay({ client: cache, keyPrefix: "outage:" }), durable: postgresReplay({ query: fromPg(pool), table }), breaker: { openMs: 100 } });
      const log = createReplayLog({ backend });
      const channel = `outage-${crypto.randomUUID()}`;
      for (let i = 1; i <= 3; i++) await log.append(channel, i);
      expect(await log.since(channel, 0)).toMatchObject({ gap: false, head: 3 });

      own.signal("SIGKILL");
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (let i = 4; i <= 6; i++) expect(await log.append(channel, i)).toEqual({ seq: i });
      const during = await log.since(channel, 2);
      expect(during.gap === false && during.events.map((e) => e.event)).toEqual([3, 4, 5, 6]);
      expect(backend.cacheState).toBe("open");
    } finally {
      cache.disconnect();
      await own.stop();
    }
  });

  it("reads a window that missed appends (another process's failed copy) late, never with a skip", async () => {
    const keyPrefix = uniqueKeyPrefix("lag");
    const durable = postgresReplay({ query: fromPg(pool), table });
    const a = createReplayLog({ backend: cachedReplay({ cache: redisReplay({ client: cacheClient, keyPrefix }), durable }) });
    const channel = `lag-${crypto.randomUUID()}`;
    await a.append(channel, 1);
    // Another process appends 2 and 3 but could not copy them into the window.
    await durable.append(channel, "2", Date.now(), { retentionMs: 86_400_000, maxEvents: 10_000, batch: 1000, memberTtlMs: 30_000 });
    await durable.append(channel, "3", Date.now(), { retentionMs: 86_400_000, maxEvents: 10_000, batch: 1000, memberTtlMs: 30_000 });
    const lagging = await a.since(channel, 0);
    expect(lagging.gap === false && lagging.events.map((e) => e.seq)).toEqual([1]);
    // The next append repairs the window: it starts again above what it missed, and 2 and 3 come from Postgres.
    await a.append(channel, 4);
    const caught = await a.since(channel, 1);
    expect(caught.gap === false && caught.events.map((e) => e.event)).toEqual([2, 3, 4]);
  });
});

describe("examples/reconnect on Redis in front of Postgres, through storeFromEnv's variables", () => {
  /** The first `count` SSE messages of a streamed response, then the stream is cancelled. */
  async function messages(response: Response, count: number): Promise<Array<{ event: string; data: any }>> {
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const found: Array<{ event: string; data: any }> = [];
    let buffer = "";
    while (found.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        found.push({ event: /^event: (.*)$/m.exec(block)![1]!, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) });
      }
    }
    await reader.cancel();
    return found;
  }

  it("keeps no socket state: a tab resumes on another instance with its token and gets what it missed", async () => {
    const env = { REDIS_URL: redis.url, DATABASE_URL: server.url, REDIS_KEY_PREFIX: uniqueKeyPrefix("example") };
    const keys = generateKey("example");
    const channel = `room-${crypto.randomUUID()}`;
    const opened: EnvStore[] = [];
    const instance = async () => {
      const choice = await storeFromEnv(env, { log: false });
      opened.push(choice);
      const sessions = createSessions({ store: choice.store, keys });
      const { backend, description } = await replayBackendFor(choice.clients, env.REDIS_KEY_PREFIX);
      expect(description).toBe("redis in front of postgres");
      return createReconnectApp(sessions, createReplayLog<RoomEvent>({ backend, sessions }), { channel, pollMs: 50 });
    };
    try {
      const [a, b] = [await instance(), await instance()];
      const post = (app: typeof a, path: string, body: unknown, cookie = "") =>
        app.request(path, { method: "POST", headers: { "content-type": "application/json", cookie }, body: JSON.stringify(body) });
      const cookie = (await post(a, "/login", { user: "ann" })).headers.get("set-cookie")!.split(";")[0]!;
      const first = await messages(await post(a, "/stream", { member: "tab-0000001" }, cookie), 1);
      expect(first[0]).toMatchObject({ event: "hello", data: { from: 0 } });
      await post(a, "/events", { text: "one" }, cookie);
      const { token } = await (await post(a, "/ack", { member: "tab-0000001", seq: 1 }, cookie)).json();
      await post(a, "/events", { text: "two" }, cookie);
      await post(b, "/events", { text: "three" }, cookie);
      // The tab comes back on the other instance: nothing of the first connection is needed.
      const resumed = await messages(await post(b, "/stream", { member: "tab-0000001", token }, cookie), 2);
      expect(resumed[0]).toMatchObject({ event: "hello", data: { from: 1 } });
      expect(resumed[1]!.data.events.map((e: { seq: number; event: RoomEvent }) => [e.seq, e.event.text])).toEqual([[2, "two"], [3, "three"]]);
      const again = await post(a, "/stream", { member: "tab-0000001", token }, cookie);
      expect([again.status, await again.json()]).toEqual([409, { reason: "replayed" }]);
    } finally {
      await Promise.all(opened.map((choice) => choice.close()));
    }
  });
});
