/**
 * The Postgres store under a default isolation level other than READ COMMITTED (a role or a
 * pool configured with default_transaction_isolation = 'repeatable read'). revokeUser waits for
 * the user's writes in flight and then deletes, which needs a snapshot taken after the wait:
 * under REPEATABLE READ it would return having missed a session written meanwhile, so it
 * refuses to run and says how to fix the setting. Compare-and-set writes and touches stay
 * correct: a serialization failure is a lost compare-and-set, or a touch skipped.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromPg, postgresStore } from "../../adapters/postgres/index.ts";
import { statements } from "../../adapters/postgres/statements.ts";
import { tableNames } from "../../adapters/postgres/schema.ts";
import { SessionError } from "../../src/index.ts";
import { testHandle, testRecord } from "cloakroom/testing";
import { startPostgres, uniqueTable, type PostgresServer } from "../support/postgres-server.ts";
import { dropStore } from "./support.ts";

const table = uniqueTable();
let server: PostgresServer;
/** READ COMMITTED, PostgreSQL's default. */
let pool: pg.Pool;
/** Every transaction REPEATABLE READ unless it says otherwise. */
let repeatableRead: pg.Pool;

beforeAll(async () => {
  server = await startPostgres();
  pool = new pg.Pool({ connectionString: server.url, max: 4 });
  repeatableRead = new pg.Pool({ connectionString: server.url, max: 20, options: "-c default_transaction_isolation=repeatable\\ read" });
  for (const p of [pool, repeatableRead]) p.on("error", () => {});
  await postgresStore({ query: fromPg(pool), table }).migrate();
});

afterAll(async () => {
  if (pool) {
    await dropStore(fromPg(pool), table);
    await pool.end();
  }
  await repeatableRead?.end();
  await server?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Creates a session of `user` in a transaction of its own that stays open until `commit()`. */
async function openCreate(user: string) {
  const handle = testHandle(user);
  const record = testRecord({ userId: user });
  const writer = await pool.connect();
  await writer.query("BEGIN");
  await writer.query(statements(tableNames(table)).create, [
    handle, user, JSON.stringify(record.data), 1, record.createdAt, record.lastSeenAt, record.expiresAt, record.absoluteExpiresAt, record.idleTimeout, null, null, Date.now(),
  ]);
  return {
    handle,
    async commit() {
      await writer.query("COMMIT");
      writer.release();
    },
  };
}

describe("postgres store under default_transaction_isolation = repeatable read", () => {
  it("revokeUser refuses to run, naming the setting and the fix, instead of missing a session written while it waited", async () => {
    const store = postgresStore({ query: fromPg(repeatableRead), table });
    const user = `rr-${testHandle()}`;
    const pending = await openCreate(user);
    const revoking = store.revokeUser(user).then(
      (count) => ({ count }),
      (error: unknown) => ({ error }),
    );
    await sleep(300);
    await pending.commit();
    const outcome = await revoking;
    expect(outcome).toMatchObject({ error: expect.any(SessionError) });
    const error = (outcome as { error: SessionError }).error;
    expect(error.code).toBe("ERR_SESSION_CONFIG");
    expect(error.message).toMatch(/^cloakroom: revokeUser needs transaction isolation READ COMMITTED, but its connection runs at REPEATABLE READ/);
    expect(error.message).toMatch(/default_transaction_isolation to 'read committed'/);
    // The session is still there: nothing claimed to have revoked it.
    expect(await postgresStore({ query: fromPg(pool), table }).read(pending.handle)).not.toBeNull();
  });

  it("the same race under READ COMMITTED: the session written while revokeUser waited is revoked", async () => {
    const store = postgresStore({ query: fromPg(pool), table });
    const user = `rc-${testHandle()}`;
    const pending = await openCreate(user);
    const revoking = store.revokeUser(user);
    await sleep(300);
    await pending.commit();
    expect(await revoking).toBe(1);
    expect(await store.read(pending.handle)).toBeNull();
  });

  it("lets exactly one of many parallel writers of one version win, and the others lose without an error", async () => {
    const store = postgresStore({ query: fromPg(repeatableRead), table });
    const handle = testHandle();
    await store.write(handle, testRecord(), 0);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.write(handle, testRecord({ version: 2, data: { writer: i } }), 1).then(String, (error: Error) => `threw: ${error.message}`),
      ),
    );
    expect(outcomes.filter((o) => o === "true")).toHaveLength(1);
    expect(outcomes.filter((o) => o !== "true" && o !== "false")).toEqual([]);
    expect((await store.read(handle))?.record.data).toEqual({ writer: outcomes.indexOf("true") });
  });

  it("reports a write that meets a concurrent one as a lost compare-and-set, not an error", async () => {
    const store = postgresStore({ query: fromPg(repeatableRead), table });
    const handle = testHandle();
    await store.write(handle, testRecord(), 0);
    const writer = await pool.connect();
    await writer.query("BEGIN");
    await writer.query(`UPDATE ${tableNames(table).sessions} SET version = 2, data = '{"other": 1}' WHERE handle = $1`, [handle]);
    const writing = store.write(handle, testRecord({ version: 2, data: { mine: 1 } }), 1);
    await sleep(300); // the write waits on the other's row lock, then meets its change
    await writer.query("COMMIT");
    writer.release();
    expect(await writing).toBe(false);
    expect((await store.read(handle))?.record.data).toEqual({ other: 1 });
  });

  it("skips a due touch that meets a concurrent write, and reads what the write left", async () => {
    const store = postgresStore({ query: fromPg(repeatableRead), table });
    const handle = testHandle();
    const past = Date.now() - 30_000;
    await store.write(handle, testRecord({ lastSeenAt: past, expiresAt: past + 60_000 }), 0);
    const writer = await pool.connect();
    await writer.query("BEGIN");
    await writer.query(`UPDATE ${tableNames(table).sessions} SET version = 2, data = '{"n": 2}' WHERE handle = $1`, [handle]);
    const reading = store.read(handle, { now: Date.now(), interval: 1_000 });
    await sleep(300); // the touch waits on the writer's row lock
    await writer.query("COMMIT");
    writer.release();
    const result = await reading;
    expect(result?.touched).toBe(false);
    expect(result?.record).toMatchObject({ version: 2, data: { n: 2 }, lastSeenAt: past });
  });
});
