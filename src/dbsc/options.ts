/**
 * The `deviceBound` option of `createSessions`: Device Bound Session Credentials (DBSC, W3C
 * draft). Checked once, when the manager is created (see ../options.ts).
 *
 * @module
 */
import { configError } from "../errors.ts";
import type { SessionStore } from "../store.ts";

/** The proof algorithms a browser may register a key for. */
export type DeviceAlgorithm = "ES256" | "RS256";

export interface DeviceBoundOptions {
  /** Where browsers POST their registration proof. @default "/dbsc/register" */
  registrationPath?: string;
  /** Where browsers POST to refresh the bound cookie (challenge, then proof). @default "/dbsc/refresh" */
  refreshPath?: string;
  /**
   * The short-lived bound cookie. Its other attributes follow the session cookie's.
   * `name` @default the session cookie's name + "-bound" (so `__Host-session-bound`);
   * `maxAge` in seconds @default 600
   */
  cookie?: { name?: string; maxAge?: number };
  /** Seconds a challenge may be answered in; each is good once. @default 60 */
  challengeMaxAge?: number;
  /** Keys a browser may register. @default ["ES256", "RS256"] */
  algorithms?: DeviceAlgorithm[];
  /**
   * The origin in the session config's scope. @default the origin of the registration request's
   * URL (behind a proxy that rewrites the URL, set it)
   */
  origin?: string;
}

export interface ResolvedDeviceBound {
  registrationPath: string;
  refreshPath: string;
  cookieName: string;
  cookieMaxAgeMs: number;
  challengeMaxAgeMs: number;
  algorithms: DeviceAlgorithm[];
  origin: string | undefined;
}

const KNOWN = new Set(["registrationPath", "refreshPath", "cookie", "challengeMaxAge", "algorithms", "origin"]);
const PATH = /^\/[A-Za-z0-9\-._~/]*$/;
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function seconds(value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > max) {
    throw configError(`${name} must be a number of seconds above 0 and at most ${max}; got ${String(value)}.`);
  }
  return value;
}

export function resolveDeviceBound(
  input: unknown,
  context: { store: SessionStore; sessionCookie: string; cookieCache: boolean },
): ResolvedDeviceBound | undefined {
  if (input === undefined || input === false) return undefined;
  const options = (input === true ? {} : input) as DeviceBoundOptions;
  if (typeof options !== "object" || options === null) throw configError("deviceBound must be true or an object of DBSC options.");
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw configError(`unknown option deviceBound.${key}; the options are ${[...KNOWN].join(", ")}.`);
  }
  const registrationPath = options.registrationPath ?? "/dbsc/register";
  const refreshPath = options.refreshPath ?? "/dbsc/refresh";
  for (const [name, path] of [["registrationPath", registrationPath], ["refreshPath", refreshPath]] as const) {
    if (typeof path !== "string" || !PATH.test(path)) throw configError(`deviceBound.${name} must be a path such as "/dbsc/register"; got ${String(path)}.`);
  }
  if (registrationPath === refreshPath) throw configError("deviceBound.registrationPath and refreshPath must differ.");
  const cookie = options.cookie ?? {};
  if (typeof cookie !== "object" || cookie === null) throw configError("deviceBound.cookie must be { name?, maxAge? }.");
  for (const key of Object.keys(cookie)) {
    if (key !== "name" && key !== "maxAge") throw configError(`unknown option deviceBound.cookie.${key}; the options are name, maxAge.`);
  }
  const cookieName = cookie.name ?? `${context.sessionCookie}-bound`;
  if (typeof cookieName !== "string" || !COOKIE_NAME.test(cookieName) || cookieName === context.sessionCookie) {
    throw configError("deviceBound.cookie.name must be a cookie token other than the session cookie's name.");
  }
  const algorithms = options.algorithms ?? ["ES256", "RS256"];
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((alg) => alg === "ES256" || alg === "RS256")) {
    throw configError(`deviceBound.algorithms must list "ES256" and/or "RS256".`);
  }
  if (options.origin !== undefined && (typeof options.origin !== "string" || !/^https?:\/\/[^/]+$/.test(options.origin))) {
    throw configError(`deviceBound.origin must be an origin such as "https://example.com"; got ${String(options.origin)}.`);
  }
  if (typeof context.store.increment !== "function") {
    throw configError(`deviceBound needs a store with counters (increment): each challenge is good once. The ${context.store.name} store has none.`);
  }
  if (context.cookieCache) {
    throw configError("deviceBound and cookieCache cannot be combined yet: a read served from the cookie's snapshot cannot tell whether the session is device-bound. Turn one off.");
  }
  return {
    registrationPath,
    refreshPath,
    cookieName,
    cookieMaxAgeMs: seconds(cookie.maxAge, "deviceBound.cookie.maxAge", 600, 86_400) * 1000,
    challengeMaxAgeMs: seconds(options.challengeMaxAge, "deviceBound.challengeMaxAge", 60, 600) * 1000,
    algorithms: [...new Set(algorithms)],
    origin: options.origin,
  };
}
