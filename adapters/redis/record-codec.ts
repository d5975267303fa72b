/**
 * SessionRecord <-> the strings the Lua scripts take and return. Numbers go as JavaScript's
 * shortest round-trip decimal and come back through `Number()`; the data goes as one JSON
 * string, never touched by Lua. A script returns a record as one string (scripts.ts `reply`):
 *
 *   <lead> <version> <createdAt> <lastSeenAt> <expiresAt> <absoluteExpiresAt> <idleTimeout>\n<data>\n<userId>
 *
 * `lead` is the touched flag of a read or the handle in a list. The data comes before the
 * user id because JSON.stringify never writes a raw line break and a user id may hold one.
 * What comes back is checked with the core's shape check: a hand-edited hash reads as no record.
 * So does one whose user id does not carry the handle's tag (store rule 8): data edited to hold
 * a line break would otherwise move its tail into the user id and name another user.
 *
 * @module
 */
import { isSessionRecord } from "../../src/record.ts";
import { tagOf, userTag } from "../../src/session-id.ts";
import type { SessionRecord } from "../../src/store.ts";

/** version, userId, createdAt, lastSeenAt, expiresAt, absoluteExpiresAt, idleTimeout, data: the WRITE script's ARGV order. */
export function recordArgs(record: SessionRecord): string[] {
  return [
    String(record.version),
    record.userId ?? "",
    String(record.createdAt),
    String(record.lastSeenAt),
    String(record.expiresAt),
    String(record.absoluteExpiresAt),
    String(record.idleTimeout),
    JSON.stringify(record.data),
  ];
}

/**
 * The lead token and the record of one reply string; record null when it is not one cloakroom
 * wrote under `handle` (the lead itself when omitted: a list leads each record with its handle).
 */
export function decodeRecord(reply: unknown, handle?: string): { lead: string; record: SessionRecord | null } | null {
  if (typeof reply !== "string") return null;
  const headEnd = reply.indexOf("\n");
  const dataEnd = headEnd < 0 ? -1 : reply.indexOf("\n", headEnd + 1);
  if (dataEnd < 0) return null;
  const head = reply.slice(0, headEnd).split(" ");
  if (head.length !== 7) return { lead: head[0] ?? "", record: null };
  let data: unknown;
  try {
    data = JSON.parse(reply.slice(headEnd + 1, dataEnd));
  } catch {
    return { lead: head[0]!, record: null };
  }
  const userId = reply.slice(dataEnd + 1);
  const record = {
    userId: userId === "" ? null : userId,
    data: data as Record<string, unknown>,
    version: Number(head[1]),
    createdAt: Number(head[2]),
    lastSeenAt: Number(head[3]),
    expiresAt: Number(head[4]),
    absoluteExpiresAt: Number(head[5]),
    idleTimeout: Number(head[6]),
  };
  const lead = head[0]!;
  const owned = record.userId === null || userTag(record.userId) === tagOf(handle ?? lead);
  return { lead, record: owned && isSessionRecord(record) ? record : null };
}
