/**
 * What the server signs for device-bound sessions: challenges (for a registration, tied to the
 * session's handle; for a refresh, tied to the device binding) and the short-lived bound cookie
 * (tied to the device binding). Each is a compact JWS, HS256, under a key the keyring derives
 * for that purpose alone, with the key id in the header so keys rotate as tickets do. Verifying
 * one needs no store call; a challenge is made single-use by the caller (endpoints.ts).
 *
 * @module
 */
import { base64url, CompactSign, compactVerify, decodeProtectedHeader } from "jose";
import type { HmacPurpose, Keyring, RingKey } from "../keyring.ts";

/** "reg": a registration challenge; "ref": a refresh challenge; "bound": the bound cookie. */
export type TokenKind = "reg" | "ref" | "bound";

export interface OpenedToken {
  /** The handle (reg) or the device binding's id (ref, bound). */
  subject: string;
  /** Epoch ms after which it is no longer good. */
  expiresAt: number;
  /** A challenge's unique id, which makes it single-use. */
  jti: string;
  /** Epoch ms at which the key that signed it retires (`notAfter`): from then on it opens no more. */
  keyNotAfter: number;
}

const TYP = "cloakroom-dbsc";
const MAX_LENGTH = 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const purposeOf = (kind: TokenKind): HmacPurpose => (kind === "bound" ? "dbsc-cookie" : "dbsc-challenge");

export function randomId(bytes = 16): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}

export async function signToken(key: RingKey, kind: TokenKind, subject: string, expiresAt: number): Promise<string> {
  const body = JSON.stringify({ p: kind, s: subject, e: expiresAt, j: randomId() });
  return new CompactSign(encoder.encode(body))
    .setProtectedHeader({ alg: "HS256", kid: key.id, typ: TYP })
    .sign(await key.hmacKey(purposeOf(kind)));
}

/**
 * The token's claims when its signature holds under a key still in its window and it is of
 * `kind`; null otherwise (never throws). Expiry is the caller's to judge: a bound cookie past
 * it still says whose it was ("expired" rather than "unbound").
 */
export async function openToken(keyring: Keyring, token: unknown, kind: TokenKind, now: number): Promise<OpenedToken | null> {
  if (typeof token !== "string" || token.length > MAX_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return null;
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (header.alg !== "HS256" || header.typ !== TYP || typeof header.kid !== "string" || Object.keys(header).length !== 3) return null;
  const key = keyring.lookup(header.kid);
  if (!key || key.notAfter <= now) return null;
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(token, await key.hmacKey(purposeOf(kind)), { algorithms: ["HS256"] }));
  } catch {
    return null;
  }
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(decoder.decode(payload)) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (claims?.p !== kind || typeof claims.s !== "string" || !Number.isSafeInteger(claims.e) || typeof claims.j !== "string") return null;
  return { subject: claims.s, expiresAt: claims.e as number, jti: claims.j, keyNotAfter: key.notAfter };
}
