/**
 * The conformance suite through Neon's HTTP driver (`neon()` from @neondatabase/serverless),
 * the driver for edge runtimes. Neon's SQL-over-HTTP endpoint is replaced by a bridge to the
 * real PostgreSQL server the harness starts: the driver's own request and response code runs
 * unchanged (JSON body `{query, params}`, rows as text arrays parsed by the driver's type
 * parsers, errors as HTTP 400 with the server's fields), so `fromNeon` is tested against the
 * client users ship, not a mock of it.
 */
import { neon, neonConfig } from "@neondatabase/serverless";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { fromNeon, fromPg, postgresStore, type PostgresStore } from "../../adapters/postgres/index.ts";
import { storeConformance } from "cloakroom/testing";
import { startPostgres, uniqueTable, type PostgresServer } from "../support/postgres-server.ts";
import { dropStore, postgresBackend } from "./support.ts";

const table = uniqueTable();
let server: PostgresServer;
let pool: pg.Pool;

/** Values leave the bridge as PostgreSQL's text output, as Neon's endpoint sends them. */
const asText = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;
const ERROR_FIELDS = ["severity", "code", "detail", "hint", "position", "schema", "table", "column", "constraint", "routine"];

async function bridge(_url: string, init: { body: string }): Promise<Response> {
  const { query, params } = JSON.parse(init.body) as { query: string; params: unknown[] };
  try {
    const result = await pool.query({ text: query, values: params, rowMode: "array", types: asText });
    const fields = result.fields.map((field) => ({ name: field.name, dataTypeID: field.dataTypeID }));
    return Response.json({ command: result.command, rowCount: result.rowCount, fields, rows: result.rows });
  } catch (error) {
    const body: Record<string, unknown> = { message: (error as Error).message };
    for (const field of ERROR_FIELDS) body[field] = (error as Record<string, unknown>)[field];
    return Response.json(body, { status: 400 });
  }
}

beforeAll(async () => {
  server = await startPostgres();
  pool = new pg.Pool({ connectionString: server.url, max: 10 });
  // pool.end() resolves before its sockets close; the server stopping then must not surface
  // as an unhandled "error" event from an idle connection.
  pool.on("error", () => {});
  neonConfig.fetchFunction = bridge;
  await postgresStore({ query: fromPg(pool), table }).migrate();
});

afterAll(async () => {
  if (pool) {
    await dropStore(fromPg(pool), table);
    await pool.end();
  }
  await server?.stop();
});

// The URL only has to parse: every request goes to the bridge. Made with arrayMode and
// fullResults set the other way, to show fromNeon asks for what it needs on each call.
const sql = () => neon("postgres://app:unused@neon-bridge.invalid/db", { arrayMode: true, fullResults: false });

storeConformance<PostgresStore>("postgres via Neon HTTP (neon())", {
  create: () => postgresStore({ query: fromNeon(sql()), table }),
  backend: postgresBackend((text, params) => fromPg(pool)(text, params), table),
});
