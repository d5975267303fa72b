/**
 * What the Postgres store throws when a statement fails. A driver error can carry the session's
 * data (`detail` and `where` quote the JSON a jsonb parse refused; postgres.js and PGlite hang
 * the parameters on it): the store passes on a plain copy, message and SQLSTATE only. A data
 * exception (SQLSTATE class 22) is about the value, not the server: ERR_SESSION_DATA, which a
 * guarded store does not count as a failure, so one visitor's value cannot open the breaker
 * for everyone. The core refuses these values at session.set; these calls go to the store
 * directly, as a caller that bypasses the core (or a future core bug) would.
 */
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromPg, fromPGlite, postgresStore, type PostgresStore, type QueryFunction } from "../../adapters/postgres/index.ts";
import { guardedStore, SessionError } from "../../src/index.ts";
import { testHandle, testRecord } from "cloakroom/testing";
import { startPostgres, uniqueTable, type PostgresServer } from "../support/postgres-server.ts";
import { dropStore } from "./support.ts";

const SECRET = "s3cr3t-oauth-token";
const table = uniqueTable();
let server: PostgresServer;
let pool: pg.Pool;
let lite: PGlite;

beforeAll(async () => {
  [server, lite] = await Promise.all([startPostgres(), PGlite.create()]);
  pool = new pg.Pool({ connectionString: server.url, max: 4 });
  pool.on("error", () => {});
  await postgresStore({ query: fromPg(pool), table }).migrate();
  await postgresStore({ query: fromPGlite(lite), table }).migrate();
});

afterAll(async () => {
  if (pool) {
    await dropStore(fromPg(pool), table);
    await pool.end();
  }
  await lite?.close();
  await server?.stop();
});

/** Every string reachable from an error: message, stack and every own property (enumerable or not), down the cause chain. */
function everythingIn(error: unknown, seen = new Set<unknown>()): string {
  if (error === null || typeof error !== "object" || seen.has(error)) return typeof error === "string" ? error : String(error);
  seen.add(error);
  const parts: string[] = [];
  for (const name of Object.getOwnPropertyNames(error)) {
    const value = (error as Record<string, unknown>)[name];
    parts.push(name, typeof value === "object" && value !== null ? everythingIn(value, seen) : String(value));
  }
  return parts.join("\n");
}

const drivers: Array<[string, () => QueryFunction]> = [
  ["pg", () => fromPg(pool)],
  ["PGlite", () => fromPGlite(lite)],
];

for (const [driver, query] of drivers) {
  describe(`postgres store via ${driver}: a value Postgres cannot hold`, () => {
    const store = (): PostgresStore => postgresStore({ query: query(), table });

    it("a lone surrogate in the data: ERR_SESSION_DATA naming it, and no data in the error", async () => {
      const error = await store().write(testHandle(), testRecord({ data: { token: SECRET, s: "x\ud800y" } }), 0).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionError);
      expect(error).toMatchObject({ code: "ERR_SESSION_DATA", message: expect.stringMatching(/^cloakroom: .*lone surrogate.*SQLSTATE 22P02/) });
      const cause = (error as SessionError).cause as Error & Record<string, unknown>;
      expect(cause.code).toBe("22P02");
      expect(cause.detail).toBeUndefined();
      expect(cause.where).toBeUndefined();
      expect(everythingIn(error)).not.toContain(SECRET);
    });

    it("a NUL character in the data or the user id: ERR_SESSION_DATA naming it", async () => {
      const inData = await store().write(testHandle(), testRecord({ data: { token: SECRET, s: "a\u0000b" } }), 0).catch((e: unknown) => e);
      expect(inData).toMatchObject({ code: "ERR_SESSION_DATA", message: expect.stringContaining("NUL character") });
      expect(everythingIn(inData)).not.toContain(SECRET);
      const user = `${SECRET}\u0000`;
      const inUser = await store().write(testHandle(user), testRecord({ userId: user }), 0).catch((e: unknown) => e);
      expect(inUser).toMatchObject({ code: "ERR_SESSION_DATA" });
      expect(everythingIn(inUser)).not.toContain(SECRET);
    });

    it("leaves a guarded store's breaker closed, so other visitors keep their sessions", async () => {
      const guarded = guardedStore(store(), { breaker: { failureThreshold: 3, openMs: 60_000 } });
      const good = testHandle();
      await guarded.write(good, testRecord({ data: { n: 1 } }), 0);
      for (let i = 0; i < 3; i++) {
        await expect(guarded.write(testHandle(), testRecord({ data: { returnTo: "/x\u0000" } }), 0)).rejects.toMatchObject({ code: "ERR_SESSION_DATA" });
      }
      expect(guarded.breakerState).toBe("closed");
      expect((await guarded.read(good))?.record.data).toEqual({ n: 1 });
    });
  });
}

describe("postgres store: any other failed statement", () => {
  it("is ERR_SESSION_STORE with a plain copy of the driver's error as its cause", async () => {
    // A trigger that fails with the row in its message detail, as a server-side failure might.
    const failing = uniqueTable();
    const store = postgresStore({ query: fromPg(pool), table: failing });
    await store.migrate();
    await pool.query(`CREATE FUNCTION "${failing}_fail"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'disk full' USING DETAIL = NEW.data::text, HINT = 'free some space', ERRCODE = '53100'; END $$`);
    await pool.query(`CREATE TRIGGER fail BEFORE INSERT ON "${failing}" FOR EACH ROW EXECUTE FUNCTION "${failing}_fail"()`);
    const error = await store.write(testHandle(), testRecord({ data: { token: SECRET } }), 0).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_SESSION_STORE", message: expect.stringMatching(/^cloakroom: the postgres store could not run its create statement \(error 53100: disk full\)/) });
    expect((error as SessionError).cause).toMatchObject({ code: "53100", message: "disk full" });
    expect(everythingIn(error)).not.toContain(SECRET);
    await dropStore(fromPg(pool), failing);
    await pool.query(`DROP FUNCTION "${failing}_fail"()`);
  });

  it("keeps no value that a trigger's message quotes, whatever its SQLSTATE", async () => {
    const quoting = uniqueTable();
    const store = postgresStore({ query: fromPg(pool), table: quoting });
    await store.migrate();
    // A RAISE (P0001) that quotes the new row's data in its message, and one with an ERRCODE
    // of another class that quotes it bare (no quotes around it).
    await pool.query(`CREATE FUNCTION "${quoting}_raise"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.data ? 'bare' THEN RAISE EXCEPTION 'refused token %', NEW.data->>'token' USING ERRCODE = '53100'; END IF;
        RAISE EXCEPTION 'refused %', NEW.data::text;
      END $$`);
    await pool.query(`CREATE TRIGGER raise BEFORE INSERT ON "${quoting}" FOR EACH ROW EXECUTE FUNCTION "${quoting}_raise"()`);
    const raised = await store.write(testHandle(), testRecord({ data: { token: SECRET } }), 0).catch((e: unknown) => e);
    expect(raised).toMatchObject({ code: "ERR_SESSION_STORE", message: expect.stringContaining("SQLSTATE P0001") });
    expect(((raised as SessionError).cause as { code?: string }).code).toBe("P0001");
    expect(everythingIn(raised)).not.toContain(SECRET);
    const bare = await store.write(testHandle(), testRecord({ data: { token: SECRET, bare: true } }), 0).catch((e: unknown) => e);
    expect(bare).toMatchObject({ code: "ERR_SESSION_STORE", message: expect.stringContaining("53100: refused token …") });
    expect(everythingIn(bare)).not.toContain(SECRET);
    await dropStore(fromPg(pool), quoting);
    await pool.query(`DROP FUNCTION "${quoting}_raise"()`);
  });
});
