import { describe, expect, it } from "vitest";
import { memoryStore, type MemoryStore } from "../../adapters/memory/index.ts";
import { rateLimit } from "../../src/rate-limit.ts";
import { storeConformance, testHandle, testRecord } from "cloakroom/testing";

storeConformance<MemoryStore>("memory", {
  create: () => memoryStore(),
  backend: {
    expiryOf: async (store, handle) => store.raw.get(handle)?.expiresAt,
    // The user index is derived from the entries and pruned with them, so it has no expiry of its own.
    everything: async (store) => store.raw.entries().map(([key, entry]) => ({ key, expiresAt: entry.expiresAt })),
    corrupt: async (store, handle) => store.raw.set(handle, "{not json"),
  },
});

describe("memory store: what is special to it", () => {
  it("stays within maxEntries, dropping the least recently used session", async () => {
    const store = memoryStore({ maxEntries: 3 });
    const [a, b, c, d] = [testHandle(), testHandle(), testHandle(), testHandle()];
    for (const handle of [a, b, c]) await store.write(handle, testRecord(), 0);
    await store.read(a, { now: Date.now() + 10_000, interval: 0 });
    await store.write(d, testRecord(), 0);
    expect(store.size).toBe(3);
    expect(await store.read(b)).toBeNull();
    expect(await store.read(a)).not.toBeNull();
  });

  it("prunes expired entries before evicting live ones", async () => {
    let now = 1_000_000;
    const store = memoryStore({ maxEntries: 2, clock: () => now });
    const [a, b, c] = [testHandle(), testHandle(), testHandle()];
    await store.write(a, testRecord({ lastSeenAt: now, expiresAt: now + 10 }), 0);
    await store.write(b, testRecord({ lastSeenAt: now, expiresAt: now + 1_000 }), 0);
    now += 100;
    await store.write(c, testRecord({ lastSeenAt: now, expiresAt: now + 1_000 }), 0);
    expect(await store.read(b)).not.toBeNull();
    expect(await store.read(c)).not.toBeNull();
  });

  it("prunes an expired entry before a live one even when the live one is older", async () => {
    let now = 1_000_000;
    const store = memoryStore({ maxEntries: 2, clock: () => now });
    const [a, b, c] = [testHandle(), testHandle(), testHandle()];
    await store.write(a, testRecord({ lastSeenAt: now, expiresAt: now + 60_000 }), 0);
    await store.write(b, testRecord({ lastSeenAt: now, expiresAt: now + 10 }), 0);
    now += 100;
    await store.write(c, testRecord({ lastSeenAt: now, expiresAt: now + 60_000 }), 0);
    expect(await store.read(a)).not.toBeNull();
    expect(await store.read(c)).not.toBeNull();
    expect(store.size).toBe(2);
  });

  it("bounds counters too: an ended window goes first, then the live counter with the fewest hits", async () => {
    let now = 1_000_000;
    const store = memoryStore({ maxEntries: 3, clock: () => now });
    await store.increment("short", 1_000);
    await store.increment("a", 60_000, 2);
    await store.increment("b", 60_000);
    now += 2_000;
    await store.increment("c", 60_000);
    const counters = () => store.raw.entries().map(([key]) => key).filter((key) => key.startsWith("counter:"));
    expect(counters()).toEqual(["counter:a", "counter:b", "counter:c"]);
    await store.increment("d", 60_000);
    expect(counters()).toEqual(["counter:a", "counter:c", "counter:d"]);
    expect((await store.increment("a", 60_000, 0)).count).toBe(2);
  });

  it("keeps a blocked key's count through a burst of new keys when full (a /64 of IPv6 addresses)", async () => {
    const store = memoryStore({ maxEntries: 100 });
    const limiter = rateLimit({ store, limit: 5, window: 60, prefix: "login" });
    for (let i = 0; i < 6; i++) await limiter.check("ip:203.0.113.7");
    expect((await limiter.check("ip:203.0.113.7")).allowed).toBe(false);
    for (let i = 0; i < 1000; i++) await limiter.check(`ip:2001:db8::${i.toString(16)}`);
    expect((await limiter.check("ip:203.0.113.7")).allowed).toBe(false);
  });

  it("refuses a maxEntries that is not a positive integer", () => {
    expect(() => memoryStore({ maxEntries: 0 })).toThrow(/maxEntries/);
  });
});
