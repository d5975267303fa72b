/** The conformance suite on a real PostgreSQL server through `postgres` (postgres.js). */
import postgres from "postgres";
import { afterAll, beforeAll } from "vitest";
import { fromPostgresJs, postgresStore, type PostgresStore } from "../../adapters/postgres/index.ts";
import { storeConformance } from "cloakroom/testing";
import { startPostgres, uniqueTable, type PostgresServer } from "../support/postgres-server.ts";
import { dropStore, postgresBackend } from "./support.ts";

const table = uniqueTable();
let server: PostgresServer;
let sql: postgres.Sql;

beforeAll(async () => {
  server = await startPostgres();
  sql = postgres(server.url, { max: 10, onnotice: () => {} });
  await postgresStore({ query: fromPostgresJs(sql), table }).migrate();
});

afterAll(async () => {
  if (sql) {
    await dropStore(fromPostgresJs(sql), table);
    await sql.end();
  }
  await server?.stop();
});

storeConformance<PostgresStore>("postgres via postgres.js", {
  create: () => postgresStore({ query: fromPostgresJs(sql), table }),
  backend: postgresBackend((text, params) => fromPostgresJs(sql)(text, params), table),
});
