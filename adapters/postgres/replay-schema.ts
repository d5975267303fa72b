/**
 * The Postgres schema of the replay log, as SQL text: `replaySchemaSql(table)` is what
 * `postgresReplay(...).migrate()` applies, and what a DBA applies with their own tool.
 *
 * Choices, and why:
 * - Events are keyed `(channel, seq)`: a catch-up is one range scan of the primary key, and
 *   pruning deletes a prefix of it. The event is `text`, the JSON the core wrote, kept as written
 *   (no jsonb parse on the hot path; `event::jsonb` works in a query).
 * - The channel's head lives in its own row, bumped by the append's upsert: the row lock orders
 *   concurrent appends of one channel, so numbers are gap-free across processes with no
 *   sequence object (a sequence skips numbers on rollback) and no explicit transaction.
 * - Times are `bigint` epoch ms of the caller's clock, as in the session table.
 * - Logged tables: events, positions and tokens survive a crash and reach replicas.
 * - `idle_until` (channels) and `expires_at` (members, tokens) are indexed so pruning finds what
 *   expired without scanning.
 *
 * @module
 */
import { SessionError } from "../../src/errors.ts";

export const DEFAULT_REPLAY_TABLE = "cloakroom_replay";

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LONGEST_SUFFIX = "_channels_idle_until_idx";
const MAX_NAME = 63 - LONGEST_SUFFIX.length;
const quote = (identifier: string) => `"${identifier}"`;

export interface ReplayTables {
  name: string;
  events: string;
  channels: string;
  members: string;
  tokens: string;
  channelsIndex: string;
  membersIndex: string;
  tokensIndex: string;
}

export function replayTables(table: unknown = DEFAULT_REPLAY_TABLE): ReplayTables {
  const parts = typeof table === "string" ? table.split(".") : [];
  const base = parts[parts.length - 1] ?? "";
  if (!(parts.length >= 1 && parts.length <= 2 && parts.every((part) => IDENTIFIER.test(part) && part.length <= 63) && base.length <= MAX_NAME)) {
    throw new SessionError(
      "ERR_SESSION_CONFIG",
      `postgresReplay table must be a table name such as "${DEFAULT_REPLAY_TABLE}" or "app.replay": letters, digits and underscores, ` +
        `not starting with a digit, at most ${MAX_NAME} characters; got ${typeof table === "string" ? JSON.stringify(table.slice(0, 80)) : typeof table}.`,
    );
  }
  const schema = parts.length === 2 ? `${quote(parts[0]!)}.` : "";
  return {
    name: table as string,
    events: `${schema}${quote(base)}`,
    channels: `${schema}${quote(`${base}_channels`)}`,
    members: `${schema}${quote(`${base}_members`)}`,
    tokens: `${schema}${quote(`${base}_tokens`)}`,
    channelsIndex: quote(`${base}_channels_idle_until_idx`),
    membersIndex: quote(`${base}_members_expires_at_idx`),
    tokensIndex: quote(`${base}_tokens_expires_at_idx`),
  };
}

/**
 * @example
 * const sql = replaySchemaSql("app.replay"); // for a migration tool
 */
export function replaySchemaSql(table: string = DEFAULT_REPLAY_TABLE): string {
  const t = replayTables(table);
  return `-- cloakroom replay log, schema v1 (see adapters/postgres/replay-schema.ts for the reasons). Idempotent.
CREATE TABLE IF NOT EXISTS ${t.events} (
  channel text   NOT NULL,
  seq     bigint NOT NULL,          -- 1, 2, 3, ... per channel, no gaps
  at      bigint NOT NULL,          -- epoch ms, never lower than the event before
  event   text   NOT NULL,          -- the JSON the core wrote
  PRIMARY KEY (channel, seq)
);
CREATE TABLE IF NOT EXISTS ${t.channels} (
  channel    text   PRIMARY KEY,
  head       bigint NOT NULL,       -- the last sequence number given out
  last_at    bigint NOT NULL,       -- the time of that event
  idle_until bigint NOT NULL        -- after it (and with no live member) the channel may be forgotten
);
CREATE INDEX IF NOT EXISTS ${t.channelsIndex} ON ${t.channels} (idle_until);
CREATE TABLE IF NOT EXISTS ${t.members} (
  channel      text   NOT NULL,
  member       text   NOT NULL,
  seq          bigint NOT NULL,     -- the acknowledged position
  heartbeat_at bigint NOT NULL,
  ttl          bigint NOT NULL,     -- ms, of the last heartbeat
  expires_at   bigint NOT NULL,     -- live until then
  PRIMARY KEY (channel, member)
);
CREATE INDEX IF NOT EXISTS ${t.membersIndex} ON ${t.members} (expires_at);
CREATE TABLE IF NOT EXISTS ${t.tokens} (
  hash       text   PRIMARY KEY,    -- base64url(SHA-256(resume token)): never the token
  expires_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS ${t.tokensIndex} ON ${t.tokens} (expires_at);
`;
}

/** `replaySchemaSql` as one statement, under the same advisory lock as the session migration. */
export function replayMigrationSql(table: string = DEFAULT_REPLAY_TABLE): string {
  const t = replayTables(table);
  return `DO $cloakroom$
BEGIN
  PERFORM pg_advisory_xact_lock(7164223571444789103);
  BEGIN
${replaySchemaSql(table).replace(/^(?=.)/gm, "    ")}
    PERFORM channel, seq, at, event FROM ${t.events} LIMIT 0;
    PERFORM channel, head, last_at, idle_until FROM ${t.channels} LIMIT 0;
    PERFORM channel, member, seq, heartbeat_at, ttl, expires_at FROM ${t.members} LIMIT 0;
    PERFORM hash, expires_at FROM ${t.tokens} LIMIT 0;
  EXCEPTION WHEN undefined_column THEN
    RAISE EXCEPTION 'cloakroom: the table ${t.name} (or one of ${t.name}_channels, _members, _tokens) exists but lacks columns postgresReplay needs; pass postgresReplay another table name.';
  END;
END
$cloakroom$`;
}
