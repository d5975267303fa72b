/**
 * The README's migration recipe on real servers, under load: sessions start in the old store,
 * the application runs on `migratingStore({ from, to })` while `copySessions` copies in the
 * background and visitors read, write, sign in, sign out and are revoked everywhere; then the
 * new store serves alone. None is lost, none is back after its sign-out, and the new store's
 * user index lists every signed-in survivor (test/shared/migration-scenario.ts judges).
 *
 * One redis-server, one PostgreSQL, one three-master Cluster and one Upstash REST bridge (on a
 * second redis-server) for the whole file, each pair under keys or a table of its own.
 */
import { Redis as UpstashRedis } from "@upstash/redis";
import { Cluster, Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryStore } from "../../adapters/memory/index.ts";
import { failoverSafeClusterOptions, ioredisStore } from "../../adapters/ioredis/index.ts";
import { fromPg, postgresStore } from "../../adapters/postgres/index.ts";
import { upstashStore } from "../../adapters/upstash/index.ts";
import type { SessionStore } from "../../src/store.ts";
import { liveMigration, type MigrationFigures } from "../shared/migration-scenario.ts";
import { startPostgres, uniqueTable, type PostgresServer } from "../support/postgres-server.ts";
import { startRedisCluster, type RedisCluster } from "../support/redis-cluster.ts";
import { startRedisProcess, uniqueKeyPrefix, type RedisProcess } from "../support/redis-server.ts";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.ts";
import { dropStore } from "../postgres/support.ts";

process.env.UPSTASH_DISABLE_TELEMETRY = "1";

let redis: RedisProcess;
let upstashRedis: RedisProcess;
let bridge: UpstashBridge;
let postgres: PostgresServer;
let cluster: RedisCluster;
let redisClient: Redis;
let clusterClient: Cluster;
let pool: pg.Pool;
const tables: string[] = [];

beforeAll(async () => {
  [redis, upstashRedis, postgres, cluster] = await Promise.all([startRedisProcess(), startRedisProcess(), startPostgres(), startRedisCluster()]);
  bridge = await startUpstashBridge({ redisPort: upstashRedis.port });
  redisClient = new Redis(redis.url);
  clusterClient = new Cluster(cluster.startupNodes, failoverSafeClusterOptions());
  pool = new pg.Pool({ connectionString: postgres.url, max: 8 });
  pool.on("error", () => {});
});

afterAll(async () => {
  for (const table of tables) await dropStore(fromPg(pool), table).catch(() => {});
  await pool?.end();
  redisClient?.disconnect();
  clusterClient?.disconnect();
  await bridge?.close();
  await Promise.all([redis?.stop(), upstashRedis?.stop(), postgres?.stop(), cluster?.stop()]);
});

const onRedis = () => ioredisStore({ client: redisClient, keyPrefix: uniqueKeyPrefix("move") });

async function onPostgres(): Promise<SessionStore> {
  const table = uniqueTable("cloakroom_move");
  tables.push(table);
  const store = postgresStore({ query: fromPg(pool), table });
  await store.migrate();
  return store;
}

function expectClean(figures: MigrationFigures): void {
  expect(figures.notes).toEqual([]);
  expect(figures).toMatchObject({ failed: 0, logouts: 0, stale: 0, back: 0, lost: 0, unindexed: 0 });
  expect(figures.copy.done).toBe(true);
  // Sessions nobody used during the move went across through the copy alone.
  expect(figures.copy.copied).toBeGreaterThanOrEqual(figures.idle);
  expect(figures.duringCopy.writes).toBeGreaterThan(0);
  expect(figures.duringCopy.signOuts + figures.duringCopy.revocations).toBeGreaterThan(0);
}

describe("moving sessions between stores under load", () => {
  it("memory → Redis", async () => {
    expectClean(await liveMigration({ from: memoryStore(), to: onRedis() }));
  });

  it("Redis → Postgres", async () => {
    expectClean(await liveMigration({ from: onRedis(), to: await onPostgres() }));
  });

  it("Postgres → Redis Cluster", async () => {
    const to = ioredisStore({ client: clusterClient, keyPrefix: uniqueKeyPrefix("move") });
    expectClean(await liveMigration({ from: await onPostgres(), to }));
    // The sessions landed on every master, by their users' slots.
    const perMaster = await Promise.all(clusterClient.nodes("master").map((node) => node.dbsize()));
    expect(perMaster.every((keys) => keys > 0)).toBe(true);
  });

  it("Upstash → ioredis", async () => {
    const client = new UpstashRedis({ url: bridge.url, token: bridge.token, enableTelemetry: false });
    const from = upstashStore({ client, keyPrefix: uniqueKeyPrefix("move") });
    expectClean(await liveMigration({ from, to: onRedis() }));
  });
});
