/**
 * `session.binding`: what a request shows of its device binding. "bound": a valid bound cookie
 * of this session's registered device; "expired": one that was, past its end (the browser should
 * have refreshed it); "unbound": none (a browser without DBSC, a session that never registered,
 * or a copy of the cookies on another device once the copied bound cookie has run out).
 *
 * Verified bound cookies are remembered by their exact string until their end (or their key's
 * retirement), so a request with the cookie the browser got at its last refresh costs a map
 * lookup, not an HMAC.
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
/**
 * How long after a registration the session does not count as device-registered yet. The key is
 * stored before the browser has the registration's answer, and its own requests sent meanwhile
 * (a page asking who is signed in right after the sign-in) carry no bound cookie: a strict
 * policy must not refuse those. A copy taken in that window carries the fresh bound cookie anyway.
 */
export const SETTLE_MS = 5_000;
const verbatim = (value: string): string => value;

export function createBinding(ctx: Context, options: ResolvedDeviceBound) {
  const remembered = new Map<string, OpenedToken>();

  async function opened(token: string, now: number): Promise<OpenedToken | null> {
    const known = remembered.get(token);
    // Remembered only while its key is in its window: a retired key's cookie opens no more.
    if (known && known.keyNotAfter > now) return known;
    if (known) remembered.delete(token);
    const fresh = await openToken(ctx.keyring, token, "bound", now);
    if (!fresh) return null;
    if (remembered.size >= MAX_REMEMBERED) remembered.delete(remembered.keys().next().value!);
    remembered.set(token, fresh);
    return fresh;
  }

  async function bound(deviceId: string, source: CookieSource): Promise<Binding> {
    const header = cookieHeaderOf(source);
    const token = header ? parseCookie(header, { decode: verbatim })[options.cookieName] : undefined;
    if (!token) return "unbound";
    const now = ctx.config.clock();
    const found = await opened(token, now);
    if (!found || found.subject !== deviceId) return "unbound";
    if (found.expiresAt > now) return "bound";
    remembered.delete(token);
    return "expired";
  }

  return async function bindingOf(state: SessionState, source: CookieSource): Promise<{ binding: Binding; registered: boolean }> {
    const device = deviceOf(state.record?.device);
    if (!device || state.record?.successor !== undefined) return { binding: "unbound", registered: false };
    const registered = ctx.config.clock() - device.at >= SETTLE_MS;
    return { binding: await bound(device.id, source), registered };
  };
}
