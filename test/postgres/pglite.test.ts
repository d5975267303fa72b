/**
 * The conformance suite on PGlite (PostgreSQL in WebAssembly, in-process). One instance for
 * the file, closed in afterAll: an open PGlite keeps the process alive.
 */
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll } from "vitest";
import { fromPGlite, postgresStore, type PostgresStore } from "../../adapters/postgres/index.ts";
import { storeConformance } from "cloakroom/testing";
import { postgresBackend } from "./support.ts";

const table = "sessions";
let db: PGlite;

beforeAll(async () => {
  db = await PGlite.create();
  await postgresStore({ query: fromPGlite(db), table }).migrate();
});

afterAll(async () => {
  await db?.close();
});

storeConformance<PostgresStore>("postgres via PGlite", {
  create: () => postgresStore({ query: fromPGlite(db), table }),
  backend: postgresBackend((text, params) => fromPGlite(db)(text, params), table),
});
