/**
 * `session.binding`: what a request shows of its device binding. "bound": a valid bound cookie
 * of this session's registered device; "expired": one that was, past its end (the browser should
 * have refreshed it); "unbound": none (a browser without DBSC, a session that never registered,
 * or a copy of the cookies on another device once the copied bound cookie has run out).
 *
 * Verified bound cookies are remembered by their exact string until their end, so a request
 * with the cookie the browser got at its last refresh costs a map lookup, not an HMAC.
 *
 * @module
 */
import { parseCookie } from "cookie";
import type { Context } from "../context.ts";
import { cookieHeaderOf, type CookieSource } from "../cookie.ts";
import type { Binding, SessionState } from "../session.ts";
import { deviceOf } from "./device.ts";
import type { ResolvedDeviceBound } from "./options.ts";
import { openToken, type OpenedToken } from "./tokens.ts";

const MAX_REMEMBERED = 10_000;
const verbatim = (value: string): string => value;

export function createBinding(ctx: Context, options: ResolvedDeviceBound) {
  const remembered = new Map<string, OpenedToken>();

  async function opened(token: string, now: number): Promise<OpenedToken | null> {
    const known = remembered.get(token);
    if (known) return known;
    const fresh = await openToken(ctx.keyring, token, "bound", now);
    if (!fresh) return null;
    if (remembered.size >= MAX_REMEMBERED) remembered.delete(remembered.keys().next().value!);
    remembered.set(token, fresh);
    return fresh;
  }

  return async function bindingOf(state: SessionState, source: CookieSource): Promise<Binding> {
    const device = deviceOf(state.record?.device);
    if (!device) return "unbound";
    const header = cookieHeaderOf(source);
    const token = header ? parseCookie(header, { decode: verbatim })[options.cookieName] : undefined;
    if (!token) return "unbound";
    const now = ctx.config.clock();
    const bound = await opened(token, now);
    if (!bound || bound.subject !== device.id) return "unbound";
    if (bound.expiresAt > now) return "bound";
    remembered.delete(token);
    return "expired";
  };
}
