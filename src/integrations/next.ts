/**
 * Next.js bindings (App Router, Next 15 and 16): two functions, the same in every place a
 * Next app touches a session.
 *
 * - `readSession(sessions, source)` takes what that place has: `await cookies()` from
 *   `next/headers` in a Server Component, Server Action or Route Handler, or the request in
 *   `proxy.ts` (the Next 16 name for middleware) and in a Route Handler.
 * - `commitSession(sessions, session, target)` saves what changed and hands the Set-Cookie to
 *   `await cookies()` (Server Actions, Route Handlers) or to the `NextResponse` that
 *   `proxy.ts` returns.
 *
 * With the manager's `adopt` option (coming from express-session), the legacy cookie is read
 * from `cookies()` as from a request, so `proxy.ts`, Server Actions and Route Handlers adopt,
 * and their `commitSession` sets the ticket and clears the legacy cookie. A Server Component
 * reads the adopted session but cannot set cookies, so adoption belongs in a `proxy.ts` in
 * front of the pages (README, "Next.js").
 *
 * Like iron-session, nothing here imports `next`: the parameters are typed by the few methods
 * used, so any object shaped like `cookies()` works (a test's Map-backed fake included), and
 * the module stays Web-standard. A Route Handler can also use `withSession` from "cloakroom",
 * since it is a `(Request) => Response` function.
 *
 * @example
 * // app/actions.ts
 * "use server";
 * import { cookies } from "next/headers";
 * import { redirect } from "next/navigation";
 * import { commitSession, readSession } from "cloakroom/next";
 *
 * export async function signIn(form: FormData) {
 *   const jar = await cookies();
 *   const session = await readSession(sessions, jar);
 *   session.userId = String(form.get("user"));
 *   await session.regenerate();
 *   await commitSession(sessions, session, jar);
 *   redirect("/account");
 * }
 *
 * @module
 */
import { parseSetCookie } from "cookie";
import type { CookieSource } from "../cookie.ts";
import { SessionError } from "../errors.ts";
import { contextOf } from "../manager-context.ts";
import { isUnavailable, unavailableResponse } from "./unavailable.ts";
import type { ReadOptions, Sessions } from "../manager.ts";
import type { Session } from "../session.ts";
import { sessionCacheControl } from "./private-response.ts";

/** The cookie attributes cloakroom passes to `set` and `delete`; a subset of Next's `ResponseCookie`. */
export interface NextCookieOptions {
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: "lax" | "strict" | "none";
  path?: string;
  domain?: string;
  partitioned?: boolean;
  /** Seconds; absent for a browser-session cookie (`cookie.persistent: false`). */
  maxAge?: number;
  expires?: Date;
}

/**
 * Anything shaped like `await cookies()` from `next/headers`, or `NextResponse.cookies`.
 * `delete` gets the cookie's attributes, not just its name: a `__Host-` cookie is only
 * replaced by a Set-Cookie that is `Secure` with `Path=/`, so `delete(name)` alone would
 * leave the browser holding it. Next's `delete` accepts that object form.
 */
export interface NextCookies {
  get(name: string): { value: string } | undefined;
  set(name: string, value: string, options: NextCookieOptions): unknown;
  delete(cookie: { name: string } & Omit<NextCookieOptions, "maxAge" | "expires">): unknown;
}

/** Where a session can be read from: `cookies()` (awaited or not), a `Request`/`NextRequest`, or `Headers`. */
export type NextSessionSource =
  | Pick<NextCookies, "get">
  | PromiseLike<Pick<NextCookies, "get">>
  | Request
  | Headers;

/** Where a commit's cookie goes: `cookies()` (awaited or not), or a `NextResponse` (its `cookies`). */
export type NextCommitTarget = NextCookies | PromiseLike<NextCookies> | { cookies: NextCookies };

/** Tickets are base64url and dots; decoding would only let odd input cost more. */
const verbatim = (value: string): string => value;

function checkSessions(sessions: unknown, name: string): void {
  const candidate = sessions as Partial<Sessions> | undefined;
  if (!candidate || typeof candidate.read !== "function" || typeof candidate.commitCookies !== "function" || typeof candidate.cookieName !== "string") {
    throw new SessionError("ERR_SESSION_CONFIG", `${name} needs the manager returned by createSessions() as its first argument.`);
  }
}

const hasMethod = (value: unknown, method: string): boolean =>
  typeof value === "object" && value !== null && typeof (value as Record<string, unknown>)[method] === "function";

/** The cookies of a cookie store the core reads: the session's, the bound one, and the legacy one an adoption takes. */
interface CookieNames {
  session: string;
  bound: string | undefined;
  legacy: string | undefined;
}

function namesOf(sessions: Sessions<any>): CookieNames {
  return { session: sessions.cookieName, bound: sessions.deviceBound?.cookieName, legacy: contextOf(sessions)?.config.adopt?.cookieName };
}

/** The `Cookie` header the core reads, built from a cookie store's cookies that matter. */
function sourceOf(source: unknown, names: CookieNames): CookieSource {
  if (hasMethod((source as { headers?: unknown } | null)?.headers, "get")) return source as Request;
  if (!hasMethod(source, "get")) return source as CookieSource;
  const get = (name: string): unknown => (source as { get(name: string): unknown }).get(name);
  const first = get(names.session);
  // Headers (its get returns a string or null): the core reads its Cookie header.
  if (typeof first === "string" || first === null) return source as Headers;
  const valueOf = (name: string | undefined) => {
    const cookie = name === undefined ? undefined : name === names.session ? first : get(name);
    const value = typeof cookie === "object" && cookie !== null ? (cookie as { value?: unknown }).value : undefined;
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const pairs: string[] = [];
  const ticket = valueOf(names.session);
  if (ticket !== undefined) {
    pairs.push(`${names.session}=${ticket}`);
    const bound = valueOf(names.bound);
    if (bound !== undefined) pairs.push(`${names.bound}=${bound}`);
  } else {
    // No ticket: the adoption (the `adopt` option) reads the legacy cookie. cookies() gives
    // values decoded, and the adopter reads the cookie as the browser sent it, so it is
    // encoded again (express-session's cookie is encodeURIComponent of "s:<id>.<signature>").
    const legacy = valueOf(names.legacy);
    if (legacy !== undefined) pairs.push(`${names.legacy}=${encodeURIComponent(legacy)}`);
  }
  return pairs.length > 0 ? pairs.join("; ") : null;
}

/**
 * Reads the session: from `await cookies()` in Server Components, Server Actions and Route
 * Handlers, or from the request in `proxy.ts`. With the `cookieCache` option on, a read inside
 * the cache window makes no store call, which is what a proxy that runs on every request
 * wants. A store fault throws `ERR_SESSION_STORE` (never "signed out"), unless
 * `{ onStoreError: "anonymous" }` asks for a degraded anonymous session instead.
 *
 * @example
 * // app/account/page.tsx (a Server Component: it reads, it cannot set cookies)
 * const session = await readSession(sessions, await cookies());
 * if (session.userId === null) redirect("/login");
 *
 * @example
 * // proxy.ts
 * export async function proxy(request: NextRequest) {
 *   const session = await readSession(sessions, request);
 *   if (session.userId === null) return NextResponse.redirect(new URL("/login", request.url));
 *   const response = NextResponse.next();
 *   await commitSession(sessions, session, response); // a fresh cookie-cache snapshot when due
 *   return response;
 * }
 */
export async function readSession<Data extends object>(
  sessions: Sessions<Data>,
  source: NextSessionSource,
  options?: ReadOptions,
): Promise<Session<Data>> {
  checkSessions(sessions, "readSession");
  return sessions.read(sourceOf(await source, namesOf(sessions)), options);
}

function cookiesOf(target: unknown): NextCookies {
  // Headers has set and delete too, but setting a header named after the cookie is no cookie.
  const isHeaders = typeof Headers !== "undefined" && target instanceof Headers;
  if (!isHeaders && hasMethod(target, "set") && hasMethod(target, "delete")) return target as NextCookies;
  const cookies = (target as { cookies?: unknown } | null)?.cookies;
  if (hasMethod(cookies, "set") && hasMethod(cookies, "delete")) return cookies as NextCookies;
  throw new SessionError(
    "ERR_SESSION_CONFIG",
    "commitSession needs somewhere to put the cookie: `await cookies()` from next/headers (in a Server Action or Route Handler) or the NextResponse proxy.ts returns. For a plain Response, use withSession from cloakroom.",
  );
}

/** Hands one Set-Cookie value to a cookie store, attribute for attribute. */
function applySetCookie(jar: NextCookies, setCookie: string): void {
  const parsed = parseSetCookie(setCookie, { decode: verbatim });
  const attributes: Omit<NextCookieOptions, "maxAge" | "expires"> = {};
  if (parsed.httpOnly) attributes.httpOnly = true;
  if (parsed.secure) attributes.secure = true;
  if (parsed.partitioned) attributes.partitioned = true;
  if (typeof parsed.sameSite === "string") attributes.sameSite = parsed.sameSite;
  if (parsed.path !== undefined) attributes.path = parsed.path;
  if (parsed.domain !== undefined) attributes.domain = parsed.domain;
  if (!parsed.value || parsed.maxAge === 0) {
    jar.delete({ name: parsed.name, ...attributes });
    return;
  }
  jar.set(parsed.name, parsed.value, {
    ...attributes,
    ...(parsed.maxAge !== undefined && { maxAge: parsed.maxAge }),
    ...(parsed.expires !== undefined && { expires: parsed.expires }),
  });
}

/**
 * Saves what changed and sets the cookie when the ticket changed (sign-in, regenerate,
 * sign-out, a re-seal with a new key, a fresh cookie-cache snapshot). Returns the Set-Cookie
 * value, or null when the browser's cookie stays as it is.
 *
 * Call it in Server Actions, Route Handlers and `proxy.ts`. Not in a Server Component: Next
 * refuses cookie changes while rendering, so a page reads the session and leaves committing
 * to an action, a handler or the proxy.
 *
 * @example
 * // a Server Action
 * const jar = await cookies();
 * const session = await readSession(sessions, jar);
 * session.destroy();
 * await commitSession(sessions, session, jar); // deletes the cookie
 * redirect("/login");
 */
export async function commitSession<Data extends object>(
  sessions: Sessions<Data>,
  session: Session<Data>,
  target: NextCommitTarget,
): Promise<string | null> {
  checkSessions(sessions, "commitSession");
  const resolved = await target;
  // Checked before the commit: a store write whose cookie has nowhere to go would be lost.
  const jar = cookiesOf(resolved);
  // The ticket's cookie, and the clearing of a legacy cookie the session was adopted from.
  const setCookies = await sessions.commitCookies(session);
  for (const setCookie of setCookies) applySetCookie(jar, setCookie);
  const setCookie = setCookies.find((value) => value.startsWith(`${sessions.cookieName}=`)) ?? null;
  const headers = (resolved as { headers?: unknown }).headers;
  // Device-bound sessions: a sign-in answered by a NextResponse (proxy.ts, a Route Handler)
  // offers DBSC browsers to register. `cookies()` has no way to set a header.
  if (setCookie && sessions.deviceBound && hasMethod(headers, "set")) {
    const registration = await sessions.deviceBound.registrationHeader(session);
    if (registration) (headers as Headers).set("secure-session-registration", registration);
  }
  // A NextResponse from proxy.ts: private like every binding's (private-response.ts). Next
  // itself marks pages that read cookies() as dynamic and uncached.
  if (typeof Headers !== "undefined" && headers instanceof Headers) {
    const cacheControl = sessionCacheControl(session, setCookies.length > 0, headers.get("cache-control"));
    if (cacheControl) headers.set("cache-control", cacheControl);
  }
  return setCookie;
}

/**
 * The DBSC registration and refresh endpoints (the `deviceBound` option) as a Route Handler.
 * Put it where `deviceBound.registrationPath` and `refreshPath` point, for example
 * `app/dbsc/[step]/route.ts` for the defaults `/dbsc/register` and `/dbsc/refresh`. A store
 * fault answers 503.
 *
 * @example
 * // app/dbsc/[step]/route.ts
 * import { deviceBoundHandler } from "cloakroom/next";
 * import { sessions } from "@/lib/sessions";
 * export const POST = deviceBoundHandler(sessions);
 */
export function deviceBoundHandler(sessions: Sessions<any>): (request: Request) => Promise<Response> {
  checkSessions(sessions, "deviceBoundHandler");
  const dbsc = sessions.deviceBound;
  if (!dbsc) {
    throw new SessionError("ERR_SESSION_CONFIG", "deviceBoundHandler needs a manager created with the deviceBound option (createSessions({ ..., deviceBound: {} })).");
  }
  return async (request) => {
    if (!dbsc.matches(request)) return new Response(null, { status: 404 });
    try {
      return await dbsc.handle(request);
    } catch (error) {
      if (isUnavailable(error)) return unavailableResponse();
      throw error;
    }
  };
}
