/**
 * Resume tokens as strings: a compact JWE (`dir` + `A256GCM`, `kid` in the header), sealed
 * with the sessions' keyring under the "resume" purpose key (HKDF with a label of its own, see
 * keyring.ts), so a ticket never opens as a resume token nor the other way round. The same
 * rotation rules as tickets: the newest active key seals, every key inside its `notAfter`
 * opens. Opening checks the shape first and decrypts with the algorithms pinned and
 * compression refused; it never throws.
 *
 * Plaintext: `{"t":"resume","h":<session handle>,"c":<channel>,"q":<seq>,"e":<expiry, epoch ms>}`.
 *
 * @module
 */
import { base64url, CompactEncrypt, compactDecrypt, decodeProtectedHeader } from "jose";
import type { Keyring, RingKey } from "../keyring.ts";
import { isHandle } from "../session-id.ts";
import { DECRYPT_OPTIONS, SEGMENT } from "../ticket.ts";

export interface ResumeClaims {
  handle: string;
  channel: string;
  seq: number;
  /** Epoch ms. */
  expiresAt: number;
}

export type OpenedResumeToken = { ok: true; claims: ResumeClaims } | { ok: false; reason: "forged" | "expired" };

/** Far above any real token (a 200-character channel gives about 450 characters). */
export const MAX_TOKEN_LENGTH = 2048;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function sealResumeToken(claims: ResumeClaims, key: RingKey): Promise<string> {
  const body = { t: "resume", h: claims.handle, c: claims.channel, q: claims.seq, e: claims.expiresAt };
  return new CompactEncrypt(encoder.encode(JSON.stringify(body)))
    .setProtectedHeader({ alg: "dir", enc: "A256GCM", kid: key.id })
    .encrypt(await key.aesKey("resume"));
}

const forged: OpenedResumeToken = { ok: false, reason: "forged" };
const expired: OpenedResumeToken = { ok: false, reason: "expired" };

export async function openResumeToken(token: unknown, keyring: Keyring, now: number): Promise<OpenedResumeToken> {
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) return forged;
  const parts = token.split(".");
  if (parts.length !== 5 || parts[1] !== "" || !parts.every((part) => SEGMENT.test(part))) return forged;
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    return forged;
  }
  if (header.alg !== "dir" || header.enc !== "A256GCM" || typeof header.kid !== "string" || Object.keys(header).length !== 3) return forged;
  const key = keyring.lookup(header.kid);
  if (!key) return forged;
  // A retired key opens nothing: whatever it sealed has outlived the key's grace window.
  if (key.notAfter <= now) return expired;
  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await compactDecrypt(token, await key.aesKey("resume"), DECRYPT_OPTIONS));
  } catch {
    return forged;
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(decoder.decode(plaintext)) as Record<string, unknown>;
  } catch {
    return forged;
  }
  const { t, h, c, q, e } = body ?? {};
  if (t !== "resume" || !isHandle(h) || typeof c !== "string" || !Number.isSafeInteger(q) || !Number.isSafeInteger(e)) return forged;
  if ((e as number) <= now) return expired;
  return { ok: true, claims: { handle: h, channel: c, seq: q as number, expiresAt: e as number } };
}

/** What the backend keeps of a token: base64url of its SHA-256, never the token. */
export async function tokenHash(token: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(token))));
}
