/**
 * Options of `createSessions`, their defaults, and validation that runs once, when the
 * manager is created, so a typo or an unsafe combination fails at start-up with a message
 * naming the option and the fix.
 *
 * @module
 */
import { checkAdoption, type SessionAdoption } from "./adopt-hook.ts";
import { configError } from "./errors.ts";
import type { EventListener } from "./events.ts";
import type { KeysInput } from "./keyring.ts";
import { resolveDeviceBound, type DeviceBoundOptions, type ResolvedDeviceBound } from "./dbsc/options.ts";
import { resolveRenew, type RenewOptions, type ResolvedRenew } from "./renew-options.ts";
import type { SessionStore } from "./store.ts";

export interface CookieOptions {
  /** @default "__Host-session" */
  name?: string;
  /** @default true */
  secure?: boolean;
  /** @default true */
  httpOnly?: boolean;
  /** @default "lax" */
  sameSite?: "lax" | "strict" | "none";
  /** @default "/" */
  path?: string;
  /** Not allowed with the `__Host-` prefix. */
  domain?: string;
  /** Keep the cookie until the session's absolute expiry (false: a browser-session cookie). @default true */
  persistent?: boolean;
  /** CHIPS partitioned cookie. @default false */
  partitioned?: boolean;
}

export interface CookieCacheOptions {
  /**
   * Seconds a snapshot in the ticket is trusted: reads inside this window make no store call.
   * Sign-out elsewhere and revocation take effect within it at most. At most touchInterval,
   * and at most 300 (five minutes) unless `acceptRevocationDelay` is set.
   * @default 5
   */
  maxAge?: number;
  /**
   * Allows a `maxAge` above 300 s. That many seconds is how long a signed-out or revoked
   * session goes on being served from its cookie: say so here, on purpose.
   * @default false
   */
  acceptRevocationDelay?: boolean;
  /**
   * The part of the data the snapshot carries (all of it by default). Keep it small: it rides
   * in every cookie. Inside the window, keys left out read as undefined; a change to a session
   * served from a partial snapshot reads the full record first.
   */
  include?: (data: Record<string, unknown>) => Record<string, unknown>;
}

export interface SessionsOptions {
  /** Where sessions live. */
  store: SessionStore;
  /**
   * `"id:secret,id:secret@notAfter"` or `[{ id, secret, notAfter }]`, newest first. Typed to
   * take `process.env.SESSION_KEYS` as it is: a missing value is refused when the manager is
   * created, with how to make a key.
   */
  keys: KeysInput | undefined;
  /** Seconds of inactivity after which a session ends. @default 1800 */
  idleTimeout?: number;
  /** Seconds after creation after which a session ends, however active. @default 604800 */
  absoluteTimeout?: number;
  /**
   * Minimum seconds between two idle-expiry extensions of one session. At most half of
   * `idleTimeout`. @default min(idleTimeout / 10, 300)
   */
  touchInterval?: number;
  cookie?: CookieOptions;
  /** Cookie name plus value above this many bytes reads as no session, before any crypto. @default 4096 */
  maxCookieBytes?: number;
  /** How many opened tickets to remember (0 turns the cache off). @default 10000 */
  ticketCacheSize?: number;
  /**
   * Opt-in edge fast path: the ticket also carries an encrypted snapshot of the session for a
   * few seconds, so a proxy or middleware can authorise with no store call inside that window.
   * Costs a fresh Set-Cookie (one AES-GCM seal) per active session per `maxAge`.
   */
  cookieCache?: CookieCacheOptions | boolean;
  /** Compare-and-set retries before commit gives up with ERR_SESSION_CONFLICT. @default 10 */
  conflictRetries?: number;
  /**
   * Rotating ids with reuse detection (off by default): an active session gets a fresh id at
   * most every `renew.every` seconds, and a retired ticket presented after the grace raises
   * `ticket-reused` (see README, "Stolen cookies"). Needs a store that keeps retired ids.
   */
  renew?: RenewOptions;
  /**
   * Device-bound sessions (DBSC, off by default): a sign-in offers DBSC browsers to bind the
   * session to a key on the device, the bindings serve the registration and refresh endpoints,
   * and `session.binding` says whether a request came with a valid bound cookie.
   */
  deviceBound?: DeviceBoundOptions | boolean;
  /** Receives typed life-cycle events; a throwing listener is ignored. */
  onEvent?: EventListener;
  /**
   * Takes over another library's sessions: a request with no ticket but with that library's
   * cookie gets its session, moved into this store (see src/adopt.ts): `adoptExpressSession`
   * from cloakroom/express-session.
   */
  adopt?: SessionAdoption;
  /** Epoch ms; for tests. @default Date.now */
  clock?: () => number;
}

export interface ResolvedOptions {
  store: SessionStore;
  keys: KeysInput;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  touchIntervalMs: number;
  cookie: Required<Omit<CookieOptions, "domain">> & { domain: string | undefined };
  maxCookieBytes: number;
  ticketCacheSize: number;
  /** 0 when the cookie cache is off. */
  cookieCacheMs: number;
  cookieCacheInclude: ((data: Record<string, unknown>) => Record<string, unknown>) | undefined;
  conflictRetries: number;
  renew: ResolvedRenew | undefined;
  deviceBound: ResolvedDeviceBound | undefined;
  onEvent: EventListener | undefined;
  adopt: SessionAdoption | undefined;
  clock: () => number;
}

const KNOWN = new Set([
  "store", "keys", "idleTimeout", "absoluteTimeout", "touchInterval", "cookie",
  "maxCookieBytes", "ticketCacheSize", "cookieCache", "conflictRetries", "renew", "deviceBound", "onEvent", "adopt", "clock",
]);
const KNOWN_COOKIE = new Set([
  "name", "secure", "httpOnly", "sameSite", "path", "domain", "persistent", "partitioned",
]);
/** better-auth's default window too: beyond it, a revocation delay needs saying so. */
const MAX_COOKIE_CACHE_SECONDS = 300;
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function seconds(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw configError(`${name} must be a positive number of seconds; got ${String(value)}.`);
  }
  return value;
}

function integer(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw configError(`${name} must be an integer >= ${min}; got ${String(value)}.`);
  }
  return value as number;
}

function checkKnown(object: object, known: Set<string>, prefix: string): void {
  for (const key of Object.keys(object)) {
    if (!known.has(key)) {
      throw configError(`unknown option ${prefix}${key}; the options are ${[...known].join(", ")}.`);
    }
  }
}

function resolveCookie(input: CookieOptions | undefined): ResolvedOptions["cookie"] {
  if (input !== undefined && (typeof input !== "object" || input === null)) {
    throw configError("cookie must be an object of cookie options.");
  }
  const options = input ?? {};
  checkKnown(options, KNOWN_COOKIE, "cookie.");
  const cookie = {
    name: options.name ?? "__Host-session",
    secure: options.secure ?? true,
    httpOnly: options.httpOnly ?? true,
    sameSite: options.sameSite ?? "lax",
    path: options.path ?? "/",
    domain: options.domain,
    persistent: options.persistent ?? true,
    partitioned: options.partitioned ?? false,
  } as const;
  if (typeof cookie.name !== "string" || !COOKIE_NAME.test(cookie.name)) {
    throw configError(`cookie.name must be a cookie token (letters, digits, !#$%&'*+-.^_\`|~).`);
  }
  if (!["lax", "strict", "none"].includes(cookie.sameSite)) {
    throw configError(`cookie.sameSite must be "lax", "strict" or "none".`);
  }
  if (typeof cookie.path !== "string" || !cookie.path.startsWith("/")) {
    throw configError(`cookie.path must start with "/".`);
  }
  if (cookie.name.startsWith("__Host-") && (!cookie.secure || cookie.path !== "/" || cookie.domain !== undefined)) {
    throw configError(
      `cookie.name "${cookie.name}" has the __Host- prefix, which browsers accept only with secure: true, path: "/" and no domain. ` +
        `Keep those, or choose a name without the prefix (for plain http in development, for example name: "session", secure: false).`,
    );
  }
  if (cookie.name.startsWith("__Secure-") && !cookie.secure) {
    throw configError(`cookie.name "${cookie.name}" has the __Secure- prefix, which needs secure: true.`);
  }
  if (cookie.sameSite === "none" && !cookie.secure) {
    throw configError(`cookie.sameSite "none" needs secure: true; browsers drop the cookie otherwise.`);
  }
  if (cookie.partitioned && !cookie.secure) {
    throw configError(`cookie.partitioned needs secure: true.`);
  }
  return cookie;
}

function resolveCookieCache(input: SessionsOptions["cookieCache"], touchSeconds: number) {
  if (input === undefined || input === false) return { ms: 0, include: undefined };
  const options = input === true ? {} : input;
  if (typeof options !== "object" || options === null) {
    throw configError("cookieCache must be true, false or { maxAge, include }.");
  }
  checkKnown(options, new Set(["maxAge", "include", "acceptRevocationDelay"]), "cookieCache.");
  const maxAge = seconds(options.maxAge, "cookieCache.maxAge", Math.min(5, touchSeconds));
  if (options.acceptRevocationDelay !== undefined && typeof options.acceptRevocationDelay !== "boolean") {
    throw configError("cookieCache.acceptRevocationDelay must be true or false.");
  }
  if (maxAge > MAX_COOKIE_CACHE_SECONDS && options.acceptRevocationDelay !== true) {
    throw configError(
      `cookieCache.maxAge (${maxAge} s) is above ${MAX_COOKIE_CACHE_SECONDS} s: a sign-out elsewhere or a revocation would go unseen for that long, since reads inside the window do not ask the store. ` +
        `Use ${MAX_COOKIE_CACHE_SECONDS} s or less (a few seconds is usual), or pass cookieCache.acceptRevocationDelay: true to accept the delay.`,
    );
  }
  if (maxAge > touchSeconds) {
    throw configError(
      `cookieCache.maxAge (${maxAge} s) must be at most touchInterval (${touchSeconds} s): reads served from the cookie do not touch the store, so a longer window could let an active session expire.`,
    );
  }
  if (options.include !== undefined && typeof options.include !== "function") {
    throw configError("cookieCache.include must be a function (data) => the part of it to carry.");
  }
  return { ms: maxAge * 1000, include: options.include };
}

export function resolveOptions(options: SessionsOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw configError("createSessions needs an options object with at least store and keys.");
  }
  checkKnown(options, KNOWN, "");
  const store = options.store;
  if (!store || typeof store.read !== "function" || typeof store.write !== "function" || typeof store.delete !== "function") {
    throw configError("store must be a session store, for example memoryStore() from cloakroom/adapters/memory.");
  }
  if (options.keys === undefined || options.keys === null || options.keys === "") {
    throw configError(
      "keys is missing. Set SESSION_KEYS to the output of `npx cloakroom keygen` and pass keys: process.env.SESSION_KEYS.",
    );
  }
  const idle = seconds(options.idleTimeout, "idleTimeout", 1800);
  const absolute = seconds(options.absoluteTimeout, "absoluteTimeout", 604800);
  const touch = seconds(options.touchInterval, "touchInterval", Math.min(idle / 10, 300));
  if (touch > idle / 2) {
    throw configError(
      `touchInterval (${touch} s) must be at most half of idleTimeout (${idle} s), or an active session could expire between two touches.`,
    );
  }
  const cookieCache = resolveCookieCache(options.cookieCache, touch);
  if (options.onEvent !== undefined && typeof options.onEvent !== "function") {
    throw configError("onEvent must be a function.");
  }
  if (options.clock !== undefined && typeof options.clock !== "function") {
    throw configError("clock must be a function returning epoch milliseconds.");
  }
  const cookie = resolveCookie(options.cookie);
  return {
    store,
    keys: options.keys,
    idleTimeoutMs: idle * 1000,
    absoluteTimeoutMs: absolute * 1000,
    touchIntervalMs: touch * 1000,
    cookie,
    maxCookieBytes: integer(options.maxCookieBytes, "maxCookieBytes", 4096, 256),
    ticketCacheSize: integer(options.ticketCacheSize, "ticketCacheSize", 10000, 0),
    cookieCacheMs: cookieCache.ms,
    cookieCacheInclude: cookieCache.include,
    conflictRetries: integer(options.conflictRetries, "conflictRetries", 10, 0),
    renew: resolveRenew(options.renew, store),
    deviceBound: resolveDeviceBound(options.deviceBound, { store, sessionCookie: cookie.name, cookieCache: cookieCache.ms > 0 }),
    onEvent: options.onEvent,
    adopt: checkAdoption(options.adopt, cookie.name),
    clock: options.clock ?? Date.now,
  };
}
