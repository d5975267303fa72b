/**
 * cloakroom/next against a fake of Next's cookie store: a Map-backed object with the shape of
 * `await cookies()` (get, set, delete), which records what it was asked to do. The same
 * helpers against the real `cookies()` and `NextResponse` run in test/next/next.test.ts.
 */
import { describe, expect, it } from "vitest";
import { memoryStore } from "../../adapters/memory/index.ts";
import { createSessions, generateKey, SessionError } from "../../src/index.ts";
import { commitSession, readSession, type NextCookieOptions } from "../../src/integrations/next.ts";
import { faultyStore } from "./fault-store.ts";
import { setup } from "./helpers.ts";

type Data = { count: number };

/** What Next's cookie store does for these calls, and a log of them. */
function fakeCookies(initial: Record<string, string> = {}) {
  const values = new Map(Object.entries(initial));
  const log: Array<["set", string, string, NextCookieOptions] | ["delete", Record<string, unknown>]> = [];
  return {
    log,
    values,
    get: (name: string) => (values.has(name) ? { name, value: values.get(name)! } : undefined),
    set(name: string, value: string, options: NextCookieOptions) {
      log.push(["set", name, value, options]);
      values.set(name, value);
    },
    delete(cookie: { name: string }) {
      log.push(["delete", cookie]);
      values.delete(cookie.name);
    },
  };
}

/** A browser's next request: the cookies the jar holds, as a Cookie header. */
const cookieHeader = (jar: ReturnType<typeof fakeCookies>) => [...jar.values].map(([k, v]) => `${k}=${v}`).join("; ");

async function signedIn(sessions: ReturnType<typeof setup<Data>>["sessions"], jar = fakeCookies()) {
  const session = await readSession(sessions, jar);
  session.userId = "ann";
  await session.regenerate();
  session.set("count", 1);
  await commitSession(sessions, session, jar);
  return jar;
}

describe("cloakroom/next with a cookies()-shaped store", () => {
  it("signs in through the store: set with every attribute, then reads back", async () => {
    const { sessions, store } = setup<Data>({ absoluteTimeout: 3600 });
    const jar = await signedIn(sessions);
    expect(jar.log).toHaveLength(1);
    const [kind, name, value, options] = jar.log[0] as ["set", string, string, NextCookieOptions];
    expect([kind, name]).toEqual(["set", "__Host-session"]);
    expect(value).toMatch(/^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(options).toEqual({ httpOnly: true, secure: true, sameSite: "lax", path: "/", maxAge: 3600 });

    const before = store.total();
    const again = await readSession(sessions, jar);
    expect(again.userId).toBe("ann");
    expect(again.get("count")).toBe(1);
    expect(store.total()).toBe(before + 1);
  });

  it("takes the promise cookies() returns, for reading and for committing", async () => {
    const { sessions } = setup<Data>();
    const jar = fakeCookies();
    const session = await readSession(sessions, Promise.resolve(jar));
    session.set("count", 7);
    await commitSession(sessions, session, Promise.resolve(jar));
    expect((await readSession(sessions, Promise.resolve(jar))).get("count")).toBe(7);
  });

  it("leaves the store alone when nothing changed", async () => {
    const { sessions } = setup<Data>();
    const jar = await signedIn(sessions);
    const session = await readSession(sessions, jar);
    expect(await commitSession(sessions, session, jar)).toBeNull();
    expect(jar.log).toHaveLength(1);
  });

  it("signs out by deleting the cookie with its attributes, so a __Host- cookie is really replaced", async () => {
    const { sessions, store } = setup<Data>();
    const jar = await signedIn(sessions);
    const session = await readSession(sessions, jar);
    session.destroy();
    const setCookie = await commitSession(sessions, session, jar);
    expect(setCookie).toMatch(/^__Host-session=;/);
    expect(jar.log[1]).toEqual(["delete", { name: "__Host-session", httpOnly: true, secure: true, sameSite: "lax", path: "/" }]);
    expect(jar.values.has("__Host-session")).toBe(false);
    expect(store.size).toBe(0);
    expect((await readSession(sessions, jar)).userId).toBeNull();
  });

  it("passes domain and partitioned through, and no lifetime for a browser-session cookie", async () => {
    const { sessions } = setup<Data>({
      cookie: { name: "sid", domain: "app.test", partitioned: true, persistent: false, sameSite: "none" },
    });
    const jar = await signedIn(sessions);
    expect(jar.log[0]![3]).toEqual({ httpOnly: true, secure: true, partitioned: true, sameSite: "none", path: "/", domain: "app.test" });
  });

  it("reads only the session cookie; none, or an oversized one, costs no store call", async () => {
    const { sessions, store } = setup<Data>();
    const other = fakeCookies({ theme: "dark", "__Host-session-x": "nope" });
    expect((await readSession(sessions, other)).isNew).toBe(true);
    const huge = fakeCookies({ "__Host-session": "a".repeat(5000) });
    expect((await readSession(sessions, huge)).invalidReason).toBe("too-large");
    expect(store.total()).toBe(0);
  });

  it("reads a Request (proxy.ts, Route Handlers) and Headers the same way", async () => {
    const { sessions } = setup<Data>();
    const jar = await signedIn(sessions);
    const request = new Request("https://app.test/account", { headers: { cookie: `theme=dark; ${cookieHeader(jar)}` } });
    expect((await readSession(sessions, request)).userId).toBe("ann");
    expect((await readSession(sessions, request.headers)).userId).toBe("ann");
  });
});

describe("cloakroom/next in proxy.ts, with the cookie cache", () => {
  /** Shaped like NextResponse.next(): its cookies are a cookie store. */
  const nextResponse = () => ({ cookies: fakeCookies() });

  it("authorises inside the window with no store call, then reads the store once and re-seals on the response", async () => {
    const { sessions, store, clock } = setup<Data>({ cookieCache: { maxAge: 5 }, touchInterval: 60 });
    const jar = await signedIn(sessions);
    const request = () => new Request("https://app.test/account", { headers: { cookie: cookieHeader(jar) } });
    const before = store.total();

    clock.advance(4_000);
    const cached = await readSession(sessions, request());
    expect(cached.userId).toBe("ann");
    expect(cached.fromCookieCache).toBe(true);
    const quiet = nextResponse();
    expect(await commitSession(sessions, cached, quiet)).toBeNull();
    expect(quiet.cookies.log).toEqual([]);
    expect(store.total()).toBe(before);

    clock.advance(1_001);
    const late = await readSession(sessions, request());
    expect(late.fromCookieCache).toBe(false);
    expect(store.total()).toBe(before + 1);
    const refreshed = nextResponse();
    await commitSession(sessions, late, refreshed);
    expect(refreshed.cookies.log.map((entry) => entry[0])).toEqual(["set"]);
    const next = await readSession(sessions, refreshed.cookies);
    expect([next.userId, next.fromCookieCache]).toEqual(["ann", true]);
    expect(store.total()).toBe(before + 1);
  });
});

describe("cloakroom/next errors", () => {
  it("refuses a target with no cookie store before committing, so no write loses its cookie", async () => {
    const { sessions, store } = setup<Data>();
    for (const target of [new Headers(), new Response("x"), undefined, {}]) {
      const session = await readSession(sessions, fakeCookies());
      session.set("count", 1);
      const failed = commitSession(sessions, session, target as never);
      await expect(failed).rejects.toThrow(SessionError);
      await expect(failed).rejects.toMatchObject({ code: "ERR_SESSION_CONFIG", message: expect.stringMatching(/^cloakroom: commitSession needs .*withSession/) });
    }
    expect(store.total()).toBe(0);
  });

  it("refuses something that is not a manager", async () => {
    await expect(readSession(undefined as never, fakeCookies())).rejects.toMatchObject({
      code: "ERR_SESSION_CONFIG",
      message: "cloakroom: readSession needs the manager returned by createSessions() as its first argument.",
    });
    await expect(commitSession({} as never, {} as never, fakeCookies())).rejects.toMatchObject({ code: "ERR_SESSION_CONFIG" });
  });

  it("treats a store fault as a fault, not as signed out, or as degraded by policy", async () => {
    const store = faultyStore(memoryStore());
    const sessions = createSessions<Data>({ store, keys: generateKey() });
    const jar = await signedIn(sessions as never);
    store.mode = "down";
    await expect(readSession(sessions, jar)).rejects.toMatchObject({ code: "ERR_SESSION_STORE" });
    const degraded = await readSession(sessions, jar, { onStoreError: "anonymous" });
    expect(degraded.isDegraded).toBe(true);
    expect(await commitSession(sessions, degraded, jar)).toBeNull();
    expect(jar.values.has("__Host-session")).toBe(true);
  });
});
