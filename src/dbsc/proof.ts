/**
 * Checking the browser's proofs: a `dbsc+jwt` signed by the device's private key, whose `jti`
 * is the challenge the server gave. At registration the public key rides in the header's `jwk`
 * (ES256: an EC P-256 key; RS256: an RSA key of at least 2048 bits); at refresh it must not (the
 * stored key is the only one that counts). jose verifies; this module decides what is allowed
 * in, before jose sees it.
 *
 * @module
 */
import { decodeProtectedHeader, importJWK, jwtVerify, type JWK } from "jose";
import type { DeviceAlgorithm } from "./options.ts";

/** Why a proof was refused; each is also the `reason` of a `device-refused` event. */
export type ProofRefusal =
  | "missing"
  | "malformed"
  | "typ"
  | "alg"
  | "key"
  | "jwk-on-refresh"
  | "signature"
  | "challenge"
  | "expired"
  | "replayed";

export type Checked<T> = ({ ok: true } & T) | { ok: false; reason: ProofRefusal };

const TYP = "dbsc+jwt";
const MAX_LENGTH = 8192;
const B64URL = /^[A-Za-z0-9_-]+$/;

/** The public part of a header `jwk`, or null when it is not a key of the kind `alg` names. */
export function publicJwk(value: unknown, alg: DeviceAlgorithm): JWK | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const jwk = value as Record<string, unknown>;
  // A private key sent by mistake (or on purpose) is not taken, and never stored.
  if (["d", "p", "q", "dp", "dq", "qi", "k"].some((name) => name in jwk)) return null;
  if (alg === "ES256") {
    const ok = jwk.kty === "EC" && jwk.crv === "P-256" && typeof jwk.x === "string" && typeof jwk.y === "string" &&
      jwk.x.length === 43 && jwk.y.length === 43 && B64URL.test(jwk.x) && B64URL.test(jwk.y);
    return ok ? { kty: "EC", crv: "P-256", x: jwk.x as string, y: jwk.y as string } : null;
  }
  const ok = jwk.kty === "RSA" && typeof jwk.n === "string" && typeof jwk.e === "string" &&
    jwk.n.length >= 342 && jwk.n.length <= 1366 && jwk.e.length <= 8 && B64URL.test(jwk.n) && B64URL.test(jwk.e);
  return ok ? { kty: "RSA", n: jwk.n as string, e: jwk.e as string } : null;
}

function headerOf(token: unknown): Record<string, unknown> | null {
  if (typeof token !== "string" || token.length > MAX_LENGTH) return null;
  try {
    return decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** Verifies the signature with `jwk` and returns the challenge it answers. */
async function challengeOf(token: string, jwk: JWK, alg: DeviceAlgorithm, now: number): Promise<Checked<{ jti: string }>> {
  let key: Awaited<ReturnType<typeof importJWK>>;
  try {
    key = await importJWK(jwk, alg);
  } catch {
    return { ok: false, reason: "key" };
  }
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key, { algorithms: [alg], typ: TYP, currentDate: new Date(now), clockTolerance: 30 }));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return { ok: false, reason: code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" ? "signature" : code === "ERR_JWT_EXPIRED" ? "expired" : "malformed" };
  }
  return typeof payload.jti === "string" ? { ok: true, jti: payload.jti } : { ok: false, reason: "challenge" };
}

/** A registration proof: the key in the header, one of `algorithms`, signed by that key. */
export async function checkRegistration(
  token: string | null,
  algorithms: readonly DeviceAlgorithm[],
  now: number,
): Promise<Checked<{ jti: string; alg: DeviceAlgorithm; jwk: JWK }>> {
  if (token === null) return { ok: false, reason: "missing" };
  const header = headerOf(token);
  if (!header) return { ok: false, reason: "malformed" };
  if (header.typ !== TYP) return { ok: false, reason: "typ" };
  const alg = header.alg as DeviceAlgorithm;
  if (!algorithms.includes(alg)) return { ok: false, reason: "alg" };
  const jwk = publicJwk(header.jwk, alg);
  if (!jwk) return { ok: false, reason: "key" };
  const checked = await challengeOf(token, jwk, alg, now);
  return checked.ok ? { ok: true, jti: checked.jti, alg, jwk } : checked;
}

/** A refresh proof: no key in the header, the registered algorithm, signed by the registered key. */
export async function checkRefresh(token: string, device: { alg: DeviceAlgorithm; jwk: JWK }, now: number): Promise<Checked<{ jti: string }>> {
  const header = headerOf(token);
  if (!header) return { ok: false, reason: "malformed" };
  if (header.typ !== TYP) return { ok: false, reason: "typ" };
  if ("jwk" in header || "jku" in header || "x5c" in header || "kid" in header) return { ok: false, reason: "jwk-on-refresh" };
  if (header.alg !== device.alg) return { ok: false, reason: "alg" };
  return challengeOf(token, device.jwk, device.alg, now);
}
