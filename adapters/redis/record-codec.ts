/**
 * How a session lives in Redis: ONE string, so that the steady-state read is a plain `GET`
 * (what any server-side session pays at least), and the Lua scripts that keep the rules read and
 * write the same string.
 *
 *   <version> <createdAt> <lastSeenAt> <expiresAt> <absoluteExpiresAt> <idleTimeout> <issuedAt> <nonce>[ s=<successor>][ d=<device>]\n<data>\n<userId>
 *
 * The two optional head fields carry what most records lack (store rule 10): `s=` the successor
 * of a retired marker (a handle: no space in it), `d=` a device binding as base64url (its JSON
 * may hold spaces). A record without them is stored exactly as before they existed.
 *
 * Numbers go as JavaScript's shortest round-trip decimal and come back through `Number()`; the
 * data is one JSON string that Lua never decodes (cjson would turn `[]` into `{}` and round
 * numbers). The data comes before the user id because JSON.stringify never writes a raw line
 * break and a user id may hold one. `issuedAt` and `nonce` are the scripts' own (scripts.ts,
 * WRITE and REVOKE); the client reads past them. A script that returns a record returns
 * `<lead> <the string>`, where `lead` is the touched flag of a read or the handle in a list.
 *
 * What comes back is checked with the core's shape check: a value edited by hand reads as no
 * record. So does one whose user id does not carry the handle's tag (store rule 8): data edited
 * to hold a line break would otherwise move its tail into the user id and name another user.
 *
 * @module
 */
import { base64url } from "jose";
import { isSessionRecord } from "../../src/record.ts";
import { tagOf, userTag } from "../../src/session-id.ts";
import type { SessionRecord } from "../../src/store.ts";

/** The space-separated fields in front of the data, in order. */
export const HEAD_FIELDS = [
  "version", "createdAt", "lastSeenAt", "expiresAt", "absoluteExpiresAt", "idleTimeout", "issuedAt", "nonce",
] as const;

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

/** The head's optional fields for the WRITE script: "", or " s=<successor>" and/or " d=<device>". */
export function extrasArg(record: SessionRecord): string {
  return (record.successor === undefined ? "" : ` s=${record.successor}`) + (record.device === undefined ? "" : ` d=${base64url.encode(record.device)}`);
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The optional head fields (" s=..." then " d=..."), or null when they are not what WRITE writes. */
function extrasOf(extras: string): { successor?: string; device?: string } | null {
  if (extras === "") return {};
  const match = /^(?: s=(\S+))?(?: d=([A-Za-z0-9_-]+))?$/.exec(extras);
  if (!match || (match[1] === undefined && match[2] === undefined)) return null;
  const out: { successor?: string; device?: string } = {};
  if (match[1] !== undefined) out.successor = match[1];
  if (match[2] !== undefined) {
    try {
      out.device = decoder.decode(base64url.decode(match[2]));
    } catch {
      return null;
    }
  }
  return out;
}

/** The record in `text` from `start` on, or null when it is not one cloakroom wrote under a handle tagged `tag`. */
function decodeFrom(text: string, start: number, tag: string): SessionRecord | null {
  const headEnd = text.indexOf("\n", start);
  const dataEnd = headEnd < 0 ? -1 : text.indexOf("\n", headEnd + 1);
  if (dataEnd < 0) return null;
  // The six numbers the client reads, without splitting the whole head; the head must still
  // have exactly its eight fields, none empty but the nonce (as the scripts' pattern says).
  const numbers: number[] = [];
  let at = start;
  for (let i = 0; i < 6; i++) {
    const space = text.indexOf(" ", at);
    if (space <= at || space > headEnd) return null;
    numbers.push(Number(text.slice(at, space)));
    at = space + 1;
  }
  const issuedEnd = text.indexOf(" ", at);
  if (issuedEnd <= at || issuedEnd > headEnd) return null;
  const nonceEnd = text.indexOf(" ", issuedEnd + 1);
  const extras = nonceEnd >= 0 && nonceEnd < headEnd ? extrasOf(text.slice(nonceEnd, headEnd)) : {};
  if (!extras) return null;
  let data: unknown;
  try {
    data = JSON.parse(text.slice(headEnd + 1, dataEnd));
  } catch {
    return null;
  }
  const userId = dataEnd + 1 === text.length ? null : text.slice(dataEnd + 1);
  if (userId !== null && userTag(userId) !== tag) return null;
  const record = {
    userId,
    data: data as Record<string, unknown>,
    version: numbers[0]!,
    createdAt: numbers[1]!,
    lastSeenAt: numbers[2]!,
    expiresAt: numbers[3]!,
    absoluteExpiresAt: numbers[4]!,
    idleTimeout: numbers[5]!,
    ...extras,
  };
  return isSessionRecord(record) ? record : null;
}

/** The record a `GET` of the session key returned (nil, a malformed value: null). */
export function decodeStored(stored: unknown, handle: string): SessionRecord | null {
  return typeof stored === "string" ? decodeFrom(stored, 0, tagOf(handle)) : null;
}

/**
 * The lead token and the record of one script reply, `<lead> <stored string>`; record null when
 * it is not one cloakroom wrote under `handle` (the lead itself when omitted: a list leads each
 * record with its handle).
 */
export function decodeRecord(reply: unknown, handle?: string): { lead: string; record: SessionRecord | null } | null {
  if (typeof reply !== "string") return null;
  const space = reply.indexOf(" ");
  if (space < 0) return null;
  const lead = reply.slice(0, space);
  return { lead, record: decodeFrom(reply, space + 1, tagOf(handle ?? lead)) };
}
