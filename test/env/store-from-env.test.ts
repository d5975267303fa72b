/**
 * storeFromEnv (cloakroom/env) on Node, against real servers started here: a standalone Redis
 * with a password-protected ACL user, the Upstash REST bridge in front of it, and a
 * PostgreSQL server. Each branch gives the store it should, sessions work through it, and the
 * one log line says where they live without a password or a token. Then the Worker-style env
 * object (a plain object, runtime "edge"), and the mistakes it refuses.
 *
 * Elsewhere, through the demo (which calls storeFromEnv): PGlite and the Postgres error paths
 * in test/postgres/demo.test.ts, Sentinel in test/redis/sentinel.test.ts, Cluster in
 * test/redis/cluster.test.ts; inside workerd in test/env/workerd.test.ts.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSessions, generateKey, SessionError, type Sessions, type TieredStore } from "../../src/index.ts";
import { storeFromEnv, type EnvStore, type StoreFromEnvOptions } from "../../env/index.ts";
import { loadDriver } from "../../env/load.ts";
import { startPostgres, uniqueTable, type PostgresServer } from "../support/postgres-server.ts";
import { harnessClient, sleep, startStandaloneRedis, uniqueKeyPrefix, waitFor, type RedisProcess } from "../support/redis-server.ts";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.ts";
import { keysUnder } from "../support/redis-backend.ts";
import { testHandle } from "cloakroom/testing";
import { redisReplay } from "../../adapters/ioredis/index.ts";
import { postgresReplay } from "../../adapters/postgres/index.ts";
import { cachedReplay, createReplayLog } from "../../src/replay/index.ts";

const REDIS_PASSWORD = "redis-pw-7f3a9c";
const PG_PASSWORD = "pg-pw-41be02";

let redis: RedisProcess;
let bridge: UpstashBridge;
let postgres: PostgresServer;
/** The store's tables go to a schema of this test's own, dropped at the end. */
const schema = uniqueTable("cloakroom_env");
let databaseUrl: string;
const opened: EnvStore[] = [];

beforeAll(async () => {
  // The default user stays open for the harness's PING; sessions go through "app", with a password.
  redis = await startStandaloneRedis({ args: () => ["--user", "app", "on", `>${REDIS_PASSWORD}`, "~*", "&*", "+@all"] });
  bridge = await startUpstashBridge({ redisPort: redis.port });
  postgres = await startPostgres();
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(postgres.url);
  // The harness's server trusts loopback, so a password in the URL is accepted and ignored:
  // it is there to prove that it never reaches a log line.
  if (!postgres.external) url.password = PG_PASSWORD;
  url.searchParams.set("options", `-c search_path=${schema}`);
  databaseUrl = url.toString();
}, 60_000);

afterAll(async () => {
  for (const choice of opened) await choice.close().catch(() => {});
  if (postgres) {
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
  await postgres?.stop();
  await bridge?.close();
  await redis?.stop();
});

const redisUrl = () => `redis://app:${REDIS_PASSWORD}@127.0.0.1:${redis.port}`;
const upstashEnv = () => ({ UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token, UPSTASH_DISABLE_TELEMETRY: "1" });
const secrets = () => [REDIS_PASSWORD, PG_PASSWORD, bridge.token];

interface Logged {
  line: string;
  level: "info" | "warn";
}

async function open(env: Record<string, unknown>, options: StoreFromEnvOptions = {}) {
  const logged: Logged[] = [];
  const choice = await storeFromEnv(env, { log: (line, level) => logged.push({ line, level }), ...options });
  opened.push(choice);
  return { choice, logged };
}

/** Signs in, changes the session, and reads it back through a second manager on the same store. */
async function roundTrip(sessions: Sessions, other: Sessions, user: string): Promise<void> {
  const session = await sessions.read(null);
  session.userId = user;
  session.set("visits", 2);
  const cookie = (await sessions.commit(session))!.split(";")[0]!;
  const again = await other.read(cookie);
  expect(again.userId).toBe(user);
  expect(again.get("visits")).toBe(2);
}

async function works(choice: EnvStore, user: string): Promise<void> {
  const keys = generateKey("env");
  await roundTrip(createSessions({ store: choice.store, keys }), createSessions({ store: choice.store, keys }), user);
}

function expectNoSecret(texts: string[]): void {
  for (const text of texts) for (const secret of secrets()) expect(text).not.toContain(secret);
}

async function configError(env: Record<string, unknown>, options: StoreFromEnvOptions = {}): Promise<string> {
  const error = await storeFromEnv(env, { log: false, ...options }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SessionError);
  expect((error as SessionError).code).toBe("ERR_SESSION_CONFIG");
  return (error as Error).message;
}

describe("storeFromEnv: one store per environment", () => {
  it("nothing set: memory, one quiet line", async () => {
    const { choice, logged } = await open({});
    expect(choice.store.name).toBe("memory");
    expect(choice.warnings).toEqual([]);
    expect(logged).toEqual([{ level: "info", line: "cloakroom: sessions in memory (this process only: lost on restart, not shared between instances)" }]);
    await works(choice, "mia");
  });

  it("nothing set in production: memory, with one loud warning line that says what to set", async () => {
    const { choice, logged } = await open({ NODE_ENV: "production" });
    expect(choice.store.name).toBe("memory");
    expect(logged).toHaveLength(1);
    expect(logged[0]!.level).toBe("warn");
    expect(logged[0]!.line).toMatch(/^cloakroom: sessions in memory .*WARNING: NODE_ENV is production but no session store is configured/);
    expect(logged[0]!.line).toMatch(/every restart signs everyone out/);
    expect(logged[0]!.line).toMatch(/REDIS_URL .*DATABASE_URL/);
    expect(logged[0]!.line).not.toContain("\n");
  });

  it("UPSTASH_REDIS_REST_URL + _TOKEN: Upstash, named by host, never by token", async () => {
    const { choice, logged } = await open(upstashEnv());
    expect(choice.store.name).toBe("upstash");
    expect(choice.description).toBe(`Upstash at ${new URL(bridge.url).host} (UPSTASH_REDIS_REST_URL)`);
    expect(logged).toEqual([{ level: "info", line: `cloakroom: sessions in ${choice.description}` }]);
    const before = bridge.requests.length;
    await works(choice, "uma");
    expect(bridge.requests.length).toBeGreaterThan(before);
  });

  it("Upstash is preferred over REDIS_URL, and the line says REDIS_URL was ignored", async () => {
    const { choice, logged } = await open({ ...upstashEnv(), REDIS_URL: redisUrl() });
    expect(choice.store.name).toBe("upstash");
    expect(logged).toHaveLength(1);
    expect(logged[0]!.level).toBe("warn");
    expect(logged[0]!.line).toMatch(/REDIS_URL ignored: UPSTASH_REDIS_REST_URL is set too/);
    expectNoSecret(logged.map((l) => l.line));
  });

  it("REDIS_URL: ioredis, with the URL's user and password, and neither in the line", async () => {
    const { choice, logged } = await open({ REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: uniqueKeyPrefix("env") });
    expect(choice.store.name).toBe("ioredis");
    expect(choice.description).toBe(`Redis at 127.0.0.1:${redis.port} (REDIS_URL)`);
    await works(choice, "rita");
    expect(logged).toEqual([{ level: "info", line: `cloakroom: sessions in ${choice.description}` }]);
    expectNoSecret(logged.map((l) => l.line));
  });

  it("REDIS_URL that cannot be reached: one line per outage, without the password", async () => {
    const { logged } = await open({ REDIS_URL: `redis://app:${REDIS_PASSWORD}@127.0.0.1:1` });
    // The client retries every 50-500 ms; give it a few failed reconnects to report.
    await waitFor("the outage line", async () => logged.some((l) => /unreachable/.test(l.line)));
    await sleep(700);
    const outages = logged.filter((l) => /unreachable/.test(l.line));
    expect(outages).toHaveLength(1);
    expect(outages[0]).toMatchObject({ level: "warn" });
    expect(outages[0]!.line).toMatch(/^cloakroom: Redis at 127\.0\.0\.1:1 \(REDIS_URL\) is unreachable \(.*ECONNREFUSED.*\); session requests fail with ERR_SESSION_STORE \(503\)/);
    expectNoSecret(logged.map((l) => l.line));
  });

  it("DATABASE_URL=postgres://: Postgres through pg, table created, no password in the line", async () => {
    const { choice, logged } = await open({ DATABASE_URL: databaseUrl });
    expect(choice.store.name).toBe("postgres");
    expect(choice.description).toBe(`PostgreSQL at ${new URL(postgres.url).host}/postgres (DATABASE_URL)`);
    await works(choice, "pia");
    expect(logged).toEqual([{ level: "info", line: `cloakroom: sessions in ${choice.description}` }]);
    expectNoSecret(logged.map((l) => l.line));
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.cloakroom_sessions WHERE user_id = 'pia'`);
    await admin.end();
    expect(rows[0].n).toBe(1);
  });

  it("Postgres alone runs behind a time budget and a breaker, which guard: false turns off", async () => {
    const { choice } = await open({ DATABASE_URL: databaseUrl }, { guard: { timeoutMs: 200, breaker: false } });
    await works(choice, "gus");
    // A table another session holds locked: the read waits on it, the request does not.
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query("BEGIN");
    await admin.query(`LOCK TABLE ${schema}.cloakroom_sessions IN ACCESS EXCLUSIVE MODE`);
    try {
      await expect(choice.store.read(testHandle())).rejects.toMatchObject({ code: "ERR_SESSION_STORE", message: expect.stringMatching(/within 200 ms/) });
    } finally {
      await admin.query("ROLLBACK");
      await admin.end();
    }
    expect((await open({ DATABASE_URL: databaseUrl })).choice.store).toHaveProperty("breakerState", "closed");
    expect((await open({ DATABASE_URL: databaseUrl }, { guard: false })).choice.store).not.toHaveProperty("breakerState");
  });

  it("migrate: false leaves the schema to the application's migration tool", async () => {
    const bare = uniqueTable("cloakroom_env_bare");
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${bare}`);
    try {
      const url = new URL(databaseUrl);
      url.searchParams.set("options", `-c search_path=${bare}`);
      const { choice } = await open({ DATABASE_URL: url.toString() }, { migrate: false });
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1`, [bare]);
      expect(rows[0].n).toBe(0);
      // No table: a store fault that says how to create it, never "no session".
      await expect(choice.store.read(testHandle())).rejects.toMatchObject({ code: "ERR_SESSION_STORE", message: expect.stringMatching(/migrate/) });
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${bare} CASCADE`);
      await admin.end();
    }
  });

  it("REDIS_URL + DATABASE_URL: Redis in front of Postgres, both written", async () => {
    const keyPrefix = uniqueKeyPrefix("env-tiered");
    const { choice, logged } = await open({ REDIS_URL: redisUrl(), DATABASE_URL: databaseUrl, REDIS_KEY_PREFIX: keyPrefix });
    expect(choice.store.name).toBe("tiered(ioredis+postgres)");
    expect(choice.description).toBe(
      `tiered: Redis at 127.0.0.1:${redis.port} (REDIS_URL) as cache, PostgreSQL at ${new URL(postgres.url).host}/postgres (DATABASE_URL) as store of record`,
    );
    expect(logged).toEqual([{ level: "info", line: `cloakroom: sessions in ${choice.description}` }]);
    await works(choice, "tia");
    const client = harnessClient(redis.port);
    await client.connect();
    try {
      expect((await keysUnder([client], keyPrefix)).length).toBeGreaterThan(0);
    } finally {
      client.disconnect();
    }
    const health = await createSessions({ store: choice.store, keys: generateKey("k") }).health();
    expect(health).toMatchObject({ status: "ok", store: { details: { cache: { name: "ioredis", ok: true }, durable: { name: "postgres", ok: true } } } });
    expectNoSecret(logged.map((l) => l.line));
  });

  it("Upstash + DATABASE_URL: Upstash in front of Postgres", async () => {
    const { choice } = await open({ ...upstashEnv(), DATABASE_URL: databaseUrl, REDIS_KEY_PREFIX: uniqueKeyPrefix("env-up") });
    expect(choice.store.name).toBe("tiered(upstash+postgres)");
    await works(choice, "ulla");
  });

  it("hands out the clients it opened, so a replay log runs on the same servers", async () => {
    expect((await open({})).choice.clients).toEqual({});
    const { choice } = await open({ REDIS_URL: redisUrl(), DATABASE_URL: databaseUrl, REDIS_KEY_PREFIX: uniqueKeyPrefix("env-replay") });
    const { redis: client, query } = choice.clients;
    const durable = postgresReplay({ query: query!, table: `${schema}.replay` });
    await durable.migrate();
    const log = createReplayLog({ backend: cachedReplay({ cache: redisReplay({ client: client!, keyPrefix: uniqueKeyPrefix("env-replay") }), durable }) });
    expect(await log.append("room", "hello")).toEqual({ seq: 1 });
    expect(await log.since("room", 0)).toMatchObject({ gap: false, events: [{ seq: 1, event: "hello" }] });
    expect(Object.keys((await open(upstashEnv())).choice.clients)).toEqual(["upstash"]);
  });

  it("passes onEvent and the tiered settings on to the tiered store", async () => {
    const events: string[] = [];
    const { choice } = await open(
      { REDIS_URL: "redis://127.0.0.1:1", DATABASE_URL: databaseUrl },
      { onEvent: (event) => events.push(event.type), tiered: { cacheTimeoutMs: 30, breaker: { failureThreshold: 1, openMs: 60_000 } } },
    );
    await works(choice, "opal");
    // The dead cache failed once (threshold 1): the breaker opened, and said so.
    expect(events).toContain("breaker");
    expect((choice.store as TieredStore).cache.breakerState).toBe("open");
  });

  it("close() closes what it opened, once", async () => {
    const { choice } = await open({ REDIS_URL: redisUrl() });
    await works(choice, "cleo");
    await Promise.all([choice.close(), choice.close()]);
    await expect(choice.store.read(testHandle())).rejects.toMatchObject({ code: "ERR_SESSION_STORE", message: expect.stringMatching(/Connection is closed/) });
  });
});

describe("storeFromEnv: a Worker's env object (runtime edge)", () => {
  const edge = { runtime: "edge" } as const;

  it("uses Upstash from a plain env object that also holds bindings", async () => {
    const kv = { get: async () => null };
    const { choice, logged } = await open({ ...upstashEnv(), SESSIONS_KV: kv, SESSION_KEYS: generateKey("k") }, edge);
    expect(choice.store.name).toBe("upstash");
    expect(logged.map((l) => l.level)).toEqual(["info"]);
    await works(choice, "wes");
  });

  it("names the Node-only variables it ignores next to Upstash", async () => {
    const { choice, logged } = await open({ ...upstashEnv(), REDIS_URL: redisUrl(), DATABASE_URL: databaseUrl }, edge);
    expect(choice.store.name).toBe("upstash");
    expect(logged).toHaveLength(1);
    expect(logged[0]!.level).toBe("warn");
    expect(logged[0]!.line).toMatch(/REDIS_URL and DATABASE_URL ignored: an edge runtime .* cannot use them: ioredis and pg need TCP sockets/);
    expectNoSecret(logged.map((l) => l.line));
  });

  it("refuses a Node-only variable with nothing else set, rather than fall back to memory", async () => {
    const message = await configError({ REDIS_URL: redisUrl() }, edge);
    expect(message).toMatch(/^cloakroom: REDIS_URL is set, but an edge runtime .* cannot use it: .*set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN/);
    expect(await configError({ DATABASE_URL: databaseUrl }, edge)).toMatch(/DATABASE_URL is set, .*fromNeon/);
    expectNoSecret([message]);
  });

  it("warns that memory is for local runs only, even without NODE_ENV", async () => {
    const { choice, logged } = await open({}, edge);
    expect(choice.store.name).toBe("memory");
    expect(logged[0]!.level).toBe("warn");
    expect(logged[0]!.line).toMatch(/this isolate.*many isolates that share nothing/);
  });
});

describe("storeFromEnv: mistakes it refuses before opening anything", () => {
  it("names the variable and the fix, never the value", async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ DATABASE_URL: `mysql://root:${PG_PASSWORD}@db/app` }, /^cloakroom: DATABASE_URL has the scheme "mysql:".*postgres:\/\/.*pglite:/],
      [{ DATABASE_URL: "pglite:" }, /^cloakroom: DATABASE_URL is "pglite:" with no directory/],
      [{ REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: "app{1}" }, /^cloakroom: REDIS_KEY_PREFIX must be a string without "\{" or "\}"/],
      [{ REDIS_URL: `http://:${REDIS_PASSWORD}@cache` }, /^cloakroom: REDIS_URL must start with redis:\/\/ or rediss:\/\//],
      [{ REDIS_SENTINELS: "10.0.0.1:26379" }, /^cloakroom: REDIS_SENTINELS is set but REDIS_SENTINEL_NAME is not/],
      [{ UPSTASH_REDIS_REST_URL: bridge.url }, /^cloakroom: UPSTASH_REDIS_REST_URL is set but UPSTASH_REDIS_REST_TOKEN is not/],
      // A typo in a variable that Upstash shadows still fails now, not on the day Upstash goes.
      [{ ...upstashEnv(), REDIS_CLUSTER_NODES: "nonsense" }, /^cloakroom: REDIS_CLUSTER_NODES must be host:port pairs/],
    ];
    for (const [env, expected] of cases) {
      const message = await configError(env);
      expect(message, JSON.stringify(Object.keys(env))).toMatch(expected);
      expectNoSecret([message]);
    }
  });

  it("checks its own arguments", async () => {
    expect(await configError({}, { lgo: false } as never)).toMatch(/unknown storeFromEnv option\(s\) lgo/);
    expect(await configError({}, { runtime: "browser" } as never)).toMatch(/runtime must be "node" or "edge"/);
    // Checked by tieredStore once both stores are open; they are closed again before it throws.
    expect(await configError({ REDIS_URL: redisUrl(), DATABASE_URL: databaseUrl }, { tiered: { cacheTimeoutMs: -1 } })).toMatch(/timeoutMs must be a positive number/);
    const error = await storeFromEnv(undefined as never).catch((e: unknown) => e);
    expect(String(error)).toMatch(/storeFromEnv needs the environment object: storeFromEnv\(process\.env\)/);
  });

  it("says which package to install when a driver is missing", async () => {
    const error = await loadDriver("cloakroom-no-such-driver", "REDIS_URL").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as Error).message).toBe(
      "cloakroom: REDIS_URL is set, which needs the cloakroom-no-such-driver package; install it (npm install cloakroom-no-such-driver) or unset REDIS_URL.",
    );
  });
});
