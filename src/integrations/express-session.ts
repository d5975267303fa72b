/**
 * `adoptExpressSession`: moving express-session's users to cloakroom without signing them out.
 * Given as the manager's `adopt` option, it works behind any binding (Express, Hono, Fetch,
 * and Next.js's `proxy.ts`, Server Actions and Route Handlers, through the request or
 * `cookies()`; not a Server Component alone, which cannot set the new ticket: README,
 * "Next.js"). A request with no cloakroom ticket but with express-session's cookie:
 *
 * - has the cookie's signature checked with `cookie-signature`, the library express-session
 *   uses, against each secret; a forged or unsigned cookie reads as no session ("forged",
 *   "malformed") with no store call;
 * - has its legacy record read; gone reads as "not-found", past `cookie.expires` as "expired";
 * - gets a cloakroom session with the same data (`cookie` left out) and the user `userIdOf`
 *   names, under a new id; the legacy record is deleted and the legacy cookie cleared on that
 *   response (the rules, and why parallel requests end in one session: src/adopt.ts).
 *
 * Node-only in practice: `cookie-signature` computes its HMAC with Node's crypto (Bun and Deno
 * have it too), so it is an optional peer dependency, as express-session already brings it.
 *
 * @example
 * import { RedisStore } from "connect-redis";
 * import { adoptExpressSession } from "cloakroom/express-session";
 *
 * const sessions = createSessions({
 *   store: ioredisStore({ client }),
 *   keys: process.env.SESSION_KEYS,
 *   adopt: adoptExpressSession({
 *     secret: process.env.SESSION_SECRET!,
 *     store: new RedisStore({ client: nodeRedisClient }), // or "redis://..." for connect-redis's default layout
 *     userIdOf: (legacy) => (legacy.user as { id: string } | undefined)?.id ?? null,
 *   }),
 * });
 *
 * @module
 */
import { stringifySetCookie } from "cookie";
import { unsign } from "cookie-signature";
import { base64url } from "jose";
import type { SessionAdoption } from "../adopt-hook.ts";
import { adoptLegacySessions, type LegacyCookieCheck, type LegacySession, type RefusedLegacySession } from "../adopt.ts";
import { SessionError } from "../errors.ts";
import { isStorableText } from "../storable.ts";
import { legacyStoreOf, type ExpressSessionStore, type LegacyRecord } from "./express-session-store.ts";

export type { ExpressSessionStore } from "./express-session-store.ts";
export type { LegacyCookieCheck, LegacySession, RefusedLegacySession } from "../adopt.ts";

export interface AdoptExpressSessionOptions {
  /** express-session's `secret`: one string, or the array (every one is tried, as express-session does). */
  secret: string | readonly string[];
  /**
   * Where express-session kept its sessions: the store instance it was given (connect-redis,
   * connect-pg-simple, or any express-session store), or a URL (`redis://`, `rediss://`,
   * `postgres://`) for connect-redis's and connect-pg-simple's default layout (`sess:` keys, a
   * `session` table). A URL's client is opened here: call `close()` on shutdown.
   */
  store: ExpressSessionStore | string;
  /** express-session's `name`. @default "connect.sid" */
  name?: string;
  /**
   * The user a legacy session belongs to, from its data (`cookie` left out): a string (a number
   * is turned into one), or null or undefined for an anonymous session. It sees every legacy
   * session, anonymous ones included: `(s) => s.passport?.user ?? null`, not `s.passport.user`.
   * A legacy session it throws on, or names no usable user for, reads as no session
   * ("corrupt", its cookie cleared, the event's `detail` saying why), never as a store fault.
   */
  userIdOf: (legacy: Record<string, unknown>) => string | number | null | undefined;
  /**
   * The `path` and `domain` of express-session's `cookie` option, so the cookie can be cleared;
   * pass that option as it was (other keys are ignored). @default { path: "/" }
   */
  cookie?: { path?: string; domain?: string; [other: string]: unknown };
}

export interface ExpressSessionAdoption extends SessionAdoption {
  /** Checks an express-session cookie's raw value, as the manager does (for tests and tools). */
  verify(value: string): Promise<LegacyCookieCheck>;
  /** Reads a legacy session by its express-session id, as the manager does (`{ refused }` when userIdOf fails on it). */
  read(sid: string): Promise<LegacySession | RefusedLegacySession | null>;
  /** Deletes a legacy record. */
  remove(sid: string): Promise<void>;
  /** The Set-Cookie value that clears the legacy cookie. */
  readonly clearCookie: string;
  /** Closes the client opened for a URL `store`; nothing for a store instance. */
  close(): Promise<void>;
}

const KNOWN = new Set(["secret", "store", "name", "userIdOf", "cookie"]);
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function secretsOf(secret: unknown): string[] {
  const list = typeof secret === "string" ? [secret] : Array.isArray(secret) ? [...secret] : [];
  if (list.length === 0 || list.some((s) => typeof s !== "string" || s.length === 0)) {
    throw new SessionError("ERR_SESSION_CONFIG", "adoptExpressSession secret must be express-session's secret: a non-empty string, or an array of them.");
  }
  return list;
}

/** The secret-keyed digest every instance computes alike for one legacy id (see src/adopt.ts). */
async function seedOf(secret: string, sid: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return base64url.encode(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`cloakroom adopts express-session ${sid}`))));
}

const USER_ID_FIX = "return the user's id (a non-empty string of at most 256 characters, or a number), or null for a session without a user, for example (s) => s.passport?.user ?? null";

/** What a returned value was, without the value: the detail goes to logs. */
function kindOf(value: unknown): string {
  if (typeof value === "string") return value.length === 0 ? "an empty string" : `a string of ${value.length} characters`;
  if (typeof value === "number") return String(value);
  return value === null ? "null" : Array.isArray(value) ? "an array" : `a${typeof value === "object" ? "n" : ""} ${typeof value}`;
}

/** The legacy session's user by the application's `userIdOf`, or why it cannot be adopted. */
function userIdFrom(userIdOf: AdoptExpressSessionOptions["userIdOf"], data: Record<string, unknown>): { userId: string | null } | RefusedLegacySession {
  let value: unknown;
  try {
    value = userIdOf(data);
  } catch (error) {
    const name = error instanceof Error ? error.name : typeof error;
    return { refused: `adoptExpressSession userIdOf threw (${name}) on a legacy session, which reads as no session and has its cookie cleared; make it ${USER_ID_FIX}.` };
  }
  if (value === null || value === undefined) return { userId: null };
  if (typeof value === "number" && Number.isFinite(value)) return { userId: String(value) };
  if (typeof value === "string" && value.length > 0 && value.length <= 256 && isStorableText(value)) return { userId: value };
  return { refused: `adoptExpressSession userIdOf returned ${kindOf(value)} for a legacy session, which reads as no session and has its cookie cleared; it must ${USER_ID_FIX}.` };
}

/**
 * @example
 * adopt: adoptExpressSession({ secret: process.env.SESSION_SECRET!, store: "redis://127.0.0.1:6379", userIdOf: (s) => s.userId as string })
 */
export function adoptExpressSession(options: AdoptExpressSessionOptions): ExpressSessionAdoption {
  if (typeof options !== "object" || options === null) {
    throw new SessionError("ERR_SESSION_CONFIG", "adoptExpressSession needs { secret, store, userIdOf }.");
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new SessionError("ERR_SESSION_CONFIG", `unknown adoptExpressSession option ${key}; the options are ${[...KNOWN].join(", ")}.`);
  }
  const secrets = secretsOf(options.secret);
  const name = options.name ?? "connect.sid";
  if (typeof name !== "string" || !COOKIE_NAME.test(name)) {
    throw new SessionError("ERR_SESSION_CONFIG", "adoptExpressSession name must be express-session's cookie name (a cookie token); the default is connect.sid.");
  }
  if (typeof options.userIdOf !== "function") {
    throw new SessionError("ERR_SESSION_CONFIG", "adoptExpressSession needs userIdOf: (legacySession) => the user's id or null, for example (s) => s.userId.");
  }
  const userIdOf = options.userIdOf;
  const { path = "/", domain } = options.cookie ?? {};
  if (typeof path !== "string" || !path.startsWith("/") || (domain !== undefined && typeof domain !== "string")) {
    throw new SessionError("ERR_SESSION_CONFIG", 'adoptExpressSession cookie must be express-session\'s cookie option: a path starting with "/" and an optional domain.');
  }
  const legacy = legacyStoreOf(options.store);

  const adopter = {
    name: "express-session",
    cookieName: name,
    // express-session sets its cookie with these path and domain; the same ones remove it.
    clearCookie: stringifySetCookie({ name, value: "", path, domain, expires: new Date(0), maxAge: 0 }),

    async verify(raw: string): Promise<LegacyCookieCheck> {
      let value: string;
      try {
        value = decodeURIComponent(raw);
      } catch {
        return { ok: false, reason: "malformed" };
      }
      // express-session ignores a cookie without its "s:" prefix, as unsigned.
      if (!value.startsWith("s:")) return { ok: false, reason: "malformed" };
      for (const secret of secrets) {
        const sid = unsign(value.slice(2), secret);
        if (sid !== false) return { ok: true, id: sid, seed: await seedOf(secret, sid) };
      }
      return { ok: false, reason: "forged" };
    },

    async read(sid: string): Promise<LegacySession | RefusedLegacySession | null> {
      const record: LegacyRecord | null = await legacy.get(sid);
      if (!record) return null;
      const { cookie, ...data } = record;
      const raw = (cookie as { expires?: unknown } | undefined)?.expires;
      const expires = typeof raw === "string" ? Date.parse(raw) : raw instanceof Date ? raw.getTime() : NaN;
      const user = userIdFrom(userIdOf, data);
      return "refused" in user ? user : { data, userId: user.userId, expiresAt: Number.isFinite(expires) ? expires : null };
    },

    remove: (sid: string) => legacy.destroy(sid),
  };
  return { ...adopter, ...adoptLegacySessions(adopter), close: () => legacy.close() };
}
