/**
 * Cache-Control for responses built from a session, shared so every binding agrees. A shared
 * cache (a CDN, a proxy) must never keep one visitor's page and hand it to the next: not only
 * when the response sets the cookie, but whenever the request carried a session, since the
 * handler may have rendered what that session holds.
 *
 * @module
 */
import type { Session } from "../session.ts";

/** What a response served to a stored session gets unless its handler set a Cache-Control of its own. */
export const PRIVATE = "private, no-store";

/**
 * The Cache-Control a response gets, or null to leave it as it is. A response with a
 * Set-Cookie is `no-store`, whatever the handler said: it hands out a session. One served to a
 * stored session is `private, no-store` unless the handler set a Cache-Control itself (then
 * the handler decided, for example a public asset behind the middleware).
 */
export function sessionCacheControl(session: Session<object>, setsCookie: boolean, current: string | null): string | null {
  if (setsCookie) return "no-store";
  return session.isNew || current ? null : PRIVATE;
}
