/**
 * Every statement the Postgres store sends, built once per table. Each store operation is one
 * statement (one round trip, atomic on its own), so nothing needs a transaction or a pinned
 * connection, and an HTTP driver works as well as a pool.
 *
 * Times are epoch ms and `now` is always a parameter (the caller's clock, see index.ts).
 * Parameters carry explicit casts so that every driver, whatever types it infers or sends,
 * binds the same types. `data` is bound as text (`$3::text::jsonb`), not as jsonb: a driver
 * that serialises by parameter type (postgres.js) would otherwise JSON-encode the JSON text
 * a second time and store a string. `data` is returned as text and parsed by the adapter,
 * so the result does not depend on a driver's JSON type parser (which an application may
 * have changed).
 *
 * @module
 */
import { USER_LOCK, type TableNames } from "./schema.ts";

/** The columns a SessionRecord is read from. */
const RECORD = "user_id, data::text AS data, version, created_at, last_seen_at, expires_at, absolute_expires_at, idle_timeout, successor, device";
const LIVE = "expires_at > $2::bigint AND absolute_expires_at > $2::bigint";
/**
 * Store rule 4: due when `now - lastSeenAt >= min(interval, idleTimeout / 2)`; the halving is
 * written as a doubling so integer arithmetic gives exactly the same answer.
 */
const DUE = "($2::bigint - last_seen_at >= $3::bigint OR 2 * ($2::bigint - last_seen_at) >= idle_timeout)";
/**
 * Taken by every write, before it changes a row: the user's advisory lock, shared ($2 is the
 * record's userId; anonymous writes share a key no revocation takes). Shared holders do not
 * wait for each other; they wait only while a revocation of that user holds it exclusively,
 * and the revocation waits for them. So a write either commits before the revocation's
 * DELETE takes its snapshot (and is deleted), or commits after the revocation (and was not
 * yet done when it returned): a session written while "sign out everywhere" runs cannot slip
 * between the revocation's snapshot and its commit. Evaluated as a one-time filter, before
 * the row is touched, so it never holds a row lock while waiting (no deadlock with the
 * revocation's DELETE).
 */
const USER_LOCKED = `(SELECT pg_advisory_xact_lock_shared(${USER_LOCK}, hashtext(coalesce($2::text, '')))) IS NOT NULL`;
/** A row the adapter would return as a record (the rest is checked in JS); a touch skips any other. */
const WELL_FORMED = "jsonb_typeof(data) = 'object' AND version > 0 AND idle_timeout > 0 AND user_id IS DISTINCT FROM ''";

export interface Statements {
  /** $1 handle, $2 now. */
  read: string;
  /**
   * $1 handle, $2 now, $3 touch interval. One statement: the UPDATE touches the row when the
   * touch is due and returns it; otherwise the SELECT returns it untouched. The SELECT sees
   * the snapshot from before the UPDATE, so it is skipped when the UPDATE returned a row.
   * The UPDATE sets only `last_seen_at` and `expires_at`: a concurrent compare-and-set write
   * that commits first is re-checked and kept, never undone (and with it, a touch that is no
   * longer due does not happen).
   */
  readTouch: string;
  /** $1 handle, $2 user_id, $3 data, $4 version, $5..$9 times, $10 successor, $11 device, $12 now. Creates, or replaces an expired row. */
  create: string;
  /** $1..$11 as `create`, $12 now, $13 expected version. */
  update: string;
  /** $1 handle. */
  delete: string;
  /** $1 user id, $2 now. */
  listUser: string;
  /**
   * $1 the last handle of the page before ('' at first), $2 now, $3 page size: the next live
   * sessions in handle order, through the primary key (keyset pagination: each page starts
   * where the last ended, whatever was written or deleted in between).
   */
  scan: string;
  /** $1 user id, $2 handle to keep (or null), $3 now. Counts the rows that were still live. */
  revokeUser: string;
  /** $1 key, $2 now, $3 window ms, $4 amount (not 0). */
  increment: string;
  /** $1 key, $2 now: the live counter, if any (increment by 0 reads and creates nothing). */
  counter: string;
  health: string;
  /** $1 now, $2 batch size, $3 where the previous batch ended (the smallest safe integer at first). */
  deleteExpiredSessions: string;
  /** As deleteExpiredSessions. */
  deleteExpiredCounters: string;
}

/**
 * Pruning batch: lock up to $2 expired rows through the expiry index, skipping rows another
 * pruner holds (so concurrent pruners split the work instead of queueing on each other), then
 * delete them by their physical address (a TID scan, no second index lookup) and count what
 * this statement deleted (so no row is counted twice). The row lock pins the address, and the
 * expiry is checked again on the locked version: a row rewritten after this statement's
 * snapshot is not deleted. `ORDER BY` keeps the planner on the index even when most rows are
 * expired: a bare LIMIT would then scan the table, and each later batch would re-read the
 * rows the earlier ones left behind. $3 is the largest expiry the previous batch deleted:
 * each batch starts its index range there, rather than stepping again over the index entries
 * of every row deleted so far (dead until vacuum), which made a long run quadratic.
 */
function pruneBatch(table: string, expiry: string): string {
  return `WITH gone AS (
  DELETE FROM ${table}
  WHERE ctid = ANY (ARRAY(
      SELECT ctid FROM ${table} WHERE ${expiry} >= $3::bigint AND ${expiry} <= $1::bigint
      ORDER BY ${expiry} LIMIT $2::int FOR UPDATE SKIP LOCKED))
    AND ${expiry} <= $1::bigint
  RETURNING ${expiry}
)
SELECT count(*) AS deleted, max(${expiry}) AS last FROM gone`;
}

export function statements(t: TableNames): Statements {
  const s = t.sessions;
  const columns = "handle, user_id, data, version, created_at, last_seen_at, expires_at, absolute_expires_at, idle_timeout, successor, device";
  const values = "$1::text, $2::text, $3::text::jsonb, $4::bigint, $5::bigint, $6::bigint, $7::bigint, $8::bigint, $9::bigint, $10::text, $11::text";
  return {
    read: `SELECT ${RECORD}, false AS touched FROM ${s} WHERE handle = $1::text AND ${LIVE}`,

    readTouch: `WITH touched AS (
  UPDATE ${s} SET last_seen_at = $2::bigint, expires_at = LEAST($2::bigint + idle_timeout, absolute_expires_at)
  WHERE handle = $1::text AND ${LIVE} AND ${DUE} AND ${WELL_FORMED} AND successor IS NULL
  RETURNING ${RECORD}, true AS touched
)
SELECT * FROM touched
UNION ALL
SELECT ${RECORD}, false AS touched FROM ${s}
WHERE handle = $1::text AND ${LIVE} AND NOT EXISTS (SELECT 1 FROM touched)`,

    // Expected version 0: absent, or present but expired (store rule 3). A live row wins the
    // conflict and nothing is written; concurrent creators of one handle: exactly one inserts.
    create: `INSERT INTO ${s} AS s (${columns}) SELECT ${values} WHERE ${USER_LOCKED}
ON CONFLICT (handle) DO UPDATE SET
  user_id = EXCLUDED.user_id, data = EXCLUDED.data, version = EXCLUDED.version, created_at = EXCLUDED.created_at,
  last_seen_at = EXCLUDED.last_seen_at, expires_at = EXCLUDED.expires_at,
  absolute_expires_at = EXCLUDED.absolute_expires_at, idle_timeout = EXCLUDED.idle_timeout,
  successor = EXCLUDED.successor, device = EXCLUDED.device
WHERE s.expires_at <= $12::bigint OR s.absolute_expires_at <= $12::bigint
RETURNING 1 AS written`,

    // The row lock serialises writers of one handle; a writer that waited re-checks the version
    // on the row the winner left, so exactly one of many writers of one version succeeds.
    update: `UPDATE ${s} SET
  user_id = $2::text, data = $3::text::jsonb, version = $4::bigint, created_at = $5::bigint, last_seen_at = $6::bigint,
  expires_at = $7::bigint, absolute_expires_at = $8::bigint, idle_timeout = $9::bigint, successor = $10::text, device = $11::text
WHERE handle = $1::text AND version = $13::bigint AND expires_at > $12::bigint AND absolute_expires_at > $12::bigint
  AND ${USER_LOCKED}
RETURNING 1 AS written`,

    delete: `DELETE FROM ${s} WHERE handle = $1::text`,

    // Retired markers stay under their user (revokeUser ends them) but are not sessions (rule 10b).
    listUser: `SELECT handle, ${RECORD} FROM ${s} WHERE user_id = $1::text AND ${LIVE} AND successor IS NULL`,

    scan: `SELECT handle, ${RECORD} FROM ${s} WHERE handle > $1::text AND ${LIVE} ORDER BY handle LIMIT $3::int`,

    // The function (schema.ts) takes the user's lock exclusively, waits out the writes in
    // flight, then deletes with a fresh snapshot: every write that committed before it is gone.
    revokeUser: `SELECT ${t.revokeFunction}($1::text, $2::text, $3::bigint) AS revoked`,

    // An upsert is atomic per key: parallel increments each see the previous one's count.
    increment: `INSERT INTO ${t.counters} AS c (key, count, reset_at) VALUES ($1::text, $4::bigint, $2::bigint + $3::bigint)
ON CONFLICT (key) DO UPDATE SET
  count = CASE WHEN c.reset_at <= $2::bigint THEN $4::bigint ELSE c.count + $4::bigint END,
  reset_at = CASE WHEN c.reset_at <= $2::bigint THEN $2::bigint + $3::bigint ELSE c.reset_at END
RETURNING count, reset_at`,

    counter: `SELECT count, reset_at FROM ${t.counters} WHERE key = $1::text AND reset_at > $2::bigint`,

    health: "SELECT 1 AS ok",

    deleteExpiredSessions: pruneBatch(s, "expires_at"),
    deleteExpiredCounters: pruneBatch(t.counters, "reset_at"),
  };
}
