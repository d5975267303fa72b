/**
 * Getting the ticket out of a request and putting it into a Set-Cookie value. Parsing and
 * serialising are the `cookie` library's (jshttp/cookie); this module only decides which
 * cookie, how long it may be, and which attributes it carries.
 *
 * @module
 */
import { parseCookie, stringifySetCookie } from "cookie";
import type { ResolvedOptions } from "./options.ts";

/** Anything a session can be read from. Anything else reads as "no cookie". */
export type CookieSource =
  | Request
  | Headers
  | { headers: { get(name: string): string | null } }
  | { get(name: string): string | null }
  | string
  | null
  | undefined;

/** Tickets are base64url and dots; decoding would only let odd input cost more. */
const verbatim = (value: string): string => value;

export function cookieHeaderOf(source: unknown): string | undefined {
  try {
    if (typeof source === "string") return source;
    if (typeof source !== "object" || source === null) return undefined;
    const holder = source as { headers?: { get?: unknown }; get?: unknown };
    const headers = typeof holder.headers?.get === "function" ? holder.headers : holder;
    if (typeof headers.get !== "function") return undefined;
    const value: unknown = (headers.get as (name: string) => unknown).call(headers, "cookie");
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

export type TicketLookup =
  | { kind: "none" }
  | { kind: "too-large" }
  | { kind: "ticket"; ticket: string };

/**
 * The value of the last `name=` pair, as Next.js's `cookies()` picks it (@edge-runtime/cookies
 * splits on `; *` and keeps the last pair of a name whose value decodes). jshttp's parser keeps
 * the first, so with two cookies of one name (a second path, a cookie tossed from a sibling
 * subdomain) a proxy reading the request and a page reading `cookies()` would see different
 * sessions. Only a header that names the cookie twice takes this path.
 */
function lastValue(header: string, name: string): string | undefined {
  let found: string | undefined;
  for (const pair of header.split(/; */)) {
    const at = pair.indexOf("=");
    if (at === -1 || pair.slice(0, at) !== name) continue;
    const value = pair.slice(at + 1);
    try {
      decodeURIComponent(value);
    } catch {
      continue; // Next drops such a pair, and keeps the one before it
    }
    found = value;
  }
  return found;
}

export function findTicket(header: string | undefined, name: string, maxCookieBytes: number): TicketLookup {
  if (!header) return { kind: "none" };
  const first = header.indexOf(`${name}=`);
  const ticket = first !== -1 && header.indexOf(`${name}=`, first + 1) !== -1
    ? lastValue(header, name)
    : parseCookie(header, { decode: verbatim })[name];
  if (!ticket) return { kind: "none" };
  if (name.length + 1 + ticket.length > maxCookieBytes) return { kind: "too-large" };
  return { kind: "ticket", ticket };
}

type CookieConfig = ResolvedOptions["cookie"];

function attributes(cookie: CookieConfig) {
  return {
    httpOnly: cookie.httpOnly,
    secure: cookie.secure,
    sameSite: cookie.sameSite,
    path: cookie.path,
    domain: cookie.domain,
    partitioned: cookie.partitioned || undefined,
  };
}

export function ticketCookie(cookie: CookieConfig, ticket: string, expiresAt: number, now: number): string {
  return stringifySetCookie({
    name: cookie.name,
    value: ticket,
    ...attributes(cookie),
    maxAge: cookie.persistent ? Math.max(0, Math.floor((expiresAt - now) / 1000)) : undefined,
  });
}

/** Same name and attributes as the ticket cookie, so the browser replaces it with nothing. */
export function clearingCookie(cookie: CookieConfig): string {
  return stringifySetCookie({
    name: cookie.name,
    value: "",
    ...attributes(cookie),
    maxAge: 0,
    expires: new Date(0),
  });
}
