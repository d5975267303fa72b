/**
 * Shape check for records coming back from a store. A store may hold anything (a hand-edited
 * row, another version's format, a corrupted value); what is not a record cloakroom wrote
 * reads as "no session" with a `corrupt` event, never as a crash.
 *
 * @module
 */
import { isHandle } from "./session-id.ts";
import type { SessionRecord } from "./store.ts";

/** The longest `device` the core writes (an RSA-4096 public key with room to spare). */
export const MAX_DEVICE_LENGTH = 4096;

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
    isTime(record.absoluteExpiresAt) && isTime(record.idleTimeout) && (record.idleTimeout as number) > 0 &&
    (record.successor === undefined || isHandle(record.successor)) &&
    (record.device === undefined || (typeof record.device === "string" && record.device.length > 0 && record.device.length <= MAX_DEVICE_LENGTH))
  );
}

/** A retired marker (store rule 10): it stands for an id that was replaced, not for a session. */
export function isRetiredMarker(record: SessionRecord): boolean {
  return record.successor !== undefined;
}
