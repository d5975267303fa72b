import { describe, expect, it } from "vitest";
import { Hono } from "hono";
import { createSessions, generateKey, SessionError } from "../../src/index.ts";
import { sessionMiddleware, type SessionEnv } from "../../src/integrations/hono.ts";
import { memoryStore } from "../../adapters/memory/index.ts";
import { cookieFrom } from "./helpers.ts";

type Data = { count: number };

function app(store = memoryStore()) {
  const sessions = createSessions<Data>({ store, keys: generateKey() });
  const app = new Hono<SessionEnv<Data>>();
  app.use(sessionMiddleware(sessions));
  app.onError((_error, c) => c.json({ error: "handler failed" }, 500));
  app.get("/count", (c) => c.json({ count: c.get("session").get("count") ?? 0 }));
  app.post("/count", (c) => c.json({ count: c.get("session").update("count", (n = 0) => n + 1) }));
  app.post("/fail", (c) => {
    c.get("session").set("count", 999);
    throw new Error("handler bug");
  });
  app.get("/cached", (c) => {
    c.get("session").set("count", 1);
    return c.text("hi", 200, { "cache-control": "public, max-age=600" });
  });
  return app;
}

describe("hono middleware", () => {
  it("exposes the session, commits after the handler and appends Set-Cookie", async () => {
    const server = app();
    const first = await server.request("/count", { method: "POST" });
    expect(await first.json()).toEqual({ count: 1 });
    const setCookie = first.headers.get("set-cookie");
    expect(setCookie).toMatch(/^__Host-session=.+; HttpOnly; Secure; SameSite=Lax$/);
    expect(first.headers.get("cache-control")).toBe("no-store");

    const cookie = cookieFrom(setCookie);
    const second = await server.request("/count", { method: "POST", headers: { cookie } });
    expect(await second.json()).toEqual({ count: 2 });
    expect(second.headers.get("set-cookie")).toBeNull();
    const read = await server.request("/count", { headers: { cookie } });
    expect(await read.json()).toEqual({ count: 2 });
  });

  it("keeps cookies the handler set", async () => {
    const sessions = createSessions<Data>({ store: memoryStore(), keys: generateKey() });
    const server = new Hono<SessionEnv<Data>>();
    server.use(sessionMiddleware(sessions));
    server.get("/", (c) => {
      c.header("set-cookie", "theme=dark; Path=/", { append: true });
      c.get("session").set("count", 1);
      return c.text("ok");
    });
    const response = await server.request("/");
    expect(response.headers.getSetCookie()).toHaveLength(2);
    expect(response.headers.getSetCookie()[0]).toBe("theme=dark; Path=/");
  });

  it("never caches a response that hands out a session", async () => {
    const response = await app().request("/cached");
    expect(response.headers.get("set-cookie")).not.toBeNull();
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("does not persist the changes of a handler that failed", async () => {
    const store = memoryStore();
    const response = await app(store).request("/fail", { method: "POST" });
    expect(response.status).toBe(500);
    expect(response.headers.get("set-cookie")).toBeNull();
    expect(store.size).toBe(0);
  });

  it("answers 503 when the store is down, never treating it as signed out", async () => {
    const store = memoryStore();
    const server = app(store);
    const cookie = cookieFrom((await server.request("/count", { method: "POST" })).headers.get("set-cookie"));
    store.read = () => Promise.reject(new Error("ECONNREFUSED"));
    const response = await server.request("/count", { headers: { cookie } });
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(response.headers.get("set-cookie")).toBeNull();
    expect(await response.json()).toEqual({ error: "The session store is unavailable; try again shortly." });
  });

  it("answers 503 when the commit fails after the handler ran", async () => {
    const store = memoryStore();
    const server = app(store);
    store.write = () => Promise.reject(new Error("READONLY"));
    const response = await server.request("/count", { method: "POST" });
    expect(response.status).toBe(503);
    expect(response.headers.get("set-cookie")).toBeNull();
  });

  it("lets the application choose the unavailable response", async () => {
    const store = memoryStore();
    const sessions = createSessions<Data>({ store, keys: generateKey() });
    const server = new Hono<SessionEnv<Data>>();
    server.use(sessionMiddleware(sessions, { onUnavailable: (c, error) => c.text(`later: ${error.code}`, 503) }));
    server.post("/", (c) => c.text(String(c.get("session").update("count", (n = 0) => n + 1))));
    const cookie = cookieFrom((await server.request("/", { method: "POST" })).headers.get("set-cookie"));
    store.read = () => Promise.reject(new Error("down"));
    const response = await server.request("/", { method: "POST", headers: { cookie } });
    expect(response.status).toBe(503);
    expect(await response.text()).toBe("later: ERR_SESSION_STORE");
  });

  it("validates its options when it is created", () => {
    const sessions = createSessions<Data>({ store: memoryStore(), keys: generateKey() });
    expect(() => sessionMiddleware({} as never)).toThrow(SessionError);
    expect(() => sessionMiddleware(sessions, { onUnavalable: () => new Response() } as never)).toThrow(/unknown sessionMiddleware option onUnavalable/);
    expect(() => sessionMiddleware(sessions, { onUnavailable: 503 } as never)).toThrow(/must be a function/);
  });

  it("keeps every response built from a stored session private, cookie or not", async () => {
    const server = app();
    const anonymous = await server.request("/count");
    expect(anonymous.headers.get("cache-control")).toBeNull(); // no session behind it: cacheable
    const cookie = cookieFrom((await server.request("/count", { method: "POST" })).headers.get("set-cookie"));
    const read = await server.request("/count", { headers: { cookie } });
    expect(read.headers.get("set-cookie")).toBeNull();
    expect(read.headers.get("cache-control")).toBe("private, no-store");
    // A handler's own Cache-Control is its decision, when no cookie is set.
    const sessions = createSessions<Data>({ store: memoryStore(), keys: generateKey() });
    const own = new Hono<SessionEnv<Data>>();
    own.use(sessionMiddleware(sessions));
    own.post("/", (c) => c.text(String(c.get("session").update("count", (n = 0) => n + 1))));
    own.get("/public", (c) => c.text("x", 200, { "cache-control": "public, max-age=600" }));
    own.get("/private", (c) => c.text("x", 200, { "cache-control": "private, max-age=60" }));
    const mine = cookieFrom((await own.request("/", { method: "POST" })).headers.get("set-cookie"));
    expect((await own.request("/public", { headers: { cookie: mine } })).headers.get("cache-control")).toBe("public, max-age=600");
    expect((await own.request("/private", { headers: { cookie: mine } })).headers.get("cache-control")).toBe("private, max-age=60");
  });

  it("returns a read's response as the handler built it, not a copy", async () => {
    // A header set on a finished response makes Hono copy it, and @hono/node-server then loses
    // its fast path (bench:compare fell from 0.9x to 0.45x of the floor when that happened).
    const sessions = createSessions<Data>({ store: memoryStore(), keys: generateKey() });
    const own = new Hono<SessionEnv<Data>>();
    own.use(sessionMiddleware(sessions));
    let built: Response | undefined;
    own.post("/", (c) => c.text(String(c.get("session").update("count", (n = 0) => n + 1))));
    own.get("/", (c) => (built = c.text(String(c.get("session").get("count")))));
    const cookie = cookieFrom((await own.request("/", { method: "POST" })).headers.get("set-cookie"));
    const read = await own.request("/", { headers: { cookie } });
    expect(read).toBe(built);
    expect(read.headers.get("cache-control")).toBe("private, no-store");
  });
});
