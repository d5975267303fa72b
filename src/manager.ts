/**
 * `createSessions`: the one object an application holds. It reads a session from a request
 * (ticket -> handle -> one store call), commits changes (compare-and-set with replay), and
 * manages a user's sessions. Every step is a function of Web-standard inputs, so the same
 * manager serves Hono, Next.js, Bun.serve, Deno.serve and a Worker's fetch.
 *
 * @module
 */
import { commitSession } from "./commit.ts";
import { createContext } from "./context.ts";
import type { CookieSource } from "./cookie.ts";
import { probeHealth, type HealthReport } from "./health.ts";
import { attachContext } from "./manager-context.ts";
import type { SessionsOptions } from "./options.ts";
import { readSession, type ReadOptions } from "./read.ts";
import type { Session } from "./session.ts";
import type { SessionStore } from "./store.ts";
import { listUser, revokeSession, revokeUser, type SessionInfo } from "./user-sessions.ts";

export type { HealthReport, SessionInfo, ReadOptions };

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
  const sessions: Sessions<Data> = {
    read: (source, options) => readSession<Data>(ctx, source, options),
    commit: (session) => commitSession(ctx, session),
    listUser: (userId, options = {}) => listUser(ctx, userId, options.current),
    revokeUser: (userId, options = {}) => revokeUser(ctx, userId, options.except),
    revokeSession: (userId, handle) => revokeSession(ctx, userId, handle),
    health: () => probeHealth(ctx),
    cookieName: ctx.config.cookie.name,
    store: ctx.store,
  };
  // The replay log seals resume tokens with this manager's keyring (src/replay/).
  attachContext(sessions, ctx);
  return sessions;
}
