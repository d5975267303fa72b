/**
 * The Postgres schema, as SQL text: `schemaSql(table)` is what `migrate()` applies and what a
 * DBA applies by hand or through their own migration tool. `schema.sql` next to this file is
 * the same text for the default table name (a test holds the two equal).
 *
 * Choices, and why:
 * - Times are `bigint` epoch milliseconds, not `timestamptz`. The record's times are the
 *   application's clock in epoch ms, and every expiry comparison is made against the
 *   caller's `now` in the same unit (see index.ts), so the columns hold exactly what the core
 *   wrote and each comparison is an integer compare with no time zone or unit conversion.
 *   In psql, `to_timestamp(expires_at / 1000.0)` shows them as dates.
 * - Indexed: `handle` (primary key), `user_id` (partial: anonymous sessions add no entry) for
 *   listUser and revokeUser, and `expires_at` so `deleteExpired` finds expired rows without
 *   scanning the table. The price of that last index: an update that changes `expires_at`
 *   cannot be a HOT update, so every write and every touch adds an entry to each index
 *   (PostgreSQL 14+ bottom-up index deletion keeps the unchanged-key indexes from bloating).
 *   Touches are therefore throttled by the core: a busy session is written at most once per
 *   touch interval (default `min(idleTimeout / 10, 300 s)`, so 180 s with the default 30 min
 *   idle timeout: at most 20 touch writes an hour, however many requests it serves).
 *   Without the index, each pruning batch would scan the whole table.
 * - `fillfactor = 90` leaves room on each page so the new version of a written or touched row
 *   usually lands on the same page: one page dirtied instead of two, and page pruning can
 *   reclaim the old version's space before vacuum runs.
 * - Logged (not UNLOGGED): an UNLOGGED table is emptied after a crash and is not replicated,
 *   so a crash or failover would sign everyone out.
 * - Counters live in their own small table with their own expiry (`reset_at`), so every row
 *   of both tables expires and `deleteExpired` prunes both.
 * - revokeUser is a plpgsql function: it must wait for a user's writes in flight and only
 *   then delete, with a snapshot taken after the wait, and a single SQL statement cannot do
 *   that (its snapshot is fixed when it starts). A function's statements each take a fresh
 *   snapshot, and calling it is still one statement for any driver (see statements.ts). They
 *   do so only under READ COMMITTED (PostgreSQL's default); under REPEATABLE READ or
 *   SERIALIZABLE one snapshot serves the whole transaction, so the function refuses to run
 *   there and says how to set the isolation level back (ERR_SESSION_CONFIG).
 *
 * @module
 */
import { SessionError } from "../../src/errors.ts";

/** The table `postgresStore` uses when none is given. */
export const DEFAULT_TABLE = "cloakroom_sessions";

/**
 * First key of the per-user advisory locks ("clkr" in ASCII); the second is
 * `hashtext(user_id)`. Writes of a user's session hold it shared, revokeUser exclusive (see
 * statements.ts). A collision with another application's advisory lock only costs a wait.
 */
export const USER_LOCK = 1668049778;

/** Longest suffix appended to the table name (an index name); Postgres cuts names at 63 bytes. */
const LONGEST_SUFFIX = "_counters_reset_at_idx";
const MAX_NAME = 63 - LONGEST_SUFFIX.length;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A validated table name: its parts, quoted forms, and the names derived from it. */
export interface TableNames {
  /** As given: `sessions` or `app.sessions`. */
  name: string;
  /** `"sessions"` or `"app"."sessions"`. */
  sessions: string;
  /** The counters table, quoted, in the same schema. */
  counters: string;
  /** Unqualified index names (an index lives in its table's schema). */
  userIndex: string;
  expiresIndex: string;
  countersIndex: string;
  /** The revoke function, quoted, in the same schema. */
  revokeFunction: string;
}

const quote = (identifier: string) => `"${identifier}"`;

/**
 * Checks `table` (an identifier, optionally schema-qualified) and derives the quoted names.
 * Only letters, digits and underscores are allowed, so quoting cannot be escaped and no SQL
 * can ride in on a table name. Quoted names are case-sensitive: `Sessions` is not `sessions`.
 */
export function tableNames(table: unknown = DEFAULT_TABLE): TableNames {
  const parts = typeof table === "string" ? table.split(".") : [];
  const base = parts[parts.length - 1] ?? "";
  const valid =
    parts.length >= 1 && parts.length <= 2 && parts.every((part) => IDENTIFIER.test(part) && part.length <= 63) &&
    base.length <= MAX_NAME;
  if (!valid) {
    throw new SessionError(
      "ERR_SESSION_CONFIG",
      `postgresStore table must be a table name such as "${DEFAULT_TABLE}" or "app.sessions": letters, digits and ` +
        `underscores, not starting with a digit, at most ${MAX_NAME} characters (an index name adds "${LONGEST_SUFFIX}"); ` +
        `got ${typeof table === "string" ? JSON.stringify(table.slice(0, 80)) : typeof table}.`,
    );
  }
  const schema = parts.length === 2 ? `${quote(parts[0]!)}.` : "";
  return {
    name: table as string,
    sessions: `${schema}${quote(base)}`,
    counters: `${schema}${quote(`${base}_counters`)}`,
    userIndex: quote(`${base}_user_id_idx`),
    expiresIndex: quote(`${base}_expires_at_idx`),
    countersIndex: quote(`${base}_counters_reset_at_idx`),
    revokeFunction: `${schema}${quote(`${base}_revoke_user`)}`,
  };
}

/**
 * The schema for `table` as plain SQL statements: idempotent (`IF NOT EXISTS`), so applying it
 * again changes nothing. `migrate()` runs the same text under an advisory lock.
 *
 * @example
 * // Print it for a migration tool: node -e 'import("cloakroom/adapters/postgres").then(m => console.log(m.schemaSql("app.sessions")))'
 * const sql = schemaSql("app.sessions");
 */
export function schemaSql(table: string = DEFAULT_TABLE): string {
  const t = tableNames(table);
  return `-- cloakroom session store, schema v2 (see adapters/postgres/schema.ts for the reasons).
-- Idempotent: postgresStore's migrate() applies it under an advisory lock; you may also apply it yourself.
CREATE TABLE IF NOT EXISTS ${t.sessions} (
  handle              text   PRIMARY KEY,  -- <tag>.<base64url(SHA-256(session id))>: never the id itself
  user_id             text,                -- null for an anonymous session
  data                jsonb  NOT NULL,     -- the application's data, a JSON object
  version             bigint NOT NULL,     -- compare-and-set counter: 1 on create, +1 per write
  created_at          bigint NOT NULL,     -- epoch ms, like every time here
  last_seen_at        bigint NOT NULL,     -- last write or touch
  expires_at          bigint NOT NULL,     -- idle expiry: min(last_seen_at + idle_timeout, absolute_expires_at)
  absolute_expires_at bigint NOT NULL,     -- nothing extends a session past it
  idle_timeout        bigint NOT NULL,     -- ms; a touch moves expires_at by it
  successor           text,                -- v2: set on a retired id's marker, the handle that replaced it
  device              text                 -- v2: a device-bound session's binding (DBSC), JSON the core writes
) WITH (fillfactor = 90);
-- v1 tables gain the v2 columns (both nullable: existing rows are live sessions, not device-bound).
ALTER TABLE ${t.sessions} ADD COLUMN IF NOT EXISTS successor text, ADD COLUMN IF NOT EXISTS device text;
CREATE INDEX IF NOT EXISTS ${t.userIndex} ON ${t.sessions} (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${t.expiresIndex} ON ${t.sessions} (expires_at);
CREATE TABLE IF NOT EXISTS ${t.counters} (
  key      text   PRIMARY KEY,
  count    bigint NOT NULL,
  reset_at bigint NOT NULL                 -- epoch ms: the window's end, and the row's expiry
);
CREATE INDEX IF NOT EXISTS ${t.countersIndex} ON ${t.counters} (reset_at);
-- revokeUser: wait for the user's writes in flight (each holds this lock shared until it
-- commits), then delete with a snapshot that sees them; returns how many were still live.
-- Only READ COMMITTED takes that snapshot after the wait: under REPEATABLE READ or SERIALIZABLE
-- the whole call sees the database as it was before, and a session written meanwhile survives.
CREATE OR REPLACE FUNCTION ${t.revokeFunction}(p_user text, p_keep text, p_now bigint) RETURNS bigint
LANGUAGE plpgsql AS $revoke$
DECLARE
  revoked bigint;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'cloakroom: revokeUser needs transaction isolation READ COMMITTED, but its connection runs at %, where it would miss sessions written while it waits. Set default_transaction_isolation to ''read committed'' for the connections the store uses (ALTER ROLE <role> SET default_transaction_isolation = ''read committed'', or the pool''s connection options), and do not call it inside a REPEATABLE READ or SERIALIZABLE transaction.',
      upper(current_setting('transaction_isolation'))
      USING ERRCODE = 'invalid_transaction_state';
  END IF;
  PERFORM pg_advisory_xact_lock(${USER_LOCK}, hashtext(p_user));
  WITH gone AS (
    DELETE FROM ${t.sessions} WHERE user_id = p_user AND handle IS DISTINCT FROM p_keep
    RETURNING expires_at, absolute_expires_at, successor
  )
  -- Retired markers go with their user but are not counted as sessions (store rule 10c).
  SELECT count(*) FILTER (WHERE expires_at > p_now AND absolute_expires_at > p_now AND successor IS NULL) INTO revoked FROM gone;
  RETURN revoked;
END
$revoke$;
`;
}

/**
 * `schemaSql` as one statement: a DO block that takes a transaction-scoped advisory lock
 * first. Concurrent `CREATE TABLE IF NOT EXISTS` / `CREATE INDEX IF NOT EXISTS` can fail with
 * a unique violation in the catalog when two sessions create the same name at once; the lock
 * makes instances starting together take turns. One statement (not BEGIN ... COMMIT) because
 * a bare query function may send each call over a different pooled connection, and because
 * HTTP drivers (Neon) accept one statement per request. A table of that name that is not
 * ours (say connect-pg-simple's) lacks our columns: the block says so in plain words rather
 * than with the bare "column does not exist" of the first index it could not build.
 */
export function migrationSql(table: string = DEFAULT_TABLE): string {
  const t = tableNames(table);
  const mismatch = `'cloakroom: the table ${t.name} (or ${t.name}_counters) exists but lacks columns postgresStore needs (it is not a cloakroom session table, or an older schema); pass postgresStore another table name, or rename or drop that table.'`;
  return `DO $cloakroom$
BEGIN
  -- "cloakroo" in ASCII: one lock for every cloakroom migration in the database.
  PERFORM pg_advisory_xact_lock(7164223571444789103);
  BEGIN
${schemaSql(table).replace(/^(?=.)/gm, "    ")}
    PERFORM handle, user_id, data, version, created_at, last_seen_at, expires_at, absolute_expires_at, idle_timeout, successor, device
      FROM ${t.sessions} LIMIT 0;
    PERFORM key, count, reset_at FROM ${t.counters} LIMIT 0;
  EXCEPTION WHEN undefined_column THEN
    RAISE EXCEPTION ${mismatch};
  END;
END
$cloakroom$`;
}
