import { describe, expect, it } from "vitest";
import { createSessions, generateKey, withSession } from "../../src/index.ts";
import { memoryStore } from "../../adapters/memory/index.ts";
import { faultyStore } from "./fault-store.ts";
import { cookieFrom } from "./helpers.ts";

type Data = { count: number };

describe("withSession: a plain Fetch handler", () => {
  function handler(store = faultyStore(memoryStore())) {
    const sessions = createSessions<Data>({ store, keys: generateKey() });
    const fetch = withSession(sessions, async (request, session) => {
      if (request.method === "POST") session.update("count", (n = 0) => n + 1);
      return Response.json({ count: session.get("count") ?? 0 });
    });
    return { fetch, store };
  }

  it("reads, runs the handler, commits and sets the cookie", async () => {
    const { fetch } = handler();
    const first = await fetch(new Request("https://app.test/", { method: "POST" }));
    expect(await first.json()).toEqual({ count: 1 });
    expect(first.headers.get("cache-control")).toBe("no-store");
    const cookie = cookieFrom(first.headers.get("set-cookie"));
    const second = await fetch(new Request("https://app.test/", { method: "POST", headers: { cookie } }));
    expect(await second.json()).toEqual({ count: 2 });
    expect(second.headers.get("set-cookie")).toBeNull();
  });

  it("sets the cookie even on a response with immutable headers", async () => {
    const sessions = createSessions<Data>({ store: memoryStore(), keys: generateKey() });
    const frozen = Response.redirect("https://app.test/next", 302);
    const fetch = withSession(sessions, async (_request, session) => {
      session.set("count", 1);
      return frozen;
    });
    const response = await fetch(new Request("https://app.test/"));
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("https://app.test/next");
    expect(response.headers.get("set-cookie")).toMatch(/^__Host-session=/);
  });

  it("answers 503 when the store is down, or serves anonymous by policy", async () => {
    const store = faultyStore(memoryStore());
    const sessions = createSessions<Data>({ store, keys: generateKey() });
    const respond = async (request: Request, session: { isDegraded: boolean; set(k: "count", v: number): void }) => {
      if (request.method === "POST") session.set("count", 1);
      return Response.json({ degraded: session.isDegraded });
    };
    const closed = withSession(sessions, respond);
    const open = withSession(sessions, respond, { onStoreError: "anonymous" });
    const cookie = cookieFrom((await closed(new Request("https://app.test/", { method: "POST" }))).headers.get("set-cookie"));
    store.mode = "down";
    const refused = await closed(new Request("https://app.test/", { headers: { cookie } }));
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    const served = await open(new Request("https://app.test/", { headers: { cookie } }));
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual({ degraded: true });
    expect(served.headers.get("set-cookie")).toBeNull();
    expect((await open(new Request("https://app.test/", { method: "POST", headers: { cookie } }))).status).toBe(503);
  });

  it("passes extra arguments through (a Worker's env and ctx)", async () => {
    const sessions = createSessions<Data>({ store: memoryStore(), keys: generateKey() });
    const fetch = withSession(sessions, async (_request, _session, env: { name: string }) => new Response(env.name));
    expect(await (await fetch(new Request("https://app.test/"), { name: "worker" })).text()).toBe("worker");
  });

  it("drops the changes of a handler that throws", async () => {
    const store = memoryStore();
    const sessions = createSessions<Data>({ store, keys: generateKey() });
    const fetch = withSession(sessions, async (_request, session) => {
      session.set("count", 1);
      throw new Error("handler bug");
    });
    await expect(fetch(new Request("https://app.test/"))).rejects.toThrow("handler bug");
    expect(store.size).toBe(0);
  });

  it("checks its arguments when it is created", () => {
    expect(() => withSession({} as never, () => new Response())).toThrow(/createSessions/);
    const sessions = createSessions<Data>({ store: memoryStore(), keys: generateKey() });
    expect(() => withSession(sessions, undefined as never)).toThrow(/handler/);
    expect(() => withSession(sessions, () => new Response(), { onStoreError: "x" as never })).toThrow(/onStoreError/);
  });

  it("keeps a response built from a stored session private when the cookie does not change", async () => {
    const { fetch } = handler();
    expect((await fetch(new Request("https://app.test/"))).headers.get("cache-control")).toBeNull();
    const cookie = cookieFrom((await fetch(new Request("https://app.test/", { method: "POST" }))).headers.get("set-cookie"));
    const read = await fetch(new Request("https://app.test/", { headers: { cookie } }));
    expect(read.headers.get("set-cookie")).toBeNull();
    expect(read.headers.get("cache-control")).toBe("private, no-store");
  });
});
