/**
 * A session's device binding as the record keeps it (`SessionRecord.device`): the browser's
 * DBSC session identifier, the algorithm and the public key it registered. Parsed records are
 * remembered by their exact string, so a request pays no JSON parse for a binding it saw before.
 *
 * @module
 */
import type { JWK } from "jose";
import { publicJwk } from "./proof.ts";
import type { DeviceAlgorithm } from "./options.ts";

export interface DeviceBinding {
  /** The `session_identifier` the browser knows this binding by (random, not the session id). */
  id: string;
  alg: DeviceAlgorithm;
  jwk: JWK;
  /** Epoch ms of the registration. */
  at: number;
}

const parsed = new Map<string, DeviceBinding>();
const MAX_REMEMBERED = 10_000;

export function encodeDevice(device: DeviceBinding): string {
  return JSON.stringify({ id: device.id, alg: device.alg, jwk: device.jwk, at: device.at });
}

/** The binding a record holds, or null for none (or for one this version did not write). */
export function deviceOf(text: string | undefined): DeviceBinding | null {
  if (text === undefined) return null;
  const known = parsed.get(text);
  if (known) return known;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
  const alg = value?.alg;
  if ((alg !== "ES256" && alg !== "RS256") || typeof value.id !== "string" || !Number.isFinite(value.at)) return null;
  const jwk = publicJwk(value.jwk, alg);
  if (!jwk) return null;
  const device: DeviceBinding = { id: value.id, alg, jwk, at: value.at as number };
  if (parsed.size >= MAX_REMEMBERED) parsed.delete(parsed.keys().next().value!);
  parsed.set(text, device);
  return device;
}
