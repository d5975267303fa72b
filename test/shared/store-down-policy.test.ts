import { describe, expect, it } from "vitest";
import { Hono } from "hono";
import { createSessions, generateKey } from "../../src/index.ts";
import { healthHandler, sessionMiddleware, type SessionEnv } from "../../src/integrations/hono.ts";
import { tieredStore } from "../../src/resilience/tiered-store.ts";
import { memoryStore } from "../../adapters/memory/index.ts";
import { faultyStore } from "./fault-store.ts";
import { signIn } from "./helpers.ts";

type Data = { count: number };

function world() {
  const store = faultyStore(memoryStore(), "flaky");
  const events: Array<{ type: string; outcome?: string }> = [];
  const sessions = createSessions<Data>({ store, keys: generateKey(), onEvent: (e) => events.push(e) });
  return { store, sessions, events };
}

describe("when the store is down and there is no fallback", () => {
  it("fails closed by default: the read throws, it is never 'no session'", async () => {
    const { store, sessions } = world();
    const cookie = await signIn(sessions, "ann");
    store.mode = "down";
    await expect(sessions.read(cookie)).rejects.toMatchObject({ code: "ERR_SESSION_STORE" });
  });

  it("goes on anonymous on request: a degraded session that keeps the cookie", async () => {
    const { store, sessions, events } = world();
    const cookie = await signIn(sessions, "ann");
    store.mode = "down";
    const session = await sessions.read(cookie, { onStoreError: "anonymous" });
    expect(session.isDegraded).toBe(true);
    expect(session.userId).toBeNull();
    expect(events.at(-1)).toEqual({ type: "read", outcome: "unavailable" });
    const callsBefore = store.calls;
    expect(await sessions.commit(session)).toBeNull();
    expect(store.calls).toBe(callsBefore);
    store.mode = "up";
    expect((await sessions.read(cookie)).userId).toBe("ann");
  });

  it("refuses to pretend a change to a degraded session was saved", async () => {
    const { store, sessions } = world();
    const cookie = await signIn(sessions, "ann");
    store.mode = "down";
    for (const change of [(s: { set(k: "count", v: number): void }) => s.set("count", 1), (s: { destroy(): void }) => s.destroy()]) {
      const session = await sessions.read(cookie, { onStoreError: "anonymous" });
      change(session as never);
      await expect(sessions.commit(session)).rejects.toMatchObject({ code: "ERR_SESSION_STORE" });
    }
    store.mode = "up";
    expect((await sessions.read(cookie)).get("count")).toBeUndefined();
  });

  it("still reads bad cookies as no session without the store under either policy", async () => {
    const { store, sessions } = world();
    store.mode = "down";
    expect((await sessions.read("__Host-session=garbage")).invalidReason).toBe("malformed");
    expect((await sessions.read("__Host-session=garbage", { onStoreError: "anonymous" })).isDegraded).toBe(false);
  });
});

describe("hono: the policy per route", () => {
  function app() {
    const { store, sessions } = world();
    const server = new Hono<SessionEnv<Data>>();
    server.get("/account", sessionMiddleware(sessions), (c) => c.json({ user: c.get("session").userId }));
    server.get("/home", sessionMiddleware(sessions, { onStoreError: "anonymous" }), (c) =>
      c.json({ user: c.get("session").userId, degraded: c.get("session").isDegraded }),
    );
    server.get("/health", healthHandler(sessions));
    return { store, sessions, server };
  }

  it("answers 503 on a fail-closed route and serves an anonymous page on the other", async () => {
    const { store, sessions, server } = app();
    const cookie = await signIn(sessions, "ann");
    expect(await (await server.request("/account", { headers: { cookie } })).json()).toEqual({ user: "ann" });
    store.mode = "down";
    const closed = await server.request("/account", { headers: { cookie } });
    expect(closed.status).toBe(503);
    const open = await server.request("/home", { headers: { cookie } });
    expect(open.status).toBe(200);
    expect(await open.json()).toEqual({ user: null, degraded: true });
    expect(open.headers.get("set-cookie")).toBeNull();
  });

  it("refuses an unknown policy when the middleware is created", () => {
    const { sessions } = world();
    expect(() => sessionMiddleware(sessions, { onStoreError: "open" as never })).toThrow(/"fail-closed" or "anonymous"/);
  });

  it("health: 200 when ok or degraded, 503 only when sessions cannot be served", async () => {
    const cache = faultyStore(memoryStore(), "cache");
    const durable = faultyStore(memoryStore(), "durable");
    const sessions = createSessions({ store: tieredStore({ cache, durable, cacheTimeoutMs: 30 }), keys: generateKey() });
    const server = new Hono();
    server.get("/health", healthHandler(sessions));
    const ok = await server.request("/health");
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: "ok" });
    cache.mode = "down";
    const degraded = await server.request("/health");
    expect(degraded.status).toBe(200);
    expect(await degraded.json()).toMatchObject({ status: "degraded", store: { details: { cache: { ok: false } } } });
    durable.mode = "down";
    const down = await server.request("/health");
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: "down" });
  });

  it("health of a plain store: ok, then down", async () => {
    const { store, server } = app();
    expect((await server.request("/health")).status).toBe(200);
    store.mode = "down";
    expect((await server.request("/health")).status).toBe(503);
  });
});
