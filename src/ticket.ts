/**
 * The ticket: what the cookie holds. A compact JWE (`dir` + `A256GCM`, `kid` in the header)
 * whose plaintext is `{"s": <session id>, "e": <absolute expiry, epoch seconds>, "i": <when the id
 * was issued, epoch ms>}`, plus, with
 * the cookie cache on, `"c"`: a short-lived snapshot of the session (see `Snapshot`). Opening
 * checks everything that can be checked without crypto first, then decrypts with the
 * algorithms pinned and compression refused, so no attacker-chosen algorithm or size ever
 * reaches jose.
 *
 * @module
 */
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader, type DecryptOptions } from "jose";
import type { Keyring, RingKey } from "./keyring.ts";
import { isSessionId } from "./session-id.ts";
import type { InvalidReason } from "./events.ts";

export interface TicketClaims {
  /** Session id: `<tag>.<base64url of 32 random bytes>`. Never leaves the ticket and this process. */
  sid: string;
  /** Absolute expiry of the session, epoch seconds. */
  exp: number;
  /** When this session id was issued, epoch ms (for `renew`); absent in tickets from before it. */
  issuedAt?: number;
  /** The cookie cache: what the session held when the ticket was sealed, briefly trusted. */
  snapshot?: Snapshot;
}

/** A copy of the session that lets a read skip the store until `validUntil`. */
export interface Snapshot {
  userId: string | null;
  version: number;
  data: Record<string, unknown>;
  /** True when `data` holds every key (no `include` filter was applied). */
  complete: boolean;
  createdAt: number;
  absoluteExpiresAt: number;
  idleTimeout: number;
  /** Epoch ms at which `data` was read from the store (or written to it). */
  at: number;
  /**
   * Epoch ms at which the sealer stopped trusting it. A reader trusts it no longer than its
   * own `cookieCache.maxAge` after `at`, whatever this says (read.ts).
   */
  validUntil: number;
}

export type OpenedTicket =
  | { ok: true; claims: TicketClaims; key: RingKey }
  | { ok: false; reason: InvalidReason };

/** A base64url segment of a compact JWE. */
export const SEGMENT = /^[A-Za-z0-9_-]*$/;
const ALLOWED_HEADER = new Set(["alg", "enc", "kid"]);
/** Every JWE cloakroom opens (tickets, resume tokens): `dir` + `A256GCM` pinned, no compression. */
export const DECRYPT_OPTIONS: DecryptOptions = {
  keyManagementAlgorithms: ["dir"],
  contentEncryptionAlgorithms: ["A256GCM"],
  maxDecompressedLength: 0,
};
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function sealTicket(claims: TicketClaims, key: RingKey): Promise<string> {
  const snapshot = claims.snapshot;
  const body = snapshot
    ? {
        s: claims.sid,
        e: claims.exp,
        ...(claims.issuedAt !== undefined && { i: claims.issuedAt }),
        c: {
          u: snapshot.userId, v: snapshot.version, d: snapshot.data, f: snapshot.complete ? 1 : 0,
          cr: snapshot.createdAt, a: snapshot.absoluteExpiresAt, i: snapshot.idleTimeout, r: snapshot.at, t: snapshot.validUntil,
        },
      }
    : { s: claims.sid, e: claims.exp, ...(claims.issuedAt !== undefined && { i: claims.issuedAt }) };
  const plaintext = encoder.encode(JSON.stringify(body));
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg: "dir", enc: "A256GCM", kid: key.id })
    .encrypt(await key.ticketKey);
}

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** A segment whose last character carries spare bits is canonical only if they are zero. */
function isCanonical(segment: string): boolean {
  const spareBits = [0, -1, 4, 2][segment.length % 4]!;
  if (spareBits <= 0) return spareBits === 0;
  const last = BASE64URL_ALPHABET.indexOf(segment[segment.length - 1]!);
  return (last & ((1 << spareBits) - 1)) === 0;
}

/**
 * Freezes a snapshot's data all the way down. A snapshot outlives requests (the ticket cache
 * keeps it), so a request gets a copy of it, and nothing may change the original.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

/** The snapshot in a ticket's plaintext; "stale" for one sealed before snapshots carried `r`. */
function snapshotOf(value: unknown): Snapshot | "stale" | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { u, v, d, f, cr, a, i, r, t } = value as Record<string, unknown>;
  const finite = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n);
  if ((u !== null && typeof u !== "string") || !Number.isSafeInteger(v) || typeof d !== "object" || d === null || Array.isArray(d)) return undefined;
  if ((f !== 0 && f !== 1) || !finite(cr) || !finite(a) || !finite(i) || !finite(t)) return undefined;
  if (r === undefined) return "stale";
  if (!finite(r)) return undefined;
  return {
    userId: u, version: v as number, data: deepFreeze(d as Record<string, unknown>), complete: f === 1,
    createdAt: cr, absoluteExpiresAt: a, idleTimeout: i, at: r, validUntil: t,
  };
}

function fail(reason: InvalidReason): OpenedTicket {
  return { ok: false, reason };
}

/** Never throws: every failure is a reason. The caller has already capped the length. */
export async function openTicket(token: string, keyring: Keyring, now: number): Promise<OpenedTicket> {
  const parts = token.split(".");
  if (parts.length !== 5 || !parts.every((part) => SEGMENT.test(part))) return fail("malformed");

  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    return fail("malformed");
  }
  for (const name of Object.keys(header)) if (!ALLOWED_HEADER.has(name)) return fail("forged");
  if (header.alg !== "dir" || header.enc !== "A256GCM") return fail("forged");
  if (typeof header.kid !== "string") return fail("malformed");
  // dir: the encrypted-key segment is empty; the IV (12 bytes) and tag (16 bytes) have fixed sizes.
  if (parts[1] !== "" || parts[2]!.length !== 16 || parts[4]!.length !== 22) return fail("malformed");
  // base64url leaves spare bits in a segment's last character; accepting only the canonical
  // spelling keeps one string per ticket, so the ticket cache and logs see one identity.
  if (!isCanonical(parts[0]!) || !isCanonical(parts[3]!) || !isCanonical(parts[4]!)) return fail("malformed");

  const key = keyring.lookup(header.kid);
  if (!key) return fail("unknown-key");
  if (key.notAfter <= now) return fail("key-retired");

  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await compactDecrypt(token, await key.ticketKey, DECRYPT_OPTIONS));
  } catch {
    return fail("forged");
  }

  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(plaintext));
  } catch {
    return fail("malformed");
  }
  const { s: sid, e: exp, i: issuedAt, c } = (body ?? {}) as { s?: unknown; e?: unknown; i?: unknown; c?: unknown };
  if (!isSessionId(sid) || !Number.isSafeInteger(exp) || (issuedAt !== undefined && !Number.isSafeInteger(issuedAt))) {
    return fail("malformed");
  }
  if ((exp as number) * 1000 <= now) return fail("expired");
  const claims: TicketClaims = { sid, exp: exp as number };
  if (issuedAt !== undefined) claims.issuedAt = issuedAt as number;
  if (c !== undefined) {
    const snapshot = snapshotOf(c);
    if (!snapshot) return fail("malformed");
    // A snapshot without its read time cannot be bounded by this reader's window: the ticket
    // still names its session, which is read from the store.
    if (snapshot !== "stale") claims.snapshot = snapshot;
  }
  return { ok: true, claims, key };
}
