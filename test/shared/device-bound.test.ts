/**
 * Device-bound sessions (DBSC) at protocol level: a Web Crypto client (dbsc-client.ts) against
 * `withSession` and Hono's `sessionMiddleware` on the memory store, with a manual clock. The same
 * cases run on Node, Bun, Deno and workerd. The real browser is test/browser/dbsc.test.ts.
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { generateKey, withSession, type SessionEvent, type SessionsOptions } from "../../src/index.ts";
import { sessionMiddleware, type SessionEnv } from "../../src/integrations/hono.ts";
import { commitSession, deviceBoundHandler, readSession, type NextCookies } from "../../src/integrations/next.ts";
import { Browser, newDeviceKey, param, proof } from "./dbsc-client.ts";
import { cookieFrom, setup } from "./helpers.ts";

function app(options: Partial<SessionsOptions> = {}) {
  const env = setup({ deviceBound: { cookie: { maxAge: 300 } }, ...options });
  const handler = withSession(env.sessions, async (request, session) => {
    const { pathname } = new URL(request.url);
    if (pathname === "/login") {
      session.userId = "ann";
      await session.regenerate();
      return Response.json({ ok: true });
    }
    if (pathname === "/logout") {
      session.destroy();
      return new Response(null, { status: 204 });
    }
    // What a strict route does: a session bound to a device is taken only from that device.
    if (pathname === "/strict" && session.deviceRegistered && session.binding !== "bound") return new Response("bind", { status: 401 });
    return Response.json({ userId: session.userId, binding: session.binding, registered: session.deviceRegistered });
  });
  return { ...env, handler };
}

const me = async (browser: Browser) => (await browser.send("GET", "/me")).json();
const refusals = (events: SessionEvent[]) =>
  events.flatMap((event) => (event.type === "device-refused" ? [`${event.step}:${event.reason}`] : []));

async function registered(options: Partial<SessionsOptions> = {}) {
  const env = app(options);
  const browser = new Browser(env.handler);
  await browser.send("POST", "/login");
  expect(browser.registration).toMatch(/^\(ES256 RS256\);path="\/dbsc\/register";challenge="[^"]+"$/);
  const response = await browser.register();
  expect(response.status).toBe(200);
  // The browser's own requests sent before it had the answer carry no bound cookie: for a few
  // seconds the session does not count as device-registered, so a strict route lets them through.
  const early = new Browser(env.handler);
  early.jar.set("__Host-session", browser.jar.get("__Host-session")!);
  expect(await me(early)).toEqual({ userId: "ann", binding: "unbound", registered: false });
  env.clock.advance(10_000);
  return { ...env, browser };
}

describe("device-bound sessions (DBSC) at protocol level", () => {
  it("registers, serves the session config and a bound cookie, refreshes through a challenge", async () => {
    const { browser, clock, store, events } = await registered();
    const config = { session_identifier: browser.sessionId, refresh_url: "/dbsc/refresh" };
    expect(browser.sessionId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(config.refresh_url).toBe(browser.refreshUrl);
    expect(browser.jar.has("__Host-session-bound")).toBe(true);
    expect(await me(browser)).toEqual({ userId: "ann", binding: "bound", registered: true });

    // Reading a bound session costs what any read does: one store call.
    const before = store.total();
    await me(browser);
    expect(store.total() - before).toBe(1);

    clock.advance(301_000);
    expect(await me(browser)).toMatchObject({ binding: "expired" });
    const { challenge, response } = await browser.refresh();
    expect(challenge).not.toBe("");
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ session_identifier: browser.sessionId, credentials: [{ type: "cookie", name: "__Host-session-bound" }] });
    expect(await me(browser)).toEqual({ userId: "ann", binding: "bound", registered: true });
    expect(events.filter((e) => e.type === "device-bound").map((e) => (e as { step: string }).step)).toEqual(["registered", "refreshed"]);
  });

  it("reads a copy of the cookies without the device as unbound, and a strict route refuses it", async () => {
    const { browser, handler } = await registered();
    const thief = new Browser(handler);
    thief.jar.set("__Host-session", browser.jar.get("__Host-session")!);
    expect(await me(thief)).toEqual({ userId: "ann", binding: "unbound", registered: true });
    expect((await thief.send("GET", "/strict")).status).toBe(401);
    // It cannot refresh either: it holds no key, and someone else's fails.
    thief.sessionId = browser.sessionId;
    thief.refreshUrl = browser.refreshUrl;
    const { response } = await thief.refresh({ signer: await newDeviceKey() });
    expect(response.status).toBe(401);
    expect((await browser.send("GET", "/strict")).status).toBe(200);
  });

  it("keeps a browser without DBSC signed in: unbound, not registered, never refused", async () => {
    const { handler, clock } = app();
    const legacy = new Browser(handler);
    await legacy.send("POST", "/login");
    expect(legacy.registration).not.toBeNull(); // offered, ignored
    clock.advance(1_200_000); // longer than a bound cookie lives
    expect(await me(legacy)).toEqual({ userId: "ann", binding: "unbound", registered: false });
    expect((await legacy.send("GET", "/strict")).status).toBe(200);
  });

  it("refuses a header jwk on refresh, a wrong alg, and a proof signed by another key", async () => {
    const { browser, events } = await registered();
    const onRefresh = async (options: Parameters<Browser["refresh"]>[0]) => (await browser.refresh(options)).response.status;
    expect(await onRefresh({ header: { jwk: browser.key!.jwk } })).toBe(401);
    expect(await onRefresh({ header: { alg: "RS256" } })).toBe(401);
    expect(await onRefresh({ signer: await newDeviceKey() })).toBe(401);
    expect(refusals(events)).toEqual(["refresh:jwk-on-refresh", "refresh:alg", "refresh:signature"]);

    const other = app();
    const fresh = new Browser(other.handler);
    await fresh.send("POST", "/login");
    expect((await fresh.register(undefined, { alg: "ES384" })).status).toBe(400);
    expect((await fresh.register(undefined, { typ: "JWT" })).status).toBe(400);
    const key = await newDeviceKey();
    expect((await fresh.register(undefined, { jwk: { ...key.jwk, crv: "P-384" } })).status).toBe(400);
    expect((await fresh.register(undefined, { jwk: key.jwk })).status).toBe(400); // signed by one key, naming another
    expect(refusals(other.events)).toEqual(["registration:alg", "registration:typ", "registration:key", "registration:signature"]);
    expect((await fresh.register()).status).toBe(200);
  });

  it("takes each challenge once, and only while it is fresh, for the session it was given to", async () => {
    const { browser, clock, events } = await registered({ deviceBound: { challengeMaxAge: 30 } });
    const { challenge, response } = await browser.refresh();
    expect(response.status).toBe(200);
    expect((await browser.answer(challenge)).status).toBe(401);
    const stale = (await browser.send("POST", browser.refreshUrl!, { "sec-secure-session-id": browser.sessionId! })).headers.get("secure-session-challenge")!;
    clock.advance(31_000);
    expect((await browser.answer(stale.match(/^"([^"]+)"/)![1]!)).status).toBe(401);
    expect((await browser.answer("not-a-challenge")).status).toBe(401);
    expect(refusals(events)).toEqual(["refresh:replayed", "refresh:expired", "refresh:challenge"]);

    // A registration challenge is for the session it was sent to.
    const other = app();
    const first = new Browser(other.handler);
    const second = new Browser(other.handler);
    await first.send("POST", "/login");
    await second.send("POST", "/login");
    second.registration = first.registration;
    expect((await second.register()).status).toBe(400);
    expect(refusals(other.events)).toEqual(["registration:challenge"]);
  });

  it("ends the browser's DBSC session once the session is gone", async () => {
    const { browser } = await registered();
    const session = browser.jar.get("__Host-session")!;
    await browser.send("POST", "/logout");
    browser.jar.set("__Host-session", session);
    const asked = await browser.send("POST", browser.refreshUrl!, { "sec-secure-session-id": browser.sessionId! });
    expect([asked.status, await asked.json()]).toEqual([200, { continue: false }]);
  });

  it("is served by Hono's sessionMiddleware and Next's deviceBoundHandler too", async () => {
    const env = setup({ deviceBound: true });
    const hono = new Hono<SessionEnv>();
    hono.use(sessionMiddleware(env.sessions));
    hono.post("/login", async (c) => {
      const session = c.get("session");
      session.userId = "bo";
      await session.regenerate();
      return c.json({ ok: true });
    });
    hono.get("/me", (c) => c.json({ binding: c.get("session").binding }));
    const viaHono = new Browser(async (request) => hono.fetch(request));
    await viaHono.send("POST", "/login");
    expect((await viaHono.register()).status).toBe(200);
    expect(await me(viaHono)).toEqual({ binding: "bound" });

    const next = deviceBoundHandler(env.sessions);
    const viaNext = new Browser(async (request) => (new URL(request.url).pathname.startsWith("/dbsc/") ? next(request) : hono.fetch(request)));
    await viaNext.send("POST", "/login");
    const key = await newDeviceKey();
    const answer = await next(
      new Request(`https://app.test${param(viaNext.registration, "path")}`, {
        method: "POST",
        headers: { cookie: viaNext.cookie, "secure-session-response": await proof(key, param(viaNext.registration, "challenge")!, { jwk: key.jwk }) },
      }),
    );
    expect(answer.status).toBe(200);
    expect(() => deviceBoundHandler(setup().sessions)).toThrow(/deviceBound option/);

    // Next's readSession from a cookies() store sees the bound cookie too; commitSession on a
    // NextResponse-shaped target adds the registration header to a sign-in.
    const jar = (values: Map<string, string>): NextCookies => ({
      get: (name) => (values.has(name) ? { value: values.get(name)! } : undefined),
      set: (name, value) => values.set(name, value),
      delete: ({ name }) => values.delete(name),
    });
    expect((await readSession(env.sessions, jar(new Map(viaHono.jar)))).binding).toBe("bound");
    const response = { cookies: jar(new Map()), headers: new Headers() };
    const signingIn = await readSession(env.sessions, response.cookies);
    signingIn.userId = "cy";
    await commitSession(env.sessions, signingIn, response);
    expect(response.headers.get("secure-session-registration")).toMatch(/^\(ES256 RS256\);path="\/dbsc\/register";challenge=/);
  });

  it("offers registration at sign-in only: not on a renewal, nor on a re-seal, of an unregistered session", async () => {
    const { handler, clock, sessions, store, keys } = app({ renew: { every: 60 } });
    const browser = new Browser(handler);
    await browser.send("POST", "/login");
    expect(browser.registration).not.toBeNull();
    clock.advance(61_000);
    // The next request renews the id (a new cookie): a thief's copy could be the one that sends
    // it, so it must not get a challenge to register the thief's key with.
    browser.registration = null;
    const renewing = await browser.send("GET", "/me");
    expect(renewing.headers.getSetCookie().some((line) => line.startsWith("__Host-session="))).toBe(true);
    expect(renewing.headers.get("secure-session-registration")).toBeNull();

    // A re-seal under a newer key sets a new cookie too, and offers nothing either.
    const rotated = withSession(setup({ store, clock, keys: `${generateKey("k2")},${keys}`, deviceBound: true }).sessions, async () => new Response("ok"));
    const resealed = await rotated(new Request("https://app.test/", { headers: { cookie: browser.cookie } }));
    expect(resealed.headers.getSetCookie()).toHaveLength(1);
    expect(resealed.headers.get("secure-session-registration")).toBeNull();

    // A switch of user is a sign-in: offered again.
    const switching = await sessions.read(browser.cookie);
    switching.userId = "bo";
    await sessions.commit(switching);
    expect(await sessions.deviceBound!.registrationHeader(switching)).toMatch(/^\(ES256 RS256\);path=/);
  });

  it("stops trusting a remembered bound cookie once the key that signed it retires", async () => {
    const first = app();
    const browser = new Browser(first.handler);
    await browser.send("POST", "/login");
    expect((await browser.register()).status).toBe(200);
    first.clock.advance(10_000);
    // The next deployment signs with k2 and keeps k1 for a minute: the bound cookie (k1) is good until then.
    const until = new Date(first.clock() + 60_000).toISOString();
    const next = setup({ store: first.store, clock: first.clock, keys: `${generateKey("k2")},${first.keys}@${until}`, deviceBound: true });
    const binding = async () => (await next.sessions.read(browser.cookie)).binding;
    const resealed = await next.sessions.commit(await next.sessions.read(browser.cookie));
    browser.jar.set("__Host-session", cookieFrom(resealed).split("=")[1]!); // the ticket moves to k2
    expect(await binding()).toBe("bound");
    first.clock.advance(61_000);
    expect(await binding()).toBe("unbound");
  });

  it("refuses deviceBound with the cookie cache, and unknown options", () => {
    expect(() => setup({ deviceBound: {}, cookieCache: true })).toThrow(/cannot be combined/);
    expect(() => setup({ deviceBound: { path: "/x" } as never })).toThrow(/unknown option deviceBound.path/);
  });
});
