/**
 * Every statement the Postgres replay backend sends, built once per table. Each operation is one
 * statement (one round trip, atomic on its own), so no transaction or pinned connection is
 * needed and an HTTP driver works as well as a pool. Parameters carry explicit casts, as in the
 * session store's statements.ts, so every driver binds the same types.
 *
 * @module
 */
import type { ReplayTables } from "./replay-schema.ts";

export function replayStatements(t: ReplayTables) {
  return {
    /**
     * $1 channel, $2 JSON array of the events (each the JSON text the core wrote), $3 now, $4
     * retention ms, $5 how many. The upsert's row lock orders appends; the events take the numbers
     * head+1..head+n in the array's order.
     */
    append: `WITH c AS (
  INSERT INTO ${t.channels} AS c (channel, head, last_at, idle_until) VALUES ($1::text, $5::bigint, $3::bigint, $3::bigint + $4::bigint)
  ON CONFLICT (channel) DO UPDATE SET head = c.head + $5::bigint, last_at = GREATEST(c.last_at, EXCLUDED.last_at), idle_until = GREATEST(c.idle_until, EXCLUDED.idle_until)
  RETURNING head, last_at
)
INSERT INTO ${t.events} (channel, seq, at, event)
SELECT $1::text, c.head - $5::bigint + e.ord, c.last_at, e.event FROM c, json_array_elements_text($2::text::json) WITH ORDINALITY AS e(event, ord)
RETURNING seq, at`,

    /** $1 channel, $2 after, $3 limit, $4 cutoff (now - retention), $5 maxEvents. No row: unknown channel. */
    read: `SELECT c.head, e.seq, e.at, e.event FROM ${t.channels} c LEFT JOIN LATERAL (
  SELECT seq, at, event FROM ${t.events} ev
  WHERE ev.channel = c.channel AND ev.seq > GREATEST($2::bigint, c.head - $5::bigint) AND ev.at >= $4::bigint
  ORDER BY ev.seq LIMIT $3::bigint
) e ON true WHERE c.channel = $1::text ORDER BY e.seq`,

    /** $1 channel, $2 member, $3 now, $4 ttl ms. A member that was not live starts at the head. */
    heartbeat: `INSERT INTO ${t.members} AS m (channel, member, seq, heartbeat_at, ttl, expires_at)
SELECT $1::text, $2::text, COALESCE((SELECT head FROM ${t.channels} WHERE channel = $1::text), 0), $3::bigint, $4::bigint, $3::bigint + $4::bigint
ON CONFLICT (channel, member) DO UPDATE SET
  seq = CASE WHEN m.expires_at > EXCLUDED.heartbeat_at THEN m.seq ELSE EXCLUDED.seq END,
  heartbeat_at = EXCLUDED.heartbeat_at, ttl = EXCLUDED.ttl, expires_at = EXCLUDED.expires_at`,

    /** $1 channel, $2 member, $3 seq, $4 now, $5 ttl ms for a member that was not live. */
    ack: `INSERT INTO ${t.members} AS m (channel, member, seq, heartbeat_at, ttl, expires_at)
SELECT $1::text, $2::text, LEAST($3::bigint, COALESCE((SELECT head FROM ${t.channels} WHERE channel = $1::text), 0)), $4::bigint, $5::bigint, $4::bigint + $5::bigint
ON CONFLICT (channel, member) DO UPDATE SET
  seq = CASE WHEN m.expires_at > EXCLUDED.heartbeat_at THEN GREATEST(m.seq, EXCLUDED.seq) ELSE EXCLUDED.seq END,
  ttl = CASE WHEN m.expires_at > EXCLUDED.heartbeat_at THEN m.ttl ELSE EXCLUDED.ttl END,
  heartbeat_at = EXCLUDED.heartbeat_at,
  expires_at = EXCLUDED.heartbeat_at + CASE WHEN m.expires_at > EXCLUDED.heartbeat_at THEN m.ttl ELSE EXCLUDED.ttl END`,

    /** $1 channel, $2 now. */
    members: `SELECT member, seq, heartbeat_at, expires_at FROM ${t.members} WHERE channel = $1::text AND expires_at > $2::bigint`,

    /**
     * $1 channel, $2 now, $3 cutoff, $4 maxEvents, $5 batch. Deletes from the oldest `batch` events
     * those at or below the bound or past the retention: both are prefixes (times never decrease),
     * so what is left has no hole, whichever prunes run at once (SKIP LOCKED: none waits).
     */
    prune: `WITH gone_members AS (
  DELETE FROM ${t.members} WHERE (channel, member) IN (
    SELECT channel, member FROM ${t.members} WHERE channel = $1::text AND expires_at <= $2::bigint LIMIT $5::bigint FOR UPDATE SKIP LOCKED)
  RETURNING 1
), bound AS (
  SELECT GREATEST(
    COALESCE((SELECT head FROM ${t.channels} WHERE channel = $1::text), 0) - $4::bigint,
    COALESCE((SELECT min(seq) FROM ${t.members} WHERE channel = $1::text AND expires_at > $2::bigint), -1)
  ) AS b
), oldest AS (
  SELECT seq, at FROM ${t.events} WHERE channel = $1::text ORDER BY seq LIMIT $5::bigint FOR UPDATE SKIP LOCKED
), gone AS (
  DELETE FROM ${t.events} WHERE channel = $1::text AND seq IN (SELECT seq FROM oldest, bound WHERE oldest.seq <= bound.b OR oldest.at < $3::bigint)
  RETURNING 1
)
SELECT (SELECT count(*) FROM gone) AS deleted, (SELECT count(*) FROM gone_members) AS members`,

    /**
     * $1 now, $2 batch. What no channel's prune reaches: expired tokens and members anywhere, and
     * channels idle past their retention with no live member (their events and members too).
     */
    sweep: `WITH tokens AS (
  DELETE FROM ${t.tokens} WHERE hash IN (SELECT hash FROM ${t.tokens} WHERE expires_at <= $1::bigint LIMIT $2::bigint FOR UPDATE SKIP LOCKED) RETURNING 1
), members AS (
  DELETE FROM ${t.members} WHERE (channel, member) IN (
    SELECT channel, member FROM ${t.members} WHERE expires_at <= $1::bigint LIMIT $2::bigint FOR UPDATE SKIP LOCKED) RETURNING 1
), idle AS (
  SELECT channel FROM ${t.channels} c WHERE idle_until <= $1::bigint
    AND NOT EXISTS (SELECT 1 FROM ${t.members} m WHERE m.channel = c.channel AND m.expires_at > $1::bigint)
  LIMIT 10 FOR UPDATE SKIP LOCKED
), events AS (
  DELETE FROM ${t.events} WHERE channel IN (SELECT channel FROM idle) RETURNING 1
), channels AS (
  DELETE FROM ${t.channels} WHERE channel IN (SELECT channel FROM idle) RETURNING 1
)
SELECT (SELECT count(*) FROM tokens) AS tokens, (SELECT count(*) FROM channels) AS channels`,

    /** $1 hash, $2 expires at. */
    saveToken: `INSERT INTO ${t.tokens} (hash, expires_at) VALUES ($1::text, $2::bigint) ON CONFLICT (hash) DO UPDATE SET expires_at = EXCLUDED.expires_at`,

    /** $1 hash, $2 now. A row back: it was there and live, and is gone now. */
    consumeToken: `WITH gone AS (DELETE FROM ${t.tokens} WHERE hash = $1::text RETURNING expires_at) SELECT 1 AS ok FROM gone WHERE expires_at > $2::bigint`,
  };
}
