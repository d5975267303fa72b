/**
 * Device-bound sessions (DBSC, the W3C draft "Device Bound Session Credentials"), the
 * `deviceBound` option: a browser that supports DBSC keeps a private key for the session (in a
 * TPM where it has one) and proves it every few minutes to get a short-lived bound cookie, so a
 * copy of the cookies taken off the machine stops working once that cookie runs out.
 *
 * The bindings (Hono's `sessionMiddleware`, `withSession`, Next's `deviceBoundHandler`) serve the
 * two endpoints and add `Secure-Session-Registration` to sign-in responses; `session.binding`
 * says what a request shows. Browsers without DBSC keep working as before: their sessions
 * never register, and read as "unbound" with `deviceRegistered` false.
 *
 * @module
 */
import type { Context } from "../context.ts";
import type { CookieSource } from "../cookie.ts";
import { sessionState, type Session } from "../session.ts";
import { createBinding } from "./binding.ts";
import { createEndpoints } from "./endpoints.ts";
import type { ResolvedDeviceBound } from "./options.ts";

export type { DeviceAlgorithm, DeviceBoundOptions } from "./options.ts";
export type { ProofRefusal } from "./proof.ts";

/** The header that asks a DBSC browser to register a key. */
export const REGISTRATION_HEADER = "Secure-Session-Registration";

/** `sessions.deviceBound`, when the option is on. */
export interface DeviceBound {
  readonly registrationPath: string;
  readonly refreshPath: string;
  /** The bound cookie's name. */
  readonly cookieName: string;
  /** Whether `request` is for one of the two endpoints (a POST to either path). */
  matches(request: Request): boolean;
  /**
   * Answers a registration or refresh request. A store fault throws ERR_SESSION_STORE, which
   * the bindings answer with 503, as for any request.
   */
  handle(request: Request): Promise<Response>;
  /**
   * The `Secure-Session-Registration` value for a response whose commit signed the session in
   * (a new id by `regenerate`, or a new session, with a user) and that has no device key yet;
   * null otherwise, a renewal or a re-seal included. Call it after the commit. The bindings add it.
   */
  registrationHeader(session: Session<object>): Promise<string | null>;
}

export function createDeviceBound(ctx: Context, options: ResolvedDeviceBound) {
  const endpoints = createEndpoints(ctx, options);
  const bindingOf = createBinding(ctx, options);
  const pathOf = (request: Request) => {
    try {
      return new URL(request.url).pathname;
    } catch {
      return "";
    }
  };

  const api: DeviceBound = {
    registrationPath: options.registrationPath,
    refreshPath: options.refreshPath,
    cookieName: options.cookieName,
    matches(request) {
      if (request.method !== "POST") return false;
      const path = pathOf(request);
      return path === options.registrationPath || path === options.refreshPath;
    },
    handle(request) {
      return pathOf(request) === options.registrationPath ? endpoints.register(request) : endpoints.refresh(request);
    },
    registrationHeader(session) {
      return endpoints.registrationHeader(sessionState(session));
    },
  };

  /** Puts what the request shows of the binding on a session just read. */
  async function attach<S extends Session<object>>(session: S, source: CookieSource): Promise<S> {
    const state = sessionState(session);
    const { binding, registered } = await bindingOf(state, source);
    state.binding = binding;
    state.deviceRegistered = registered;
    return session;
  }

  return { api, attach };
}
