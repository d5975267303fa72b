/**
 * Shape check for records coming back from a store. A store may hold anything (a hand-edited
 * row, another version's format, a corrupted value); what is not a record cloakroom wrote
 * reads as "no session" with a `corrupt` event, never as a crash.
 *
 * @module
 */
import type { SessionRecord } from "./store.ts";

function isTime(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

export function isSessionRecord(value: unknown): value is SessionRecord {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Partial<Record<keyof SessionRecord, unknown>>;
  const data = record.data;
  return (
    (record.userId === null || (typeof record.userId === "string" && record.userId.length > 0)) &&
    typeof data === "object" && data !== null && !Array.isArray(data) &&
    Number.isSafeInteger(record.version) && (record.version as number) > 0 &&
    isTime(record.createdAt) && isTime(record.lastSeenAt) && isTime(record.expiresAt) &&
    isTime(record.absoluteExpiresAt) && isTime(record.idleTimeout) && (record.idleTimeout as number) > 0
  );
}
