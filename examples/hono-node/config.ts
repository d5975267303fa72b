/**
 * Environment -> demo configuration. A pure function of the env object it is given: the
 * server passes `process.env`, the tests pass plain objects. It throws a `SessionError` whose
 * message names the variable and the fix, and it returns warnings instead of printing them,
 * so the caller decides where they go. Nothing here ever echoes a key's secret.
 *
 * The store is not chosen here (server.ts calls `storeFromEnv` from cloakroom/env): building
 * a store may open a connection, and this function must stay free of side effects.
 *
 * @module
 */
import { generateKey, parseKeys, SessionError, type KeysInput, type SessionsOptions } from "cloakroom";

/** The environment as Node gives it: every variable a string or absent. */
export type Env = Readonly<Record<string, string | undefined>>;

export interface DemoConfig {
  port: number;
  host: string;
  /**
   * Device-bound sessions (DBSC): "off"; "on" (a DBSC browser binds its session, `GET /device`
   * shows the binding); "strict" (besides, a session bound to a device is refused from any other).
   */
  deviceBinding: "off" | "on" | "strict";
  /** Paths of a PEM certificate and key: serve https (DBSC needs it). */
  tls: { cert: string; key: string } | undefined;
  /** Everything `createSessions` needs except the store. */
  sessions: Omit<SessionsOptions, "store">;
  /** One line each, for stderr. */
  warnings: string[];
}

const KEYGEN = "npx cloakroom keygen";

/** The value as the user wrote it, short enough for a one-line message. */
function shown(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}...` : raw);
}

function isProduction(env: Env): boolean {
  return env.NODE_ENV === "production";
}

function keysFrom(env: Env, warnings: string[]): KeysInput {
  const raw = env.SESSION_KEYS?.trim();
  if (!raw) {
    if (isProduction(env)) {
      throw new SessionError(
        "ERR_SESSION_KEYS",
        `SESSION_KEYS is not set and NODE_ENV is production, so the demo will not start: a key made at start-up would sign everyone out on every restart. ` +
          `Make a key with \`${KEYGEN}\` and set SESSION_KEYS to its output.`,
      );
    }
    warnings.push(
      `cloakroom: SESSION_KEYS is not set, so this process uses a throwaway key and sessions will not survive a restart. ` +
        `Make a key with \`${KEYGEN}\` and set SESSION_KEYS to its output.`,
    );
    return generateKey("ephemeral");
  }
  try {
    // parseKeys names a bad entry by its position, never by its secret; the secrets
    // themselves are checked by createSessions, whose errors name the key by its id.
    return parseKeys(raw);
  } catch (error) {
    if (!(error instanceof SessionError)) throw error;
    throw new SessionError(error.code, `SESSION_KEYS: ${error.message.replace(/^cloakroom: /, "")}`);
  }
}

function wholeNumber(env: Env, name: string, min: number, max: number, example: number): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new SessionError(
      "ERR_SESSION_CONFIG",
      `${name} must be a whole number from ${min} to ${max}, for example ${name}=${example}; got ${shown(raw)}.`,
    );
  }
  return value;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new SessionError("ERR_SESSION_CONFIG", `${name} must be "true" or "false"; got ${shown(env[name]!)}.`);
}

function choice<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new SessionError("ERR_SESSION_CONFIG", `${name} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}; got ${shown(env[name]!)}.`);
}

/**
 * @example
 * const config = configFromEnv(process.env);
 * const sessions = createSessions({ ...config.sessions, store });
 */
export function configFromEnv(env: Env): DemoConfig {
  const warnings: string[] = [];
  const keys = keysFrom(env, warnings);
  const idleTimeout = wholeNumber(env, "SESSION_IDLE_TIMEOUT", 1, 31_536_000, 1800);
  const absoluteTimeout = wholeNumber(env, "SESSION_ABSOLUTE_TIMEOUT", 1, 31_536_000, 604800);
  const secure = flag(env, "SESSION_COOKIE_SECURE", true);
  if (!secure && isProduction(env)) {
    warnings.push(
      "cloakroom: SESSION_COOKIE_SECURE=false in production sends the session cookie over plain http, where anyone on the path can read it. Serve https and unset it.",
    );
  }
  const host = env.HOST?.trim() || "127.0.0.1";
  const deviceBinding = choice(env, "DEMO_DEVICE_BOUND", ["off", "on", "strict"] as const, "off");
  const boundMaxAge = wholeNumber(env, "DEMO_DBSC_COOKIE_MAX_AGE", 1, 86_400, 600);
  const renewEvery = wholeNumber(env, "SESSION_RENEW_EVERY", 1, 31_536_000, 300);
  const cert = env.DEMO_TLS_CERT?.trim();
  const key = env.DEMO_TLS_KEY?.trim();
  if (Boolean(cert) !== Boolean(key)) {
    throw new SessionError("ERR_SESSION_CONFIG", "DEMO_TLS_CERT and DEMO_TLS_KEY go together: set both (PEM files) to serve https, or neither.");
  }
  if (deviceBinding !== "off" && !cert) {
    warnings.push("cloakroom: DEMO_DEVICE_BOUND is set but the demo serves plain http, where browsers do not register device-bound sessions; set DEMO_TLS_CERT and DEMO_TLS_KEY.");
  }

  const sessions: Omit<SessionsOptions, "store"> = {
    keys,
    // Browsers accept a __Host- cookie only with Secure, and send a Secure cookie over plain
    // http only to localhost; beyond localhost plain http needs an unprefixed, non-Secure one.
    cookie: secure ? { name: "__Host-session", secure: true } : { name: "session", secure: false },
  };
  if (idleTimeout !== undefined) sessions.idleTimeout = idleTimeout;
  if (absoluteTimeout !== undefined) sessions.absoluteTimeout = absoluteTimeout;
  if (renewEvery !== undefined) sessions.renew = { every: renewEvery, grace: Math.min(5, renewEvery) };
  if (deviceBinding !== "off") sessions.deviceBound = boundMaxAge === undefined ? {} : { cookie: { maxAge: boundMaxAge } };

  return {
    port: wholeNumber(env, "PORT", 0, 65535, 3000) ?? 3000,
    host,
    sessions,
    deviceBinding,
    tls: cert && key ? { cert, key } : undefined,
    warnings,
  };
}
