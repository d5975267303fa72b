import { describe, expect, it } from "vitest";
import { Hono } from "hono";
import { rateLimit } from "../../src/index.ts";
import { rateLimitMiddleware } from "../../src/integrations/hono.ts";
import { memoryStore } from "../../adapters/memory/index.ts";
import { faultyStore } from "./fault-store.ts";

describe("rate limits", () => {
  it("allows `limit` hits per window per key, then says when to come back", async () => {
    const limiter = rateLimit({ store: memoryStore(), limit: 3, window: 60, prefix: "login" });
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await limiter.check("ip:1.2.3.4"));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false, false]);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0, 0]);
    expect(results[4]!.retryAfter).toBeGreaterThanOrEqual(59);
    expect(results[4]!.retryAfter).toBeLessThanOrEqual(60);
    expect((await limiter.check("ip:5.6.7.8")).allowed).toBe(true);
  });

  it("is shared by every limiter on the same store, and separated by prefix", async () => {
    const store = memoryStore();
    const a = rateLimit({ store, limit: 2, window: 60, prefix: "x" });
    const b = rateLimit({ store, limit: 2, window: 60, prefix: "x" });
    const other = rateLimit({ store, limit: 2, window: 60, prefix: "y" });
    await a.check("k");
    await b.check("k");
    expect((await a.check("k")).allowed).toBe(false);
    expect((await other.check("k")).allowed).toBe(true);
  });

  it("bounds long keys", async () => {
    const store = memoryStore();
    const limiter = rateLimit({ store, limit: 1, window: 60 });
    await limiter.check("u".repeat(10_000));
    expect((await limiter.check("u".repeat(10_000))).allowed).toBe(false);
    expect((await limiter.check("u".repeat(9_999))).allowed).toBe(true);
    for (const [key] of store.raw.entries()) expect(key.length).toBeLessThan(200);
  });

  it("checks its options", () => {
    const base = memoryStore();
    expect(() => rateLimit({ store: memoryStore(), limit: 0, window: 60 })).toThrow(/limit must be a positive integer/);
    expect(() => rateLimit({ store: memoryStore(), limit: 1, window: 0 })).toThrow(/window/);
    expect(() => rateLimit({ store: { name: "bare", read: base.read, write: base.write, delete: base.delete }, limit: 1, window: 1 })).toThrow(/atomic counters/);
    expect(() => rateLimit({ store: memoryStore(), limit: 1, window: 1, prefix: "has space" })).toThrow(/prefix/);
  });

  it("hono: 429 with Retry-After past the limit of any key, RateLimit headers before", async () => {
    const app = new Hono();
    app.post("/login", rateLimitMiddleware({ store: memoryStore(), limit: 2, window: 60, prefix: "login", key: (c) => [`ip:${c.req.header("x-ip")}`, `user:${c.req.header("x-user")}`] }), (c) => c.text("ok"));
    const post = (ip: string, user: string) => app.request("/login", { method: "POST", headers: { "x-ip": ip, "x-user": user } });
    const first = await post("1", "ann");
    expect(first.status).toBe(200);
    expect(first.headers.get("ratelimit-limit")).toBe("2");
    expect(first.headers.get("ratelimit-remaining")).toBe("1");
    expect((await post("2", "ann")).status).toBe(200);
    const third = await post("3", "ann");
    expect(third.status).toBe(429);
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await third.json()).error).toMatch(/Too many requests/);
    expect((await post("3", "bob")).status).toBe(200);
  });

  it("hono: follows the failure policy when the store is down", async () => {
    const store = faultyStore(memoryStore(), "down");
    store.mode = "down";
    const app = new Hono();
    app.get("/closed", rateLimitMiddleware({ store, limit: 1, window: 60, key: () => "k" }), (c) => c.text("ok"));
    app.get("/open", rateLimitMiddleware({ store, limit: 1, window: 60, key: () => "k", onStoreError: "anonymous" }), (c) => c.text("ok"));
    expect((await app.request("/closed")).status).toBe(503);
    expect((await app.request("/open")).status).toBe(200);
  });

  it("counts a key that is not well-formed Unicode (a lone surrogate) instead of failing", async () => {
    const store = memoryStore();
    const limiter = rateLimit({ store, limit: 1, window: 60 });
    expect((await limiter.check("user:\ud800")).allowed).toBe(true);
    expect((await limiter.check("user:\ud800")).allowed).toBe(false);
    expect((await limiter.check("user:\udc00")).allowed).toBe(true); // another key, another counter
    expect((await limiter.check(`user:${"\ud800".repeat(200)}`)).allowed).toBe(true);
    for (const [key] of store.raw.entries()) expect(() => encodeURIComponent(key)).not.toThrow(); // well-formed
  });

  it("hono: a bad key neither skips the request's other limits nor answers 503", async () => {
    const store = memoryStore();
    const app = new Hono();
    const limits = (onStoreError: "anonymous" | "fail-closed") =>
      rateLimitMiddleware({ store, limit: 2, window: 60, prefix: onStoreError, onStoreError, key: (c) => [`ip:${c.req.header("x-ip")}`, `user:${names[c.req.query("user")!] ?? c.req.query("user")}`] });
    // A name as a JSON body can carry it: a lone surrogate, which no header or URL can.
    const names: Record<string, string> = { lone: "\ud800" };
    app.post("/open", limits("anonymous"), (c) => c.text("ok"));
    app.post("/closed", limits("fail-closed"), (c) => c.text("ok"));
    for (const path of ["/open", "/closed"]) {
      const post = (user: string) => app.request(`${path}?user=${user}`, { method: "POST", headers: { "x-ip": "203.0.113.7" } });
      expect((await post("ann")).status).toBe(200);
      expect((await post("bob")).status).toBe(200);
      // The address is over its limit; a name with a lone surrogate must not let it through.
      const bad = await post("lone");
      expect(bad.status, path).toBe(429);
    }
  });
});
