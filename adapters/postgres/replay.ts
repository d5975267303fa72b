/**
 * The replay log on PostgreSQL, over the same driver helpers as the session store (`fromPg`,
 * `fromPostgresJs`, `fromNeon`, `fromPGlite`). Events are keyed `(channel, seq)`; an append is
 * one statement (the channel row's upsert numbers it), a read is one range scan, pruning deletes
 * bounded batches as part of the log's own calls, so no cron job is needed. Concurrent appends
 * to one channel from this process go together as one statement (replay-appends.ts). Schema:
 * replay-schema.ts, applied by `migrate()`.
 *
 * Needs READ COMMITTED (PostgreSQL's default), like the session store: under REPEATABLE READ
 * two appends racing on one channel fail with a serialization error, which the backend retries.
 *
 * @module
 */
import { SessionError } from "../../src/errors.ts";
import type { MemberRecord, ReplayBackend, StoredEvent } from "../../src/replay/backend.ts";
import type { QueryFunction, Row } from "./drivers.ts";
import { safeCause, sqlstateBehind, sqlstateOf, statementError } from "./errors.ts";
import { replayMigrationSql, replayTables, DEFAULT_REPLAY_TABLE } from "./replay-schema.ts";
import { coalescedAppends } from "./replay-appends.ts";
import { replayStatements } from "./replay-statements.ts";
import { numberOf } from "./rows.ts";

export { replaySchemaSql, DEFAULT_REPLAY_TABLE } from "./replay-schema.ts";

export interface PostgresReplayOptions {
  /** Runs one statement: `fromPg(pool)`, `fromPostgresJs(sql)`, `fromNeon(neon(url))` or `fromPGlite(db)`. */
  query: QueryFunction;
  /**
   * Events table, optionally schema-qualified; `<table>_channels`, `_members` and `_tokens` go
   * beside it. @default "cloakroom_replay"
   */
  table?: string;
}

export interface PostgresReplay extends ReplayBackend {
  /** Creates the tables and indexes if they are missing; idempotent and safe from several instances. */
  migrate(): Promise<void>;
  readonly table: string;
}

const SERIALIZATION_RETRIES = 5;

function int(value: unknown, what: string): number {
  const number = numberOf(value);
  if (!Number.isSafeInteger(number)) throw new SessionError("ERR_SESSION_STORE", `the postgres replay table returned ${what} that is not an integer; is it a cloakroom replay table?`);
  return number;
}

/**
 * @example
 * import pg from "pg";
 * import { fromPg, postgresReplay } from "cloakroom/adapters/postgres";
 * const backend = postgresReplay({ query: fromPg(new pg.Pool({ connectionString: process.env.DATABASE_URL })) });
 * await backend.migrate();
 * const log = createReplayLog({ backend, sessions });
 */
export function postgresReplay(options: PostgresReplayOptions): PostgresReplay {
  if (typeof options?.query !== "function") {
    throw new SessionError(
      "ERR_SESSION_CONFIG",
      "postgresReplay needs `query`, a function (text, params) => Promise<{ rows }>; wrap your driver: fromPg(pool), fromPostgresJs(sql), fromNeon(neon(url)) or fromPGlite(db).",
    );
  }
  const tables = replayTables(options.table ?? DEFAULT_REPLAY_TABLE);
  const sql = replayStatements(tables);
  const names = new Map<string, string>(Object.entries(sql).map(([name, text]) => [text, name]));
  const query = options.query;

  async function run(text: string, params: readonly unknown[]): Promise<readonly Row[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await query(text, params)).rows;
      } catch (error) {
        // Each statement is atomic: one that failed on a serialization conflict changed nothing.
        if (sqlstateBehind(error) === "40001" && attempt < SERIALIZATION_RETRIES) continue;
        const code = sqlstateOf(error);
        if (code === "42P01" || code === "42703") {
          throw new SessionError(
            "ERR_SESSION_STORE",
            `the Postgres replay tables ${tables.name}... are missing or not cloakroom's; call backend.migrate() once at start-up, or apply replaySchemaSql(${JSON.stringify(tables.name)}).`,
            { cause: safeCause(error) },
          );
        }
        throw statementError(`replay ${names.get(text) ?? "unnamed"}`, error);
      }
    }
  }

  const append = coalescedAppends((params) => run(sql.append, params), (value) => int(value, "a sequence number or time"));

  return {
    name: "postgres",
    table: tables.name,

    append: (channel, payload, now, policy) => append(channel, payload, now, policy.retentionMs),

    async read(channel, after, limit, now, policy) {
      const rows = await run(sql.read, [channel, after, limit, now - policy.retentionMs, policy.maxEvents]);
      const events: StoredEvent[] = [];
      for (const row of rows) {
        if (row.seq === null || row.seq === undefined) continue;
        events.push({ seq: int(row.seq, "a sequence number"), at: int(row.at, "a time"), payload: String(row.event) });
      }
      return { head: rows[0] ? int(rows[0].head, "a head") : 0, events };
    },

    async heartbeat(channel, member, now, ttlMs) {
      await run(sql.heartbeat, [channel, member, now, ttlMs]);
    },

    async ack(channel, member, seq, now, policy) {
      await run(sql.ack, [channel, member, seq, now, policy.memberTtlMs]);
    },

    async members(channel, now) {
      const rows = await run(sql.members, [channel, now]);
      return rows.map((row): MemberRecord => ({
        member: String(row.member),
        seq: int(row.seq, "a position"),
        heartbeatAt: int(row.heartbeat_at, "a time"),
        expiresAt: int(row.expires_at, "a time"),
      }));
    },

    async prune(channel, now, policy) {
      const [row] = await run(sql.prune, [channel, now, now - policy.retentionMs, policy.maxEvents, policy.batch]);
      await run(sql.sweep, [now, policy.batch]);
      return int(row?.deleted, "a count");
    },

    async saveToken(hash, expiresAt) {
      await run(sql.saveToken, [hash, expiresAt]);
    },

    async consumeToken(hash, now) {
      return (await run(sql.consumeToken, [hash, now])).length > 0;
    },

    async migrate() {
      try {
        await query(replayMigrationSql(tables.name), []);
      } catch (error) {
        const message = (error as { message?: unknown } | null)?.message;
        if (typeof message === "string" && message.startsWith("cloakroom: ")) {
          throw new SessionError("ERR_SESSION_CONFIG", message.slice("cloakroom: ".length), { cause: safeCause(error) });
        }
        throw error;
      }
    },
  };
}
