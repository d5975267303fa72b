/**
 * Cache-Control for responses built from a session, shared so every binding agrees. A shared
 * cache (a CDN, a proxy) must never keep one visitor's page and hand it to the next: not only
 * when the response sets the cookie, but whenever the request carried a session, since the
 * handler may have rendered what that session holds.
 *
 * @module
 */
import type { Session } from "../session.ts";

/**
 * The Cache-Control a response gets, or null to leave it as the handler set it. A response
 * with a Set-Cookie is `no-store`. One served to a stored session is `private, no-store`
 * unless the handler already made it private or no-store (a handler's `public` is overridden:
 * it cannot know what a later change to the page will show).
 */
export function sessionCacheControl(session: Session<object>, setsCookie: boolean, current: string | null): string | null {
  if (setsCookie) return "no-store";
  if (session.isNew) return null;
  return current && /(^|[\s,])(private|no-store)($|[\s,=])/i.test(current) ? null : "private, no-store";
}
