/**
 * The conformance suite on the tiered store as it is deployed: ioredis on a redis-server in
 * front of Postgres through `pg`, both throwaway servers started here. Retired markers (rule 10)
 * pass through both tiers like any record.
 */
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { ioredisStore } from "../../adapters/ioredis/index.ts";
import { fromPg, postgresStore } from "../../adapters/postgres/index.ts";
import { tieredStore, type TieredStore } from "../../src/index.ts";
import { storeConformance } from "cloakroom/testing";
import { dropStore } from "../postgres/support.ts";
import { startPostgres, uniqueTable, type PostgresServer } from "../support/postgres-server.ts";
import { startRedisProcess, type RedisProcess } from "../support/redis-server.ts";

const table = uniqueTable();
let postgres: PostgresServer;
let redis: RedisProcess;
let pool: pg.Pool;
let client: Redis;
let stores = 0;

beforeAll(async () => {
  [postgres, redis] = await Promise.all([startPostgres(), startRedisProcess()]);
  pool = new pg.Pool({ connectionString: postgres.url, max: 10 });
  pool.on("error", () => {});
  client = new Redis(redis.url);
  await postgresStore({ query: fromPg(pool), table }).migrate();
});

afterAll(async () => {
  client?.disconnect();
  if (pool) {
    await dropStore(fromPg(pool), table);
    await pool.end();
  }
  await Promise.all([redis?.stop(), postgres?.stop()]);
});

storeConformance<TieredStore>("tiered: ioredis in front of postgres via pg", () =>
  tieredStore({ cache: ioredisStore({ client, keyPrefix: `tiered${++stores}:` }), durable: postgresStore({ query: fromPg(pool), table }) }),
);
