/**
 * PostgreSQL store, driver-agnostic: it runs over any function that sends one statement with
 * `$1` parameters and returns rows, and ships helpers for the drivers applications use
 * (`pg`, `postgres`, Neon's HTTP `neon()`, PGlite). It never opens a connection, reads the
 * environment or starts a timer; pruning is `deleteExpired()`, called from a cron job.
 *
 * Every operation is one statement (pruning: one per batch). A read that is due to touch the
 * session is an `UPDATE ... RETURNING` in the same statement as the read, and a read never
 * returns an expired row, pruned or not. `revokeUser` deletes every session of the user whose
 * write committed before the revocation did (a per-user advisory lock, see statements.ts),
 * and waits for this store's own writes of that user still in flight.
 *
 * Time: every expiry comparison uses the caller's clock, passed as a parameter (`touch.now`
 * on a read, else the `clock` option), never the server's `now()`. The record's times were
 * written by that same clock (the core computes `expiresAt` from it, and checks a record it
 * reads against it), so store and core agree on what is expired even when the database
 * server's clock is off; mixing the two clocks would make a session that the core sees as
 * live vanish early, or the other way round. Keep application hosts on NTP.
 *
 * @module
 */
import { SessionError } from "../../src/errors.ts";
import { scanPageSize, type CounterResult, type ReadResult, type ScanOptions, type ScanPage, type SessionRecord, type SessionStore, type StoreHealth, type TouchRequest, type UserSession } from "../../src/store.ts";
import type { QueryFunction, Row } from "./drivers.ts";
import { safeCause, sqlstateBehind, sqlstateOf, statementError } from "./errors.ts";
import { ms, numberOf, recordOf, sessionsOf } from "./rows.ts";
import { DEFAULT_TABLE, migrationSql, tableNames } from "./schema.ts";
import { statements } from "./statements.ts";
import { WritesInFlight } from "./writes-in-flight.ts";

export { fromNeon, fromPg, fromPGlite, fromPostgresJs } from "./drivers.ts";
export type { FromPgOptions, NeonHttpSql, PgQueryable, PGliteQueryable, PostgresJsSql, QueryFunction, Row } from "./drivers.ts";
export { DEFAULT_TABLE, schemaSql } from "./schema.ts";

export interface PostgresStoreOptions {
  /** Runs one statement: wrap your driver with `fromPg`, `fromPostgresJs`, `fromNeon` or `fromPGlite`. */
  query: QueryFunction;
  /**
   * Table name, optionally schema-qualified (`"app.sessions"`). Counters go to `<table>_counters`
   * in the same schema. Quoted, so case-sensitive. @default "cloakroom_sessions"
   */
  table?: string;
  /** Epoch ms; pass the session manager's clock in tests. @default Date.now */
  clock?: () => number;
}

export interface DeleteExpiredOptions {
  /** Rows deleted per statement; each batch is a short transaction. @default 1000 */
  batchSize?: number;
  /**
   * Stop after this many batches per table, to fit a time budget (a Workers cron trigger);
   * the next run continues. @default Infinity
   */
  maxBatches?: number;
}

export interface DeleteExpiredResult {
  /** Expired sessions this call deleted (rows a concurrent caller deleted are not counted). */
  sessions: number;
  /** Expired counters this call deleted. */
  counters: number;
  /** Statements sent. */
  batches: number;
}

export interface PostgresStore extends SessionStore {
  readonly retiredIds: true;
  listUser(userId: string): Promise<UserSession[]>;
  revokeUser(userId: string, options?: { except?: string }): Promise<number>;
  increment(key: string, windowMs: number, amount?: number): Promise<CounterResult>;
  health(): Promise<StoreHealth>;
  /** Pages in handle order, one statement each; the cursor is the last handle of the page before. */
  scan(cursor: string | null, options?: ScanOptions): Promise<ScanPage>;
  /**
   * Creates the tables and indexes if they are missing; safe to call on every start and from
   * several instances at once (they take turns on an advisory lock). Throws a SessionError when
   * the table exists but is not a cloakroom table.
   */
  migrate(): Promise<void>;
  /**
   * Deletes expired sessions and counters in batches through the expiry indexes. Reads never
   * return expired rows, so this only reclaims space: run it from a cron job or a Workers cron
   * trigger, every few minutes to hours. Safe to run from several instances at once.
   */
  deleteExpired(options?: DeleteExpiredOptions): Promise<DeleteExpiredResult>;
  /** The table name as given (or the default). */
  readonly table: string;
}

function checkOptions(options: PostgresStoreOptions): void {
  if (typeof options !== "object" || options === null || typeof options.query !== "function") {
    throw new SessionError(
      "ERR_SESSION_CONFIG",
      "postgresStore needs `query`, a function (text, params) => Promise<{ rows }>; wrap your driver: " +
        "fromPg(pool), fromPostgresJs(sql), fromNeon(neon(url)) or fromPGlite(db).",
    );
  }
  if (options.clock !== undefined && typeof options.clock !== "function") {
    throw new SessionError("ERR_SESSION_CONFIG", "postgresStore clock must be a function returning epoch ms, such as Date.now.");
  }
}

/**
 * @example
 * import pg from "pg";
 * import { postgresStore, fromPg } from "cloakroom/adapters/postgres";
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const store = postgresStore({ query: fromPg(pool) });
 * await store.migrate();
 * const sessions = createSessions({ store, keys: process.env.SESSION_KEYS });
 */
export function postgresStore(options: PostgresStoreOptions): PostgresStore {
  checkOptions(options);
  const names = tableNames(options.table === undefined ? DEFAULT_TABLE : options.table);
  const sql = statements(names);
  const migration = migrationSql(names.name);
  const clock = options.clock ?? Date.now;
  const query = options.query;

  /** Statement text -> its name, for error messages. */
  const operations = new Map<string, string>(Object.entries(sql).map(([name, text]) => [text, name]));

  /**
   * Runs a statement. A failure is always a SessionError whose cause is a plain copy of the
   * driver's error (errors.ts: `detail`, `where` and parameters can hold session data): "the
   * table is missing" says what to do about it, a data exception is ERR_SESSION_DATA, a setting
   * the revoke function refuses is ERR_SESSION_CONFIG, anything else ERR_SESSION_STORE.
   */
  async function run(text: string, params: readonly unknown[]): Promise<readonly Row[]> {
    try {
      const result = await query(text, params);
      return result.rows;
    } catch (error) {
      // undefined_table, undefined_function: not migrated; undefined_column: not our table.
      const code = sqlstateOf(error);
      if (code === "42P01" || code === "42883") {
        throw new SessionError(
          "ERR_SESSION_STORE",
          `the Postgres table ${names.name} (or ${names.name}_counters, or its revoke function) does not exist; call store.migrate() once at start-up, ` +
            `or apply schemaSql(${JSON.stringify(names.name)}) with your migration tool.`,
          { cause: safeCause(error, params) },
        );
      }
      if (code === "42703") {
        throw new SessionError(
          "ERR_SESSION_STORE",
          `the Postgres table ${names.name} lacks a column postgresStore uses (it is not a cloakroom table, or an older schema); pass another table name or migrate it.`,
          { cause: safeCause(error, params) },
        );
      }
      // The revoke function raises "cloakroom: ..." for a connection setting to fix (schema.ts).
      const message = error instanceof Error ? error.message : "";
      if (message.startsWith("cloakroom: ")) {
        throw new SessionError("ERR_SESSION_CONFIG", message.slice("cloakroom: ".length), { cause: safeCause(error, params) });
      }
      throw statementError(operations.get(text) ?? "unnamed", error, params);
    }
  }

  /**
   * Under REPEATABLE READ or SERIALIZABLE (a role's or pool's default), a statement that meets
   * a row a concurrent write changed fails with serialization_failure (40001) where READ
   * COMMITTED re-checks the row. The statement wrote nothing, so `fallback` answers instead.
   */
  function unlessSerializationFailure<T>(sent: Promise<T>, fallback: () => T | Promise<T>): Promise<T> {
    return sent.catch((error: unknown) => {
      if (sqlstateBehind(error) === "40001") return fallback();
      throw error;
    });
  }

  function recordParams(handle: string, record: SessionRecord): unknown[] {
    return [
      handle, record.userId, JSON.stringify(record.data), record.version, ms(record.createdAt), ms(record.lastSeenAt),
      ms(record.expiresAt), ms(record.absoluteExpiresAt), ms(record.idleTimeout), record.successor ?? null, record.device ?? null,
    ];
  }

  const writesInFlight = new WritesInFlight();

  async function prune(text: string, now: number, batchSize: number, maxBatches: number): Promise<{ deleted: number; batches: number }> {
    let deleted = 0;
    let batches = 0;
    let after = Number.MIN_SAFE_INTEGER;
    while (batches < maxBatches) {
      const [row] = await run(text, [now, batchSize, after]);
      batches++;
      const count = numberOf(row?.deleted);
      deleted += count;
      // A short batch means nothing expired is left that another pruner is not already deleting.
      if (!(count >= batchSize)) break;
      after = numberOf(row?.last);
    }
    return { deleted, batches };
  }


  return {
    name: "postgres",
    retiredIds: true,
    table: names.name,

    async read(handle: string, touch?: TouchRequest): Promise<ReadResult | null> {
      const rows = touch
        // A touch that met a concurrent write is skipped (the write's lastSeenAt is as new).
        ? await unlessSerializationFailure(run(sql.readTouch, [handle, ms(touch.now), ms(touch.interval)]), () => run(sql.read, [handle, ms(touch.now)]))
        : await run(sql.read, [handle, ms(clock())]);
      const row = rows[0];
      if (!row) return null;
      const record = recordOf(row);
      return record ? { record, touched: row.touched === true } : null;
    },

    async write(handle: string, record: SessionRecord, expectedVersion: number): Promise<boolean> {
      const now = ms(clock());
      // A version that can never be stored can never match.
      if (expectedVersion !== 0 && (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0)) return false;
      const sent = expectedVersion === 0
        ? run(sql.create, [...recordParams(handle, record), now])
        : run(sql.update, [...recordParams(handle, record), now, expectedVersion]);
      // A write that met a concurrent one under REPEATABLE READ lost the compare-and-set.
      const rows = await writesInFlight.track(record.userId, unlessSerializationFailure(sent, () => []));
      return rows.length > 0;
    },

    async delete(handle: string): Promise<void> {
      await run(sql.delete, [handle]);
    },

    async listUser(userId: string): Promise<UserSession[]> {
      return sessionsOf(await run(sql.listUser, [userId, ms(clock())]));
    },

    async scan(cursor: string | null, scanOptions: ScanOptions = {}): Promise<ScanPage> {
      const limit = scanPageSize(scanOptions);
      const rows = await run(sql.scan, [cursor ?? "", ms(clock()), limit]);
      const sessions = sessionsOf(rows);
      // A short page is the last: the LIMIT applies after the expiry filter.
      const last = rows.at(-1)?.handle;
      return { sessions, next: rows.length >= limit && typeof last === "string" ? last : null };
    },

    async revokeUser(userId: string, revokeOptions: { except?: string } = {}): Promise<number> {
      await writesInFlight.settled(userId);
      const [row] = await run(sql.revokeUser, [userId, revokeOptions.except ?? null, ms(clock())]);
      return numberOf(row?.revoked) || 0;
    },

    async increment(key: string, windowMs: number, amount = 1): Promise<CounterResult> {
      if (typeof windowMs !== "number" || !(windowMs >= 1) || !Number.isFinite(windowMs)) {
        throw new SessionError("ERR_SESSION_CONFIG", `increment windowMs must be a number of milliseconds >= 1; got ${String(windowMs)}.`);
      }
      if (!Number.isSafeInteger(amount)) {
        throw new SessionError("ERR_SESSION_CONFIG", `increment amount must be an integer; got ${String(amount)}.`);
      }
      const now = ms(clock());
      if (amount === 0) {
        const [live] = await run(sql.counter, [key, now]);
        return live ? { count: numberOf(live.count), resetAt: numberOf(live.reset_at) } : { count: 0, resetAt: now + ms(windowMs) };
      }
      const [row] = await run(sql.increment, [key, now, ms(windowMs), amount]);
      return { count: numberOf(row?.count), resetAt: numberOf(row?.reset_at) };
    },

    async health(): Promise<StoreHealth> {
      const started = performance.now();
      const [row] = await run(sql.health, []);
      const latencyMs = performance.now() - started;
      return { ok: numberOf(row?.ok) === 1, latencyMs, details: { table: names.name } };
    },

    async migrate(): Promise<void> {
      try {
        await query(migration, []);
      } catch (error) {
        // The DO block raises its own "cloakroom: ..." message for a table that is not ours.
        const message = (error as { message?: unknown } | null)?.message;
        if (typeof message === "string" && message.startsWith("cloakroom: ")) {
          throw new SessionError("ERR_SESSION_CONFIG", message.slice("cloakroom: ".length), { cause: error });
        }
        throw error;
      }
    },

    async deleteExpired(pruneOptions: DeleteExpiredOptions = {}): Promise<DeleteExpiredResult> {
      const batchSize = pruneOptions.batchSize ?? 1000;
      const maxBatches = pruneOptions.maxBatches ?? Number.POSITIVE_INFINITY;
      if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
        throw new SessionError("ERR_SESSION_CONFIG", `deleteExpired batchSize must be an integer from 1 to 100000; got ${String(batchSize)}.`);
      }
      if (!(maxBatches >= 1) || (maxBatches !== Number.POSITIVE_INFINITY && !Number.isSafeInteger(maxBatches))) {
        throw new SessionError("ERR_SESSION_CONFIG", `deleteExpired maxBatches must be an integer >= 1 (or Infinity); got ${String(maxBatches)}.`);
      }
      // One instant for the whole run, so rows expiring meanwhile do not keep it going.
      const now = ms(clock());
      const sessions = await prune(sql.deleteExpiredSessions, now, batchSize, maxBatches);
      const counters = await prune(sql.deleteExpiredCounters, now, batchSize, maxBatches);
      return { sessions: sessions.deleted, counters: counters.deleted, batches: sessions.batches + counters.batches };
    },
  };
}

export { postgresReplay, replaySchemaSql, DEFAULT_REPLAY_TABLE, type PostgresReplay, type PostgresReplayOptions } from "./replay.ts";
