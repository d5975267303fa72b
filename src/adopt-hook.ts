/**
 * The manager's side of the `adopt` option, kept apart from the adoption rules (adopt.ts) so
 * an application that adopts nothing bundles none of them: the option's shape, and the legacy
 * cookie a session read from one must clear on its response.
 *
 * @module
 */
import type { Context } from "./context.ts";
import { SessionError } from "./errors.ts";
import type { Session } from "./session.ts";

/** What the `adopt` option takes: `adoptExpressSession(...)` from cloakroom/express-session. */
export interface SessionAdoption {
  /** The legacy cookie's name. */
  readonly cookieName: string;
  /** @internal The session of a request with no ticket; called by the manager. */
  readSession<Data extends object>(ctx: Context, header: string | undefined): Promise<Session<Data>>;
}

export function checkAdoption(value: unknown, cookieName: string): SessionAdoption | undefined {
  if (value === undefined) return undefined;
  const adoption = value as Partial<SessionAdoption> | null;
  if (typeof adoption !== "object" || adoption === null || typeof adoption.readSession !== "function" || typeof adoption.cookieName !== "string") {
    throw new SessionError("ERR_SESSION_CONFIG", "adopt must be an adoption, for example adoptExpressSession({ secret, store, userIdOf }) from cloakroom/express-session.");
  }
  if (adoption.cookieName === cookieName) {
    throw new SessionError("ERR_SESSION_CONFIG", `adopt reads the cookie "${cookieName}", which is cloakroom's own cookie.name; give cloakroom's cookie another name.`);
  }
  return adoption as SessionAdoption;
}

/** The Set-Cookie clearing a legacy cookie, per session read with one; taken once. */
const toClear = new WeakMap<Session<object>, string>();

export function clearOnCommit(session: Session<object>, setCookie: string): void {
  toClear.set(session, setCookie);
}

export function takeLegacyCookie(session: Session<object>): string | undefined {
  const cookie = toClear.get(session);
  toClear.delete(session);
  return cookie;
}
