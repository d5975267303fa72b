/**
 * `createSessions`: the one object an application holds. It reads a session from a request
 * (ticket -> handle -> one store call), commits changes (compare-and-set with replay), and
 * manages a user's sessions. Every step is a function of Web-standard inputs, so the same
 * manager serves Hono, Next.js, Bun.serve, Deno.serve and a Worker's fetch.
 *
 * @module
 */
import { takeLegacyCookie } from "./adopt-hook.ts";
import { commitSession } from "./commit.ts";
import { createContext } from "./context.ts";
import type { CookieSource } from "./cookie.ts";
import { createDeviceBound, type DeviceBound } from "./dbsc/index.ts";
import { probeHealth, type HealthReport } from "./health.ts";
import { attachContext } from "./manager-context.ts";
import type { SessionsOptions } from "./options.ts";
import { readSession, type ReadOptions } from "./read.ts";
import type { Session } from "./session.ts";
import type { SessionStore } from "./store.ts";
import { listUser, revokeSession, revokeUser, type SessionInfo } from "./user-sessions.ts";

export type { HealthReport, SessionInfo, ReadOptions, DeviceBound };

export interface Sessions<Data extends object = Record<string, unknown>> {
  /**
   * Reads the session of a request. Bad, forged, expired or oversized cookies read as a new,
   * empty session (see `session.invalidReason`); this never throws on bad input. A store
   * failure throws a `SessionError` with code `ERR_SESSION_STORE`: it is not "no session";
   * with `{ onStoreError: "anonymous" }` it gives a degraded anonymous session instead.
   */
  read(source: CookieSource, options?: ReadOptions): Promise<Session<Data>>;
  /**
   * Persists what changed and returns the Set-Cookie value to send, or null when the browser's
   * cookie stays as it is (nothing changed, or only the idle expiry moved).
   */
  commit(session: Session<Data>): Promise<string | null>;
  /**
   * `commit`, returning every Set-Cookie value the response needs: the ticket's, and the one
   * that clears a legacy cookie the session was adopted from (the `adopt` option). What the
   * bindings call; an integration of your own should too.
   */
  commitCookies(session: Session<Data>): Promise<string[]>;
  /** Live sessions of a user, most recently seen first. Needs a store with a user index. */
  listUser(userId: string, options?: { current?: Session<Data> }): Promise<SessionInfo[]>;
  /** Signs a user out everywhere, optionally but one session; returns how many ended. */
  revokeUser(userId: string, options?: { except?: Session<Data> | string }): Promise<number>;
  /** Ends one session by handle if it belongs to `userId`; false when it does not (or is gone). */
  revokeSession(userId: string, handle: string): Promise<boolean>;
  /** Probes the store. */
  health(): Promise<HealthReport>;
  /** Name of the session cookie. */
  readonly cookieName: string;
  /** Device-bound sessions (DBSC): the endpoints and the registration header; undefined when `deviceBound` is off. */
  readonly deviceBound: DeviceBound | undefined;
  readonly store: SessionStore;
}

/**
 * Creates the session manager. Options are checked here, once: a typo or an unsafe
 * combination fails at start-up with a message naming the option and the fix.
 *
 * @example
 * const sessions = createSessions<{ count: number }>({
 *   store: memoryStore(),
 *   keys: process.env.SESSION_KEYS,
 *   idleTimeout: 1800,
 *   absoluteTimeout: 604800,
 * });
 * const session = await sessions.read(request);
 * session.update("count", (count = 0) => count + 1);
 * const setCookie = await sessions.commit(session);
 */
export function createSessions<Data extends object = Record<string, unknown>>(
  options: SessionsOptions,
): Sessions<Data> {
  const ctx = createContext(options);
  const dbsc = ctx.config.deviceBound ? createDeviceBound(ctx, ctx.config.deviceBound) : undefined;
  const sessions: Sessions<Data> = {
    // With device-bound sessions on, the read also says what the request shows of the binding.
    read: dbsc
      ? (source, options) => readSession<Data>(ctx, source, options).then((session) => dbsc.attach(session, source))
      : (source, options) => readSession<Data>(ctx, source, options),
    commit: (session) => commitSession(ctx, session),
    // Only an adopting manager can owe a legacy cookie's clearing; the others skip the lookup.
    commitCookies: ctx.config.adopt
      ? async (session) => {
          const ticket = await commitSession(ctx, session);
          const legacy = takeLegacyCookie(session);
          return ticket === null ? (legacy ? [legacy] : []) : legacy ? [ticket, legacy] : [ticket];
        }
      : (session) => commitSession(ctx, session).then((ticket) => (ticket === null ? [] : [ticket])),
    listUser: (userId, options = {}) => listUser(ctx, userId, options.current),
    revokeUser: (userId, options = {}) => revokeUser(ctx, userId, options.except),
    revokeSession: (userId, handle) => revokeSession(ctx, userId, handle),
    health: () => probeHealth(ctx),
    cookieName: ctx.config.cookie.name,
    deviceBound: dbsc?.api,
    store: ctx.store,
  };
  // The replay log seals resume tokens with this manager's keyring (src/replay/).
  attachContext(sessions, ctx);
  return sessions;
}
