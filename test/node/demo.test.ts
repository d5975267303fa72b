/**
 * The demo app end to end through `app.request()`: no server, a memory store, a real key.
 * Each test builds its own app, so none depends on another's order.
 */
import { createSessions, generateKey, tieredStore, type SessionStore } from "cloakroom";
import { memoryStore, type MemoryStore } from "cloakroom/adapters/memory";
import { describe, expect, it } from "vitest";
import { createDemoApp, type DemoData } from "../../examples/hono-node/app.ts";
import { faultyStore } from "../shared/fault-store.ts";

const ORIGIN = "http://localhost";

function demo(store: MemoryStore = memoryStore()) {
  const sessions = createSessions<DemoData>({ store, keys: generateKey("k1") });
  return { app: createDemoApp(sessions), store, sessions };
}

type App = ReturnType<typeof demo>["app"];

/** The record under a handle, through the store contract (the store is keyed by handle). */
async function stored(store: MemoryStore, handle: string) {
  return (await store.read(handle))?.record ?? null;
}

/** The Set-Cookie values of a response (there is at most one session cookie). */
function setCookies(response: Response): string[] {
  return response.headers.getSetCookie();
}

/** `name=value` of the one Set-Cookie, as the browser sends it back. */
function cookieOf(response: Response): string {
  const [first, ...rest] = setCookies(response);
  expect(rest).toEqual([]);
  expect(first).toBeDefined();
  return first!.split(";")[0]!;
}

function isClearing(setCookie: string | undefined): boolean {
  return setCookie !== undefined && /^__Host-session=;/.test(setCookie) && /;\s*Max-Age=0/i.test(setCookie);
}

async function login(app: App, user: string, userAgent = "Test Browser/1.0") {
  const response = await app.request("/login", {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": userAgent },
    body: JSON.stringify({ user }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { user: string; session: string };
  return { response, body, cookie: cookieOf(response), handle: body.session };
}

function request(app: App, method: string, path: string, cookie?: string, headers: Record<string, string> = {}) {
  return app.request(path, { method, headers: cookie ? { ...headers, cookie } : headers });
}

async function json(response: Response): Promise<Record<string, unknown>> {
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  return (await response.json()) as Record<string, unknown>;
}

describe("demo app: sign-in", () => {
  it("signs in with JSON and returns the public handle, never the cookie's ticket", async () => {
    const { app, store } = demo();
    const { response, body, cookie, handle } = await login(app, "alice");
    expect(body.user).toBe("alice");
    expect(handle).toMatch(/^[A-Za-z0-9_-]{4}\.[A-Za-z0-9_-]{43}$/);
    // The store is keyed by the handle: the answer names the stored record.
    const record = await stored(store, handle);
    expect(record).toMatchObject({ userId: "alice" });

    const ticket = cookie.slice(cookie.indexOf("=") + 1);
    expect(ticket.length).toBeGreaterThan(0);
    expect(ticket).not.toBe(handle);
    expect(ticket).not.toContain(handle);
    expect(JSON.stringify(record)).not.toContain(ticket);

    const me = await request(app, "GET", "/me", cookie);
    const list = await request(app, "GET", "/sessions", cookie);
    const page = await request(app, "GET", "/", cookie);
    const texts = [JSON.stringify(body), await me.clone().text(), await list.clone().text(), await page.text()];
    for (const text of texts) expect(text).not.toContain(ticket);
    expect((await json(me)).session).toBe(handle);
    expect(((await json(list)).sessions as Array<{ session: string }>)[0]!.session).toBe(handle);
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("sets a __Host- cookie with HttpOnly, Secure, SameSite=Lax and Path=/", async () => {
    const { app } = demo();
    const { response } = await login(app, "alice");
    const [setCookie] = setCookies(response);
    expect(setCookie).toMatch(/^__Host-session=[^;]+;/);
    const attributes = setCookie!.split(";").slice(1).map((part) => part.trim().toLowerCase());
    expect(attributes).toContain("httponly");
    expect(attributes).toContain("secure");
    expect(attributes).toContain("samesite=lax");
    expect(attributes).toContain("path=/");
    expect(attributes.some((part) => part.startsWith("domain"))).toBe(false);
  });

  it("signs in with a form body", async () => {
    const { app } = demo();
    const response = await app.request("/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ user: "bob" }).toString(),
    });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.user).toBe("bob");
    const me = await request(app, "GET", "/me", cookieOf(response));
    expect(await json(me)).toEqual({ user: "bob", count: 0, session: body.session });
  });

  it("rejects a missing, blank, overlong or unreadable user with 400 and no cookie", async () => {
    const { app, store } = demo();
    const bodies: Array<[string, string]> = [
      ["application/json", "{}"],
      ["application/json", JSON.stringify({ user: "   " })],
      ["application/json", JSON.stringify({ user: 42 })],
      ["application/json", JSON.stringify({ user: "a".repeat(65) })],
      ["application/json", JSON.stringify({ user: "ali\u0000ce" })],
      ["application/json", "{not json"],
      ["application/json", "null"],
      ["application/x-www-form-urlencoded", "name=alice"],
      ["text/plain", "alice"],
    ];
    for (const [type, body] of bodies) {
      const response = await app.request("/login", { method: "POST", headers: { "content-type": type }, body });
      expect(response.status, `${type} ${body}`).toBe(400);
      expect(typeof (await json(response)).error).toBe("string");
      expect(setCookies(response)).toEqual([]);
    }
    expect(store.size).toBe(0);
  });

  it("accepts a name of exactly 64 characters, trimmed", async () => {
    const { app } = demo();
    const { body } = await login(app, ` ${"a".repeat(64)} `);
    expect(body.user).toBe("a".repeat(64));
  });

  it("signing in on a browser that held another user's session starts clean", async () => {
    const { app, store } = demo();
    const bob = await login(app, "bob");
    await request(app, "POST", "/count", bob.cookie);
    const response = await app.request("/login", {
      method: "POST",
      headers: { "content-type": "application/json", cookie: bob.cookie },
      body: JSON.stringify({ user: "alice" }),
    });
    expect(response.status).toBe(200);
    const alice = cookieOf(response);
    const me = await json(await request(app, "GET", "/me", alice));
    expect(me).toMatchObject({ user: "alice", count: 0 });
    expect(me.session).not.toBe(bob.handle);
    // regenerate deleted bob's record: the planted or old id is worthless now.
    expect(await stored(store, bob.handle)).toBeNull();
    expect((await request(app, "GET", "/me", bob.cookie)).status).toBe(401);
  });
});

describe("demo app: count and devices", () => {
  it("answers 401 with JSON to every signed-in route without a session", async () => {
    const { app } = demo();
    for (const [method, path] of [
      ["GET", "/me"], ["POST", "/count"], ["GET", "/sessions"], ["POST", "/logout-all"],
      ["DELETE", "/sessions/NiQgEmBUbTIbuChULdQ_daSsv3RGVhyE0IBavGXX6Qs"],
    ] as const) {
      const response = await request(app, method, path);
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(typeof (await json(response)).error).toBe("string");
    }
  });

  it("counts with /count and shows it in /me", async () => {
    const { app } = demo();
    const { cookie, handle } = await login(app, "alice");
    expect(await json(await request(app, "GET", "/me", cookie))).toEqual({ user: "alice", count: 0, session: handle });
    const first = await request(app, "POST", "/count", cookie);
    expect(first.status).toBe(200);
    expect(await json(first)).toEqual({ count: 1 });
    // The ticket does not change on a data write: no new cookie is handed out.
    expect(setCookies(first)).toEqual([]);
    expect(await json(await request(app, "POST", "/count", cookie))).toEqual({ count: 2 });
    expect(await json(await request(app, "GET", "/me", cookie))).toEqual({ user: "alice", count: 2, session: handle });
  });

  it("lists both devices of a user, marks the current one, and signs another out", async () => {
    const { app } = demo();
    const laptop = await login(app, "alice", "Laptop Browser");
    const phone = await login(app, "alice", "Phone Browser");
    const bob = await login(app, "bob");
    expect(phone.handle).not.toBe(laptop.handle);

    const response = await request(app, "GET", "/sessions", laptop.cookie);
    expect(response.status).toBe(200);
    const { sessions } = (await json(response)) as { sessions: Array<Record<string, unknown>> };
    expect(sessions).toHaveLength(2);
    const byHandle = new Map(sessions.map((entry) => [entry.session, entry]));
    expect(byHandle.get(laptop.handle)).toMatchObject({ current: true, device: "Laptop Browser" });
    expect(byHandle.get(phone.handle)).toMatchObject({ current: false, device: "Phone Browser" });
    for (const entry of sessions) {
      expect(typeof entry.createdAt).toBe("number");
      expect(typeof entry.lastSeenAt).toBe("number");
    }
    expect(byHandle.has(bob.handle)).toBe(false);

    const revoked = await request(app, "DELETE", `/sessions/${phone.handle}`, laptop.cookie);
    expect(revoked.status).toBe(204);
    // Another device's record is gone; this browser's cookie stays.
    expect(setCookies(revoked)).toEqual([]);
    expect((await request(app, "GET", "/me", phone.cookie)).status).toBe(401);
    expect((await request(app, "GET", "/me", laptop.cookie)).status).toBe(200);
    const after = (await json(await request(app, "GET", "/sessions", laptop.cookie))) as { sessions: unknown[] };
    expect(after.sessions).toHaveLength(1);
  });

  it("answers 404 for a handle that is not the user's, and leaves it alone", async () => {
    const { app } = demo();
    const alice = await login(app, "alice");
    const bob = await login(app, "bob");
    for (const handle of [bob.handle, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not-a-handle"]) {
      const response = await request(app, "DELETE", `/sessions/${handle}`, alice.cookie);
      expect(response.status, handle).toBe(404);
      expect(typeof (await json(response)).error).toBe("string");
    }
    expect((await request(app, "GET", "/me", bob.cookie)).status).toBe(200);
    expect((await request(app, "GET", "/me", alice.cookie)).status).toBe(200);
  });

  it("deleting the current device clears this browser's cookie", async () => {
    const { app, store } = demo();
    const alice = await login(app, "alice");
    const response = await request(app, "DELETE", `/sessions/${alice.handle}`, alice.cookie);
    expect(response.status).toBe(204);
    expect(isClearing(setCookies(response)[0])).toBe(true);
    expect(await stored(store, alice.handle)).toBeNull();
    expect((await request(app, "GET", "/me", alice.cookie)).status).toBe(401);
  });

  it("shows a shortened user agent as the device", async () => {
    const { app } = demo();
    const alice = await login(app, "alice", `Browser/${"x".repeat(500)}`);
    const { sessions } = (await json(await request(app, "GET", "/sessions", alice.cookie))) as {
      sessions: Array<{ device: string }>;
    };
    expect(sessions[0]!.device.startsWith("Browser/xxx")).toBe(true);
    expect(sessions[0]!.device.length).toBeLessThanOrEqual(120);
  });
});

describe("demo app: signing out", () => {
  it("logout deletes the record, clears the cookie, and the old cookie gets 401", async () => {
    const { app, store } = demo();
    const alice = await login(app, "alice");
    const response = await request(app, "POST", "/logout", alice.cookie);
    expect(response.status).toBe(204);
    const [setCookie] = setCookies(response);
    expect(isClearing(setCookie)).toBe(true);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(await stored(store, alice.handle)).toBeNull();
    const again = await request(app, "GET", "/me", alice.cookie);
    expect(again.status).toBe(401);
    // A "not found" cookie is left alone (a parallel sign-in may have replaced it already).
    expect(setCookies(again)).toEqual([]);
  });

  it("logout without a session is a 204 that sets nothing", async () => {
    const { app } = demo();
    const response = await request(app, "POST", "/logout");
    expect(response.status).toBe(204);
    expect(setCookies(response)).toEqual([]);
  });

  it("logout-all ends every session of the user, this one included, and only theirs", async () => {
    const { app, store } = demo();
    const laptop = await login(app, "alice");
    const phone = await login(app, "alice");
    const bob = await login(app, "bob");
    const response = await request(app, "POST", "/logout-all", laptop.cookie);
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ revoked: 2 });
    expect(isClearing(setCookies(response)[0])).toBe(true);
    expect((await request(app, "GET", "/me", phone.cookie)).status).toBe(401);
    expect((await request(app, "GET", "/me", laptop.cookie)).status).toBe(401);
    expect(await stored(store, phone.handle)).toBeNull();
    expect((await request(app, "GET", "/me", bob.cookie)).status).toBe(200);
  });
});

/** A memory store that throws on every call while `down` is true, like a lost connection. */
function flakyStore() {
  const inner = memoryStore();
  const state = { down: false };
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        if (state.down) throw new Error("connect ECONNREFUSED");
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, state };
}

describe("demo app: health and failures", () => {
  it("reports the store as ok with 200", async () => {
    const { app } = demo();
    const response = await request(app, "GET", "/health");
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({ status: "ok", store: { name: "memory", ok: true } });
  });

  it("answers 503 from /health, and from session routes, while the store fails", async () => {
    const { store, state } = flakyStore();
    const { app } = demo(store);
    const alice = await login(app, "alice");
    state.down = true;
    const health = await request(app, "GET", "/health");
    expect(health.status).toBe(503);
    expect(await json(health)).toMatchObject({ status: "down", store: { ok: false } });
    // A store fault is not "signed out": no 401, and no cookie is cleared.
    const me = await request(app, "GET", "/me", alice.cookie);
    expect(me.status).toBe(503);
    expect(setCookies(me)).toEqual([]);
    const loginDown = await app.request("/login", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user: "bob" }),
    });
    expect(loginDown.status).toBe(503);
    expect(typeof (await json(loginDown)).error).toBe("string");
    // The page does not need the store.
    expect((await request(app, "GET", "/")).status).toBe(200);

    state.down = false;
    expect((await request(app, "GET", "/health")).status).toBe(200);
    expect((await request(app, "GET", "/me", alice.cookie)).status).toBe(200);
  });

  it("answers 404 JSON for an unknown route", async () => {
    const { app } = demo();
    const response = await request(app, "GET", "/nope");
    expect(response.status).toBe(404);
    expect(typeof (await json(response)).error).toBe("string");
  });
});

describe("demo app: health while a cache is out", () => {
  it("answers 200 \"degraded\" while the durable store serves alone, 503 only once it is down too", async () => {
    const cache = faultyStore(memoryStore(), "cache");
    const durable = faultyStore(memoryStore(), "durable");
    const store = tieredStore({ cache, durable, cacheTimeoutMs: 30 });
    const app = createDemoApp(createSessions<DemoData>({ store, keys: generateKey("k1") }));
    const alice = await login(app, "alice");
    expect(await json(await request(app, "GET", "/health"))).toMatchObject({ status: "ok" });

    cache.mode = "down";
    const degraded = await request(app, "GET", "/health");
    expect(degraded.status).toBe(200);
    expect(await json(degraded)).toMatchObject({ status: "degraded", store: { details: { cache: { ok: false } } } });
    // What "degraded" means: sessions are still served.
    expect((await request(app, "GET", "/me", alice.cookie)).status).toBe(200);

    durable.mode = "down";
    const down = await request(app, "GET", "/health");
    expect(down.status).toBe(503);
    expect(await json(down)).toMatchObject({ status: "down" });
    expect(down.headers.get("cache-control")).toBe("no-store");
  });
});

describe("demo app: sign-in limits", () => {
  /** Each request names its client address in a test header; the server reads the socket. */
  function limited(store: SessionStore = memoryStore(), perClient = 3, perUser = 2) {
    const sessions = createSessions<DemoData>({ store, keys: generateKey("k1") });
    return createDemoApp(sessions, { clientAddress: (c) => c.req.header("x-test-client"), loginLimits: { perClient, perUser, window: 60 } });
  }

  function attempt(app: App, user: string, client: string) {
    return app.request("/login", {
      method: "POST",
      headers: { "content-type": "application/json", "x-test-client": client },
      body: JSON.stringify({ user }),
    });
  }

  async function expectLimited(response: Response): Promise<void> {
    expect(response.status).toBe(429);
    const retryAfter = Number(response.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(setCookies(response)).toEqual([]);
    expect((await json(response)).error).toMatch(/Too many requests; try again in \d+ s/);
  }

  it("limits one user name from any address, case-folded, with Retry-After", async () => {
    const app = limited();
    expect((await attempt(app, "alice", "10.0.0.1")).status).toBe(200);
    expect((await attempt(app, "alice", "10.0.0.2")).status).toBe(200);
    await expectLimited(await attempt(app, "Alice", "10.0.0.3"));
    // Another name is not held back by alice's count.
    expect((await attempt(app, "bob", "10.0.0.4")).status).toBe(200);
  });

  it("limits one address whatever the names", async () => {
    const app = limited(memoryStore(), 3, 100);
    for (const user of ["a", "b", "c"]) expect((await attempt(app, user, "10.0.0.9")).status).toBe(200);
    await expectLimited(await attempt(app, "d", "10.0.0.9"));
    expect((await attempt(app, "d", "10.0.0.10")).status).toBe(200);
  });

  it("counts an IPv6 client per /64, so it cannot spread its attempts over its addresses", async () => {
    const app = limited(memoryStore(), 3, 100);
    for (const [i, address] of ["2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:0db8:0001:0002:aaaa:bbbb:cccc:dddd"].entries()) {
      expect((await attempt(app, `u${i}`, address)).status).toBe(200);
    }
    await expectLimited(await attempt(app, "u9", "2001:db8:1:2::abcd"));
    expect((await attempt(app, "u9", "2001:db8:1:3::1")).status).toBe(200); // another /64
    // An IPv4 peer reported by a dual-stack socket counts as that IPv4 address.
    for (const user of ["a", "b", "c"]) expect((await attempt(app, user, "::ffff:198.51.100.4")).status).toBe(200);
    await expectLimited(await attempt(app, "d", "198.51.100.4"));
  });

  it("counts a body it cannot read against the address only", async () => {
    const app = limited(memoryStore(), 2, 1);
    const bad = () => app.request("/login", { method: "POST", headers: { "content-type": "application/json", "x-test-client": "10.0.1.1" }, body: "{" });
    expect((await bad()).status).toBe(400);
    expect((await bad()).status).toBe(400);
    await expectLimited(await bad());
    expect((await attempt(app, "erin", "10.0.1.2")).status).toBe(200);
  });

  it("by default takes the address from the connection, never from X-Forwarded-For", async () => {
    const app = createDemoApp(createSessions<DemoData>({ store: memoryStore(), keys: generateKey("k1") }), {
      loginLimits: { perClient: 1, perUser: 100, window: 60 },
    });
    const from = (address: string, user: string, forwarded: string) =>
      app.request(
        "/login",
        { method: "POST", headers: { "content-type": "application/json", "x-forwarded-for": forwarded }, body: JSON.stringify({ user }) },
        // What @hono/node-server hands the app as c.env.
        { incoming: { socket: { remoteAddress: address } } },
      );
    expect((await from("192.0.2.1", "u1", "203.0.113.1")).status).toBe(200);
    await expectLimited(await from("192.0.2.1", "u2", "203.0.113.2"));
    expect((await from("192.0.2.2", "u3", "203.0.113.1")).status).toBe(200);
  });

  it("fails closed with 503 when the store that counts is down, never lets the attempt through", async () => {
    const store = faultyStore(memoryStore(), "down");
    const app = limited(store);
    store.mode = "down";
    const response = await attempt(app, "frank", "10.0.2.1");
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(setCookies(response)).toEqual([]);
  });
});

describe("demo app: cross-site requests", () => {
  it("refuses a cross-site form post with 403 JSON", async () => {
    const { app, store } = demo();
    const response = await app.request("/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://evil.example" },
      body: "user=mallory",
    });
    expect(response.status).toBe(403);
    expect(typeof (await json(response)).error).toBe("string");
    expect(store.size).toBe(0);
  });

  it("refuses a body-less cross-site post, and accepts it from the page's own origin", async () => {
    const { app } = demo();
    const alice = await login(app, "alice");
    const foreign = await request(app, "POST", "/count", alice.cookie, { origin: "https://evil.example", "sec-fetch-site": "cross-site" });
    expect(foreign.status).toBe(403);
    const own = await request(app, "POST", "/count", alice.cookie, { origin: ORIGIN, "sec-fetch-site": "same-origin" });
    expect(own.status).toBe(200);
    expect(await json(own)).toEqual({ count: 1 });
  });

  it("lets non-browser clients (no Origin, no Sec-Fetch-Site) through", async () => {
    const { app } = demo();
    const alice = await login(app, "alice");
    expect((await request(app, "POST", "/count", alice.cookie)).status).toBe(200);
    expect((await request(app, "POST", "/logout", alice.cookie)).status).toBe(204);
  });
});

describe("demo app: the page", () => {
  it("is one self-contained HTML page that never reads the cookie", async () => {
    const { app } = demo();
    const response = await request(app, "GET", "/");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await response.text();
    for (const path of ["/login", "/me", "/count", "/sessions", "/logout", "/logout-all"]) expect(html).toContain(`"${path}`);
    expect(html).not.toContain("document.cookie");
    // It says what it is: sign-in by name, with no password.
    expect(html).toMatch(/<p id="demo-notice">.*demo of sessions, not of sign-in.*no password/);
    // No external assets: nothing to load from the network.
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);

    const policy = response.headers.get("content-security-policy") ?? "";
    const nonce = /'nonce-([^']+)'/.exec(policy)?.[1];
    expect(nonce).toBeDefined();
    expect(html).toContain(`<script nonce="${nonce}">`);
    expect(policy).toContain("default-src 'none'");
  });
});
