/**
 * The conformance suite on a real PostgreSQL server through `pg` (node-postgres): a Pool with
 * named prepared statements (the default), and with unnamed ones (`prepare: false`, for
 * poolers that cannot keep prepared statements).
 */
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { fromPg, postgresStore, type PostgresStore } from "../../adapters/postgres/index.ts";
import { storeConformance } from "cloakroom/testing";
import { startPostgres, uniqueTable, type PostgresServer } from "../support/postgres-server.ts";
import { dropStore, postgresBackend } from "./support.ts";

const table = uniqueTable();
let server: PostgresServer;
let pool: pg.Pool;

beforeAll(async () => {
  server = await startPostgres();
  pool = new pg.Pool({ connectionString: server.url, max: 10 });
  // pool.end() resolves before its sockets close; the server stopping then must not surface
  // as an unhandled "error" event from an idle connection.
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

for (const prepare of [true, false]) {
  storeConformance<PostgresStore>(`postgres via pg Pool${prepare ? "" : ", prepare: false"}`, {
    create: () => postgresStore({ query: fromPg(pool, { prepare }), table }),
    backend: postgresBackend((text, params) => fromPg(pool)(text, params), table),
  });
}
