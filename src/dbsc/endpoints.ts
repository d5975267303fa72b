/**
 * The two DBSC endpoints, as `(Request) => Response`:
 *
 * - registration: the signed-in session's browser POSTs a `Secure-Session-Response` proof whose
 *   header carries its new public key and whose `jti` is the challenge of the sign-in response's
 *   `Secure-Session-Registration`. Verified, the key goes into the session record, and the answer
 *   is the session config JSON plus a short-lived bound cookie.
 * - refresh: when the bound cookie is missing or expiring, the browser POSTs with
 *   `Sec-Secure-Session-Id`; the answer is 403 with a `Secure-Session-Challenge`, then the browser
 *   POSTs the signed answer, verified against the stored key: a fresh bound cookie, or
 *   `{"continue": false}` when there is no longer a session to bind.
 *
 * Challenges are signed by the server (tokens.ts), live `challengeMaxAge` and are good once: the
 * first use is counted in the store (`increment`, expiring with the challenge).
 *
 * @module
 */
import { stringifySetCookie } from "cookie";
import type { Context } from "../context.ts";
import { commitSession } from "../commit.ts";
import { readSession } from "../read.ts";
import { isSessionRecord } from "../record.ts";
import { followRetired } from "../retired-chain.ts";
import { sessionState, type SessionState } from "../session.ts";
import { deviceOf, encodeDevice, type DeviceBinding } from "./device.ts";
import type { ResolvedDeviceBound } from "./options.ts";
import { checkRefresh, checkRegistration, type ProofRefusal } from "./proof.ts";
import { openToken, randomId, signToken, type TokenKind } from "./tokens.ts";

type Step = "registration" | "refresh";

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
  });
}

export function createEndpoints(ctx: Context, options: ResolvedDeviceBound) {
  const { config, keyring } = ctx;
  const cookie = config.cookie;
  const boundAttributes = {
    httpOnly: cookie.httpOnly,
    secure: cookie.secure,
    sameSite: cookie.sameSite,
    path: "/",
    domain: cookie.domain,
    partitioned: cookie.partitioned || undefined,
  };
  // What the session config says the bound cookie looks like: the Set-Cookie's attributes.
  const attributes = stringifySetCookie({ name: "x", value: "", ...boundAttributes }).replace(/^x=; ?/, "");

  function refuse(step: Step, reason: ProofRefusal | "session" | "already-registered", status: number, handle?: string): Response {
    ctx.emit?.({ type: "device-refused", step, reason, ...(handle && { handle }) });
    return json({ error: `device-bound session ${step} refused: ${reason}` }, status);
  }

  async function challenge(kind: TokenKind, subject: string, now: number): Promise<string> {
    return signToken(ctx.activeKey(now), kind, subject, now + options.challengeMaxAgeMs);
  }

  /** The challenge a proof answered, when it is ours, of `kind`, for `subject`, unexpired and unused. */
  async function redeem(jti: string, kind: TokenKind, subject: string, now: number): Promise<ProofRefusal | null> {
    const opened = await openToken(keyring, jti, kind, now);
    if (!opened || opened.subject !== subject) return "challenge";
    if (opened.expiresAt <= now) return "expired";
    const key = `cloakroom:dbsc:${opened.jti}`;
    const { count } = await ctx.storeCall("increment", () => ctx.store.increment!(key, Math.max(1, opened.expiresAt - now)));
    return count === 1 ? null : "replayed";
  }

  async function configResponse(request: Request, device: DeviceBinding, now: number): Promise<Response> {
    const token = await signToken(ctx.activeKey(now), "bound", device.id, now + options.cookieMaxAgeMs);
    const response = json({
      session_identifier: device.id,
      refresh_url: options.refreshPath,
      scope: { origin: options.origin ?? new URL(request.url).origin, include_site: false, scope_specification: [] },
      credentials: [{ type: "cookie", name: options.cookieName, attributes }],
    });
    response.headers.append(
      "set-cookie",
      stringifySetCookie({ name: options.cookieName, value: token, ...boundAttributes, maxAge: Math.floor(options.cookieMaxAgeMs / 1000) }),
    );
    return response;
  }

  /** Writes the binding into the record, compare-and-set; false when the session vanished or got one meanwhile. */
  async function saveDevice(state: SessionState, device: string): Promise<boolean> {
    let base = state.record!;
    for (let attempt = 0; attempt <= config.conflictRetries; attempt++) {
      if (base.device !== undefined) return false;
      const handle = state.handle!;
      const next = { ...base, version: base.version + 1, device };
      if (await ctx.storeCall("write", () => ctx.store.write(handle, next, base.version))) {
        state.record = next;
        return true;
      }
      const fresh = await followRetired(ctx, state, await ctx.storeCall("read", () => ctx.store.read(handle)));
      if (!fresh || !isSessionRecord(fresh.record)) return false;
      base = fresh.record;
    }
    return false;
  }

  async function register(request: Request): Promise<Response> {
    const session = await readSession(ctx, request);
    const state = sessionState(session);
    const now = config.clock();
    if (!state.record || state.userId === null) return refuse("registration", "session", 401);
    const handle = state.handle!;
    if (state.record.device !== undefined) return refuse("registration", "already-registered", 409, handle);
    const proof = await checkRegistration(request.headers.get("secure-session-response"), options.algorithms, now);
    if (!proof.ok) return refuse("registration", proof.reason, 400, handle);
    const refused = await redeem(proof.jti, "reg", handle, now);
    if (refused) return refuse("registration", refused, 400, handle);
    const device: DeviceBinding = { id: randomId(), alg: proof.alg, jwk: proof.jwk, at: now };
    if (!(await saveDevice(state, encodeDevice(device)))) return refuse("registration", "session", 409, handle);
    ctx.emit?.({ type: "device-bound", step: "registered", handle: state.handle! });
    return configResponse(request, device, now);
  }

  async function refresh(request: Request): Promise<Response> {
    const session = await readSession(ctx, request);
    const state = sessionState(session);
    const now = config.clock();
    const device = deviceOf(state.record?.device);
    const asked = request.headers.get("sec-secure-session-id");
    // Nothing left to bind (signed out, revoked, another registration): the browser ends its DBSC session.
    if (!state.record || !device || (asked !== null && asked !== device.id)) return json({ continue: false });
    const handle = state.handle!;
    const answer = request.headers.get("secure-session-response");
    if (answer === null) {
      return json({ error: "answer the challenge" }, 403, {
        "secure-session-challenge": `"${await challenge("ref", device.id, now)}";id="${device.id}"`,
      });
    }
    const proof = await checkRefresh(answer, device, now);
    if (!proof.ok) return refuse("refresh", proof.reason, 401, handle);
    const refused = await redeem(proof.jti, "ref", device.id, now);
    if (refused) return refuse("refresh", refused, 401, handle);
    ctx.emit?.({ type: "device-bound", step: "refreshed", handle });
    const response = await configResponse(request, device, now);
    // The refresh is a request of the session like any other: a renewal due rides along.
    const setCookie = await commitSession(ctx, session);
    if (setCookie) response.headers.append("set-cookie", setCookie);
    return response;
  }

  /**
   * The header a sign-in response carries so that a DBSC browser registers a key. Only a
   * sign-in's (the commit regenerated or created the session, commit.ts `reissued`): were a
   * renewal or a re-seal to offer one, a thief whose request with a copied cookie happened to
   * renew it could register the thief's own key, and the victim's browser would read unbound.
   */
  async function registrationHeader(state: SessionState): Promise<string | null> {
    if (!state.reissued || !state.record || state.userId === null || state.record.device !== undefined || state.sid === undefined) return null;
    const now = config.clock();
    const value = await challenge("reg", state.handle!, now);
    return `(${options.algorithms.join(" ")});path="${options.registrationPath}";challenge="${value}"`;
  }

  return { register, refresh, registrationHeader };
}
