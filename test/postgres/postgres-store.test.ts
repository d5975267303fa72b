/**
 * What is special to the Postgres store, on a real server through `pg`: the schema and its
 * migration (idempotent, concurrent), one statement per read, what lands in the table,
 * batched pruning from concurrent callers, and rows that hold something cloakroom did not
 * write, read through `createSessions`.
 */
import { readFileSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSessions, generateKey, SessionError, type SessionEvent } from "../../src/index.ts";
import { Keyring } from "../../src/keyring.ts";
import { handleOf } from "../../src/session-id.ts";
import { openTicket } from "../../src/ticket.ts";
import { fromPg, postgresStore, schemaSql, type QueryFunction } from "../../adapters/postgres/index.ts";
import { statements } from "../../adapters/postgres/statements.ts";
import { tableNames } from "../../adapters/postgres/schema.ts";
import { testHandle, testRecord } from "cloakroom/testing";
import { cookieFrom, manualClock } from "../shared/helpers.ts";
import { startPostgres, uniqueTable, type PostgresServer } from "../support/postgres-server.ts";
import { CORRUPTIONS, dropStore, rawRow, recording } from "./support.ts";

let server: PostgresServer;
let pool: pg.Pool;
let query: QueryFunction;
/** Tables this file created, dropped at the end (only these, on a shared DATABASE_URL server). */
const created: string[] = [];

function freshTable(): string {
  const table = uniqueTable();
  created.push(table);
  return table;
}

async function migrated(table = freshTable(), options: { clock?: () => number } = {}) {
  const store = postgresStore({ query, table, ...options });
  await store.migrate();
  return store;
}

beforeAll(async () => {
  server = await startPostgres();
  pool = new pg.Pool({ connectionString: server.url, max: 12 });
  // pool.end() resolves before its sockets close; the server stopping then must not surface
  // as an unhandled "error" event from an idle connection.
  pool.on("error", () => {});
  query = fromPg(pool);
});

/** Unique, so that on a DATABASE_URL server this file drops only what it created. */
const schema = uniqueTable("cloakroom_test_schema");

afterAll(async () => {
  if (pool) {
    for (const table of created) await dropStore(query, table);
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  }
  await server?.stop();
});

describe("schema and migrate()", () => {
  it("ships schema.sql equal to schemaSql() for the default table", () => {
    const file = readFileSync(new URL("../../adapters/postgres/schema.sql", import.meta.url), "utf8");
    expect(file).toBe(schemaSql());
    expect(file).not.toMatch(/UNLOGGED/i);
  });

  it("creates the tables and indexes, and a second run changes nothing", async () => {
    const table = freshTable();
    const store = postgresStore({ query, table });
    await store.migrate();
    await store.migrate();
    const { rows: indexes } = await pool.query(
      "SELECT indexname FROM pg_indexes WHERE tablename IN ($1, $2) ORDER BY indexname",
      [table, `${table}_counters`],
    );
    expect(indexes.map((row) => row.indexname)).toEqual(
      [`${table}_counters_pkey`, `${table}_counters_reset_at_idx`, `${table}_expires_at_idx`, `${table}_pkey`, `${table}_user_id_idx`].sort(),
    );
    const { rows: [relation] } = await pool.query(
      "SELECT relpersistence, reloptions FROM pg_class WHERE oid = $1::regclass",
      [`"${table}"`],
    );
    // 'p': permanent (logged). An UNLOGGED table is emptied by a crash: everyone signed out.
    expect(relation).toEqual({ relpersistence: "p", reloptions: ["fillfactor=90"] });
  });

  it("is safe to run from several instances at once", async () => {
    // Without the advisory lock, concurrent CREATE ... IF NOT EXISTS of one name fails now and
    // then with a unique violation in pg_type or pg_class; a few rounds make that likely.
    for (let round = 0; round < 4; round++) {
      const table = freshTable();
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => postgresStore({ query, table }).migrate()));
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
      expect(await postgresStore({ query, table }).write(testHandle(), testRecord(), 0)).toBe(true);
    }
  });

  it("works in a named schema, with quoting", async () => {
    await pool.query(`CREATE SCHEMA ${schema}`);
    const store = postgresStore({ query, table: `${schema}.Sessions` });
    await store.migrate();
    const handle = testHandle();
    await store.write(handle, testRecord(), 0);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${schema}."Sessions"`);
    expect(rows[0].n).toBe(1);
  });

  it("upgrades a v1 table (before retired ids and device bindings): its rows stay, the new columns arrive", async () => {
    const table = freshTable();
    // The v1 table, as migrate() made it before the two nullable columns.
    await pool.query(`CREATE TABLE "${table}" (handle text PRIMARY KEY, user_id text, data jsonb NOT NULL, version bigint NOT NULL,
      created_at bigint NOT NULL, last_seen_at bigint NOT NULL, expires_at bigint NOT NULL, absolute_expires_at bigint NOT NULL,
      idle_timeout bigint NOT NULL) WITH (fillfactor = 90)`);
    const handle = testHandle("v1");
    const live = testRecord({ userId: "v1" });
    await pool.query(
      `INSERT INTO "${table}" VALUES ($1, $2, $3::jsonb, 1, $4, $5, $6, $7, $8)`,
      [handle, "v1", JSON.stringify(live.data), live.createdAt, live.lastSeenAt, live.expiresAt, live.absoluteExpiresAt, live.idleTimeout],
    );
    const store = await migrated(table);
    expect((await store.read(handle))?.record).toEqual(live);
    const marker = { ...live, version: 2, data: { retired: "renew" }, expiresAt: live.absoluteExpiresAt, successor: testHandle("v1") };
    expect(await store.write(handle, marker, 1)).toBe(true);
    expect((await store.read(handle))?.record).toEqual(marker);
  });

  it("refuses a table that exists but is not a cloakroom table, naming it and the fix", async () => {
    const table = freshTable();
    // connect-pg-simple's table: a likely name clash ("session").
    await pool.query(`CREATE TABLE "${table}" (sid varchar PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL)`);
    const error = await postgresStore({ query, table }).migrate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).code).toBe("ERR_SESSION_CONFIG");
    expect((error as SessionError).message).toMatch(/^cloakroom: /);
    expect((error as SessionError).message).toContain(table);
    expect((error as SessionError).message).toMatch(/another table name/);
  });

  it("says to run migrate() when the table or the revoke function is missing", async () => {
    const store = postgresStore({ query, table: freshTable() });
    const error = await store.read(testHandle()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).message).toMatch(/^cloakroom: .*does not exist.*migrate\(\)/);

    const table = freshTable();
    await migrated(table);
    await pool.query(`DROP FUNCTION ${tableNames(table).revokeFunction}(text, text, bigint)`);
    const revoke = await postgresStore({ query, table }).revokeUser("ann").catch((e: unknown) => e);
    expect((revoke as SessionError).message).toMatch(/^cloakroom: .*revoke function\) does not exist.*migrate\(\)/);
  });

  it("refuses table names that are not plain identifiers, before any statement", () => {
    const bad: unknown[] = ["", "1sessions", 'x"; DROP TABLE users; --', "a.b.c", "my-sessions", "s".repeat(42), 42, null];
    for (const table of bad) {
      expect(() => postgresStore({ query, table: table as string }), String(table)).toThrow(/^cloakroom: postgresStore table must be/);
    }
    expect(() => postgresStore({ query, table: "s".repeat(41) })).not.toThrow();
    expect(() => postgresStore({} as never)).toThrow(/^cloakroom: postgresStore needs `query`.*fromPg/);
  });
});

describe("statements", () => {
  it("reads in exactly one statement: missing, untouched, touched, not due", async () => {
    const table = freshTable();
    await migrated(table);
    const counted = recording(query);
    const store = postgresStore({ query: counted, table });
    const handle = testHandle();
    const past = Date.now() - 60_000;
    await store.write(handle, testRecord({ lastSeenAt: past, expiresAt: past + 120_000 }), 0);
    counted.statements.length = 0;

    expect(await store.read(testHandle(), { now: Date.now(), interval: 1_000 })).toBeNull();
    expect((await store.read(handle))?.touched).toBe(false);
    expect((await store.read(handle, { now: Date.now(), interval: 1_000 }))?.touched).toBe(true);
    expect((await store.read(handle, { now: Date.now(), interval: 60_000 }))?.touched).toBe(false);
    expect(counted.statements).toHaveLength(4);
  });

  it("serves a request with one statement, and a commit that changed nothing with none", async () => {
    const table = freshTable();
    await migrated(table);
    const counted = recording(query);
    const clock = manualClock(Date.now());
    const sessions = createSessions({ store: postgresStore({ query: counted, table, clock }), keys: generateKey("k1"), clock });
    const first = await sessions.read(null);
    first.set("n", 1);
    const cookie = cookieFrom(await sessions.commit(first));

    for (const advance of [1_000, 600_000]) {
      clock.advance(advance); // the second one is past the touch interval
      counted.statements.length = 0;
      const session = await sessions.read(cookie);
      expect(session.get("n")).toBe(1);
      expect(await sessions.commit(session)).toBeNull();
      expect(counted.statements).toHaveLength(1);
    }
  });

  it("prunes through the expiry index (EXPLAIN of the batch statement)", async () => {
    const table = freshTable();
    await migrated(table);
    const t = tableNames(table);
    const now = Date.now();
    await pool.query(
      // Mostly expired: the case where a plain LIMIT would rather scan the table than the index.
      `INSERT INTO ${t.sessions} SELECT 'h' || i, NULL, '{}'::jsonb, 1, $1::bigint, $1::bigint, $1::bigint + (i % 10 - 8) * 60000, $1::bigint + 3600000, 60000
       FROM generate_series(1, 5000) AS i`,
      [now],
    );
    await pool.query(`ANALYZE ${t.sessions}`);
    const { rows } = await pool.query(`EXPLAIN (FORMAT JSON) ${statements(t).deleteExpiredSessions}`, [now, 500, Number.MIN_SAFE_INTEGER]);
    const plan = JSON.stringify(rows[0]["QUERY PLAN"]);
    expect(plan).toContain(`"Index Name":"${table}_expires_at_idx"`);
    expect(plan).toContain('"Node Type":"Tid Scan"');
    expect(plan).not.toContain('"Node Type":"Seq Scan"');
  });
});

describe("what lands in the table", () => {
  it("stores the handle (a hash, never the session id), the expiry and an incremented version", async () => {
    const table = freshTable();
    const clock = manualClock(Date.now());
    const keys = generateKey("k1");
    const store = await migrated(table, { clock });
    const sessions = createSessions({ store, keys, clock, idleTimeout: 600, absoluteTimeout: 3600 });
    const first = await sessions.read(null);
    first.userId = "ann";
    first.set("theme", "dark");
    const cookie = cookieFrom(await sessions.commit(first));
    const opened = await openTicket(cookie.split("=")[1]!, new Keyring(keys), clock());
    if (!opened.ok) throw new Error("the ticket should open");
    const sid = opened.claims.sid;

    const row = await rawRow(query, table, first.handle!);
    expect(row).toEqual({
      handle: await handleOf(sid),
      userId: "ann",
      data: { theme: "dark" },
      version: 1,
      createdAt: clock(),
      lastSeenAt: clock(),
      expiresAt: clock() + 600_000,
      absoluteExpiresAt: clock() + 3_600_000,
      idleTimeout: 600_000,
    });
    const { rows: leaks } = await pool.query(
      `SELECT count(*)::int AS n FROM "${table}" WHERE handle LIKE '%' || $1 || '%' OR data::text LIKE '%' || $1 || '%'`,
      [sid.slice(5)],
    );
    expect(leaks[0].n).toBe(0);

    clock.advance(1_000);
    const second = await sessions.read(cookie);
    second.set("theme", "light");
    await sessions.commit(second);
    expect(await rawRow(query, table, first.handle!)).toMatchObject({ version: 2, data: { theme: "light" }, lastSeenAt: clock(), expiresAt: clock() + 600_000 });
  });

  it("keeps a user's rows findable by user_id, and revokes them in one statement", async () => {
    const table = freshTable();
    const counted = recording(query);
    const store = postgresStore({ query: counted, table });
    await store.migrate();
    const user = `u-${testHandle()}`;
    const handles = [testHandle(user), testHandle(user), testHandle(user)];
    for (const handle of handles) await store.write(handle, testRecord({ userId: user }), 0);
    counted.statements.length = 0;
    expect(await store.revokeUser(user, { except: handles[0] })).toBe(2);
    expect(counted.statements).toHaveLength(1);
    const { rows } = await pool.query(`SELECT handle FROM "${table}" WHERE user_id = $1`, [user]);
    expect(rows.map((row) => row.handle)).toEqual([handles[0]]);
  });
});

describe("revokeUser against writes in flight", () => {
  it("waits for a write of the user that has not committed yet, then deletes it too", async () => {
    const table = freshTable();
    const store = await migrated(table);
    const user = `w-${testHandle()}`;
    const handle = testHandle(user);
    const record = testRecord({ userId: user });
    // Another process's write, caught between its INSERT and its COMMIT.
    const writer = await pool.connect();
    try {
      await writer.query("BEGIN");
      const params = [handle, user, JSON.stringify(record.data), 1, record.createdAt, record.lastSeenAt, record.expiresAt, record.absoluteExpiresAt, record.idleTimeout, null, null, Date.now()];
      expect((await writer.query(statements(tableNames(table)).create, params)).rowCount).toBe(1);

      let settled = false;
      const revoking = store.revokeUser(user).finally(() => (settled = true));
      // The revocation now waits on the user's lock, which the open write holds shared.
      for (let waited = 0; ; waited += 20) {
        const { rows } = await pool.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
        if (rows[0].n === 1) break;
        if (waited > 10_000) throw new Error("revokeUser never waited for the open write");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(settled).toBe(false);
      await writer.query("COMMIT");
      // A plain DELETE would have taken its snapshot before the write committed and missed it.
      expect(await revoking).toBe(1);
      expect(await store.read(handle)).toBeNull();
    } finally {
      await writer.query("ROLLBACK").catch(() => {});
      writer.release();
    }
  });
});

describe("revokeUser against writes in flight, in one process", () => {
  it("answers only after this store's writes of that user sent before it, so none looks as if it slipped through", async () => {
    const table = freshTable();
    await migrated(table);
    // A reply that is held back: the write has committed, the caller has not heard yet.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const create = statements(tableNames(table)).create;
    const store = postgresStore({
      table,
      query: async (text, params) => {
        const result = await query(text, params);
        if (text === create) await gate;
        return result;
      },
    });
    const user = `p-${testHandle()}`;
    const handle = testHandle(user);
    const order: string[] = [];
    const writing = store.write(handle, testRecord({ userId: user }), 0).then(() => order.push("write"));
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the INSERT reach the server
    const revoking = store.revokeUser(user).then((count) => (order.push("revoke"), count));
    // Time enough for a revocation that did not wait to finish; this one must still be waiting.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(order).toEqual([]);
    release();
    expect(await revoking).toBe(1);
    await writing;
    expect(order).toEqual(["write", "revoke"]);
    expect(await store.read(handle)).toBeNull();
  });
});

describe("deleteExpired", () => {
  it("deletes every expired row in batches from two concurrent callers, each counted once, and keeps the live ones", async () => {
    const table = freshTable();
    const store = await migrated(table);
    const other = postgresStore({ query: fromPg(pool), table });
    const t = tableNames(table);
    const now = Date.now();
    // 3000 expired sessions (a third of them idle-expired but absolutely live), 1000 live,
    // interleaved; 600 expired counters and 100 live.
    await pool.query(
      `INSERT INTO ${t.sessions} SELECT 'h' || i, CASE WHEN i % 2 = 0 THEN 'user' || (i % 50) END, '{}'::jsonb, 1, $1::bigint - 7200000,
         $1::bigint - 3600000, CASE WHEN i % 4 = 0 THEN $1::bigint + 600000 ELSE $1::bigint - 1000 - i END,
         CASE WHEN i % 4 = 0 THEN $1::bigint + 3600000 ELSE $1::bigint + (i % 3 - 1) * 1000000 END, 1800000
       FROM generate_series(1, 4000) AS i`,
      [now],
    );
    await pool.query(
      `INSERT INTO ${t.counters} SELECT 'k' || i, i, CASE WHEN i % 7 = 0 THEN $1::bigint + 60000 ELSE $1::bigint - i END
       FROM generate_series(1, 700) AS i`,
      [now],
    );
    const [a, b] = await Promise.all([store.deleteExpired({ batchSize: 100 }), other.deleteExpired({ batchSize: 100 })]);
    expect(a.sessions + b.sessions).toBe(3000);
    expect(a.counters + b.counters).toBe(600);
    expect(a.batches + b.batches).toBeGreaterThanOrEqual(30);

    const { rows: [left] } = await pool.query(
      `SELECT (SELECT count(*)::int FROM ${t.sessions}) AS sessions, (SELECT count(*)::int FROM ${t.sessions} WHERE expires_at <= $1) AS expired,
              (SELECT count(*)::int FROM ${t.counters}) AS counters`,
      [now],
    );
    expect(left).toEqual({ sessions: 1000, expired: 0, counters: 100 });
    expect(await store.deleteExpired()).toEqual({ sessions: 0, counters: 0, batches: 2 });
  });

  it("stops after maxBatches, and checks its options", async () => {
    const table = freshTable();
    const past = Date.now() - 10_000;
    const store = await migrated(table);
    for (let i = 0; i < 25; i++) await store.write(testHandle(), testRecord({ lastSeenAt: past - 1, expiresAt: past }), 0);
    expect(await store.deleteExpired({ batchSize: 10, maxBatches: 2 })).toEqual({ sessions: 20, counters: 0, batches: 3 });
    expect(await store.deleteExpired({ batchSize: 10 })).toEqual({ sessions: 5, counters: 0, batches: 2 });
    await expect(store.deleteExpired({ batchSize: 0 })).rejects.toThrow(/^cloakroom: deleteExpired batchSize/);
    await expect(store.deleteExpired({ maxBatches: 0.5 })).rejects.toThrow(/^cloakroom: deleteExpired maxBatches/);
  });
});

describe("rows cloakroom did not write", () => {
  it("read as no session through createSessions, with an event, never a crash", async () => {
    const table = freshTable();
    const clock = manualClock(Date.now());
    const store = await migrated(table, { clock });
    const events: SessionEvent[] = [];
    const sessions = createSessions({ store, keys: generateKey("k1"), clock, onEvent: (event) => events.push(event) });
    for (const corruption of CORRUPTIONS) {
      const first = await sessions.read(null);
      first.userId = "ann";
      first.set("n", 1);
      const cookie = cookieFrom(await sessions.commit(first));
      await pool.query(`UPDATE "${table}" SET ${corruption.set} WHERE handle = $1`, [first.handle]);
      events.length = 0;
      clock.advance(200_000); // past the touch interval (180 s by default)

      const again = await sessions.read(cookie);
      expect(again.userId, corruption.name).toBeNull();
      expect(again.get("n"), corruption.name).toBeUndefined();
      expect(events, corruption.name).toContainEqual({ type: "invalid", reason: "not-found", handle: first.handle });
      expect(await sessions.listUser("ann"), corruption.name).toEqual([]);
      // And the row is left alone: a touch does not rewrite garbage.
      const { rows } = await pool.query(`SELECT last_seen_at FROM "${table}" WHERE handle = $1`, [first.handle]);
      expect(Number(rows[0].last_seen_at)).toBe(first.lastSeenAt);
      await pool.query(`DELETE FROM "${table}" WHERE handle = $1`, [first.handle]);
    }
  });
});

describe("counters and health", () => {
  it("refuses an amount or window that cannot be stored", async () => {
    const store = await migrated();
    await expect(store.increment("k", 1000, 1.5)).rejects.toThrow(/^cloakroom: increment amount/);
    await expect(store.increment("k", 0)).rejects.toThrow(/^cloakroom: increment windowMs/);
  });

  it("reports a health probe with its latency, and createSessions reports ok", async () => {
    const store = await migrated();
    const health = await store.health();
    expect(health).toMatchObject({ ok: true, details: { table: store.table } });
    const sessions = createSessions({ store, keys: generateKey("k1") });
    expect((await sessions.health()).status).toBe("ok");
  });
});
