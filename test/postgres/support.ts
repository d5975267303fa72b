/**
 * What the Postgres test files share: the conformance `backend` that reads the tables directly
 * (through the same query function, but with SQL of its own, bypassing the adapter), and a
 * query function wrapper that records every statement sent.
 */
import type { ConformanceBackend } from "cloakroom/testing";
import type { PostgresStore, QueryFunction } from "../../adapters/postgres/index.ts";
import { tableNames } from "../../adapters/postgres/schema.ts";

export const asNumber = (value: unknown) => (value === null || value === undefined ? value : Number(value));

/** The row under `handle` as stored, every column as Postgres holds it (data as jsonb text). */
export async function rawRow(query: QueryFunction, table: string, handle: string) {
  const { rows } = await query(
    `SELECT handle, user_id, data::text AS data, version, created_at, last_seen_at, expires_at, absolute_expires_at, idle_timeout
     FROM ${tableNames(table).sessions} WHERE handle = $1`,
    [handle],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    handle: row.handle as string,
    userId: row.user_id as string | null,
    data: JSON.parse(row.data as string) as unknown,
    version: Number(row.version),
    createdAt: Number(row.created_at),
    lastSeenAt: Number(row.last_seen_at),
    expiresAt: Number(row.expires_at),
    absoluteExpiresAt: Number(row.absolute_expires_at),
    idleTimeout: Number(row.idle_timeout),
  };
}

/** Ways a row can hold something cloakroom did not write; each must read as no session. */
export const CORRUPTIONS: Array<{ name: string; set: string }> = [
  { name: "data is a JSON string", set: `data = '"garbage"'::jsonb` },
  { name: "data is an array", set: `data = '[1, 2, 3]'::jsonb` },
  { name: "data is JSON null", set: `data = 'null'::jsonb` },
  { name: "version is 0", set: "version = 0" },
  { name: "idle timeout is negative", set: "idle_timeout = -5" },
  { name: "user id is empty", set: "user_id = ''" },
];

/** The conformance suite's direct view of the backend, for a store over `query` and `table`. */
export function postgresBackend(query: QueryFunction, table: string): ConformanceBackend<PostgresStore> {
  const t = tableNames(table);
  return {
    async expiryOf(_store, handle) {
      const { rows } = await query(`SELECT expires_at FROM ${t.sessions} WHERE handle = $1`, [handle]);
      return rows[0] ? Number(rows[0].expires_at) : undefined;
    },
    async everything() {
      const { rows } = await query(
        `SELECT handle AS key, expires_at AS expiry FROM ${t.sessions}
         UNION ALL SELECT 'counter:' || key, reset_at FROM ${t.counters}`,
        [],
      );
      return rows.map((row) => ({ key: row.key as string, expiresAt: asNumber(row.expiry) as number | null }));
    },
    async corrupt(_store, handle) {
      // Garbage in the jsonb and a value of the right type but impossible meaning, at once.
      await query(`UPDATE ${t.sessions} SET data = '"garbage"'::jsonb, version = 0 WHERE handle = $1`, [handle]);
    },
  };
}

/**
 * Drops what migrate() created for `table` (both tables and the revoke function), and
 * nothing else: on a shared DATABASE_URL server, only this test's objects go.
 */
export async function dropStore(query: QueryFunction, table: string): Promise<void> {
  const t = tableNames(table);
  await query(`DROP TABLE IF EXISTS ${t.sessions}, ${t.counters}`, []);
  await query(`DROP FUNCTION IF EXISTS ${t.revokeFunction}(text, text, bigint)`, []);
}

/** Wraps a query function so a test can see every statement sent through it. */
export function recording(query: QueryFunction): QueryFunction & { statements: string[] } {
  const statements: string[] = [];
  const wrapped = (async (text, params) => {
    statements.push(text);
    return query(text, params);
  }) as QueryFunction & { statements: string[] };
  wrapped.statements = statements;
  return wrapped;
}
