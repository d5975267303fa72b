/**
 * Rows to records. Drivers disagree on types (int8 arrives as a string from pg and
 * postgres.js, a number from PGlite, a bigint when configured so), and a row may hold
 * anything a person or another program put there: what is not a record cloakroom wrote
 * reads as null (store rule 1), never as a crash.
 *
 * @module
 */
import { isSessionRecord } from "../../src/record.ts";
import type { SessionRecord, UserSession } from "../../src/store.ts";
import type { Row } from "./drivers.ts";

/** Epoch ms and durations are stored as bigint ms; a fractional value (from a custom clock) is rounded. */
export const ms = (value: number) => Math.round(value);

/** A bigint column as a number: drivers return int8 as a string (pg, postgres.js), a number (PGlite) or a bigint. */
export function numberOf(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value !== "") return Number(value);
  if (typeof value === "bigint") return Number(value);
  return Number.NaN;
}

/** A row as a record, or null when it is not what cloakroom wrote (store rule 1). */
export function recordOf(row: Row): SessionRecord | null {
  let data: unknown;
  try {
    data = typeof row.data === "string" ? JSON.parse(row.data) : undefined;
  } catch {
    return null;
  }
  const record: SessionRecord = {
    userId: row.user_id === null ? null : (row.user_id as string),
    data: data as Record<string, unknown>,
    version: numberOf(row.version),
    createdAt: numberOf(row.created_at),
    lastSeenAt: numberOf(row.last_seen_at),
    expiresAt: numberOf(row.expires_at),
    absoluteExpiresAt: numberOf(row.absolute_expires_at),
    idleTimeout: numberOf(row.idle_timeout),
  };
  // Absent, not null, when unset: a record reads back as it was written (store rule 10).
  if (row.successor !== null && row.successor !== undefined) record.successor = row.successor as string;
  if (row.device !== null && row.device !== undefined) record.device = row.device as string;
  return isSessionRecord(record) ? record : null;
}

/** Rows of (handle, record columns) as sessions; a row that is not one is left out (store rule 1). */
export function sessionsOf(rows: readonly Row[]): UserSession[] {
  const sessions: UserSession[] = [];
  for (const row of rows) {
    const record = recordOf(row);
    if (record && typeof row.handle === "string") sessions.push({ handle: row.handle, record });
  }
  return sessions;
}
