import { describe, expect, it } from "vitest";
import { createSessions, generateKey, type SessionEvent } from "../../src/index.ts";
import { guardedStore } from "../../src/resilience/guarded-store.ts";
import { tieredStore } from "../../src/resilience/tiered-store.ts";
import { memoryStore } from "../../adapters/memory/index.ts";
import { testHandle, testRecord } from "cloakroom/testing";
import { faultyStore, sleep } from "./fault-store.ts";
import { cookieFrom, manualClock, signIn } from "./helpers.ts";

describe("guarded store: time budget and circuit breaker", () => {
  it("turns a store that hangs into ERR_SESSION_STORE within the budget", async () => {
    const inner = faultyStore(memoryStore());
    const store = guardedStore(inner, { timeoutMs: 30, breaker: false });
    inner.mode = "hang";
    await expect(store.read(testHandle())).rejects.toMatchObject({ code: "ERR_SESSION_STORE", message: expect.stringContaining("within 30 ms") });
  });

  it("opens after consecutive failures, fails fast while open, probes and closes", async () => {
    const clock = manualClock();
    const events: SessionEvent[] = [];
    const inner = faultyStore(memoryStore(), "redis");
    const store = guardedStore(inner, { timeoutMs: 50, breaker: { failureThreshold: 3, openMs: 1000 }, clock, onEvent: (e) => events.push(e) });
    inner.mode = "down";
    for (let i = 0; i < 3; i++) await expect(store.read(testHandle())).rejects.toThrow(/ECONNREFUSED/);
    expect(store.breakerState).toBe("open");
    const callsWhenOpened = inner.calls;
    await expect(store.read(testHandle())).rejects.toThrow(/circuit open/);
    expect(inner.calls).toBe(callsWhenOpened);

    clock.advance(1000);
    expect(await store.probe()).toBe(false);
    expect(store.breakerState).toBe("open");
    inner.mode = "up";
    expect(await store.probe()).toBe(false);
    clock.advance(1000);
    expect(await store.probe()).toBe(true);
    expect(store.breakerState).toBe("closed");
    expect(await store.read(testHandle())).toBeNull();
    expect(events.filter((e) => e.type === "breaker").map((e) => (e as { to: string }).to)).toEqual(["open", "half-open", "open", "half-open", "closed"]);
    expect(events.some((e) => e.type === "store-call" && e.ok === false)).toBe(true);
  });

  it("is closed only by its probe: a call from before it opened that answers late leaves it open", async () => {
    const clock = manualClock();
    const inner = faultyStore(memoryStore(), "redis");
    let answer: (() => void) | undefined;
    const slow = Object.create(inner, {
      read: { value: (...args: unknown[]) => new Promise((resolve) => (answer = () => resolve(inner.read(...(args as [string]))))) },
    }) as typeof inner;
    const store = guardedStore(slow, { timeoutMs: 10_000, breaker: { failureThreshold: 2, openMs: 1000 }, clock });
    const late = store.read(testHandle());
    inner.failNext("write", 2);
    for (let i = 0; i < 2; i++) await expect(store.write(testHandle(), testRecord(), 0)).rejects.toThrow(/connection reset/);
    expect(store.breakerState).toBe("open");
    answer!();
    expect(await late).toBeNull();
    expect(store.breakerState).toBe("open");
    // Nor does a late failure count: it says nothing about the store now.
    clock.advance(1000);
    expect(await store.probe()).toBe(true);
    expect(store.breakerState).toBe("closed");
  });

  it("reports its health with the breaker state, and false when the store is down", async () => {
    const inner = faultyStore(memoryStore());
    const store = guardedStore(inner, { timeoutMs: 30 });
    expect(await store.health()).toMatchObject({ ok: true, details: { breaker: "closed" } });
    inner.mode = "hang";
    expect(await store.health()).toMatchObject({ ok: false, details: { breaker: "closed" } });
  });

  it("keeps the wrapped adapter's own extras", () => {
    const store = guardedStore(memoryStore());
    expect(store.size).toBe(0);
  });
});

function tiered(options: { refreshMs?: number } = {}) {
  const events: SessionEvent[] = [];
  const cacheBackend = memoryStore();
  const durableBackend = memoryStore();
  const cache = faultyStore(cacheBackend, "cache");
  const durable = faultyStore(durableBackend, "durable");
  const store = tieredStore({
    cache,
    durable,
    cacheTimeoutMs: 40,
    breaker: { failureThreshold: 2, openMs: 60 },
    generationRefreshMs: options.refreshMs ?? 1000,
    onEvent: (e) => events.push(e),
  });
  return { store, cache, durable, cacheBackend, durableBackend, events };
}

describe("tiered store", () => {
  it("reads from the cache, falls through to the durable store on a miss and refills", async () => {
    const { store, cache, durable } = tiered();
    const handle = testHandle();
    await durable.write(handle, testRecord(), 0);
    const before = durable.calls;
    expect((await store.read(handle))?.record.data).toEqual(testRecord().data);
    // The generation, the read, and the check after the refill (see the next test).
    expect(durable.calls - before).toBe(3);
    const cacheCalls = cache.calls;
    const durableCalls = durable.calls;
    expect((await store.read(handle))?.record.data).toEqual(testRecord().data);
    expect(cache.calls - cacheCalls).toBe(1);
    expect(durable.calls).toBe(durableCalls);
  });

  it("does not let a refill bring back a session signed out while the miss was being served", async () => {
    const cacheBackend = memoryStore();
    const durable = memoryStore();
    // The refill's create waits until a sign-out has run from start to end.
    let hold: ((run: () => Promise<boolean>) => Promise<boolean>) | undefined;
    const cache = Object.create(cacheBackend, {
      write: { value: (...args: Parameters<typeof cacheBackend.write>) => (hold ? hold(() => cacheBackend.write(...args)) : cacheBackend.write(...args)) },
    }) as typeof cacheBackend;
    const store = tieredStore({ cache, durable, cacheTimeoutMs: 1000 });
    const handle = testHandle("ann");
    await durable.write(handle, testRecord({ userId: "ann" }), 0);
    let signedOut!: () => void;
    const gate = new Promise<void>((resolve) => (signedOut = resolve));
    let refilling!: () => void;
    const refillReached = new Promise<void>((resolve) => (refilling = resolve));
    hold = (run) => {
      hold = undefined;
      refilling();
      return gate.then(run);
    };
    const reading = store.read(handle);
    await refillReached;
    await store.delete(handle);
    signedOut();
    expect(await reading).not.toBeNull(); // it started before the sign-out
    expect(await store.read(handle)).toBeNull();
    expect(cacheBackend.size).toBe(0);
  });

  it("writes the durable store first, then the cache", async () => {
    const { store, durableBackend } = tiered();
    const handle = testHandle();
    expect(await store.write(handle, testRecord(), 0)).toBe(true);
    expect(await durableBackend.read(handle)).not.toBeNull();
    expect(await store.write(handle, testRecord({ version: 2, data: { n: 2 } }), 1)).toBe(true);
    expect((await store.read(handle))?.record.data).toEqual({ n: 2 });
    expect(await store.write(handle, testRecord({ version: 2 }), 1)).toBe(false);
  });

  it("signs nobody out when the cache dies: the durable store serves alone", async () => {
    const { store, cache } = tiered();
    const sessions = createSessions({ store, keys: generateKey() });
    const cookies = await Promise.all(Array.from({ length: 20 }, (_, i) => signIn(sessions, `user${i}`)));
    cache.mode = "down";
    for (const [i, cookie] of cookies.entries()) {
      const session = await sessions.read(cookie);
      expect(session.userId).toBe(`user${i}`);
      session.update("n" as never, ((n: number | undefined) => (n ?? 0) + 1) as never);
      await sessions.commit(session);
    }
    expect(store.cache.breakerState).toBe("open");
    expect((await sessions.read(cookies[0]!)).get("n" as never)).toBe(1);
  });

  it("stops waiting on a frozen cache once the breaker opens", async () => {
    const { store, cache } = tiered();
    const handle = testHandle();
    await store.write(handle, testRecord(), 0);
    cache.mode = "hang";
    await store.read(handle);
    await store.read(handle);
    expect(store.cache.breakerState).toBe("open");
    const callsBefore = cache.calls;
    // With the breaker open the reads do not touch the cache at all, so none waits on it.
    for (let i = 0; i < 20; i++) expect(await store.read(handle)).not.toBeNull();
    expect(cache.calls).toBe(callsBefore);
  });

  it("serves nothing stale when the cache comes back with what it held before the outage", async () => {
    const { store, cache } = tiered();
    const sessions = createSessions({ store, keys: generateKey() });
    const changed = await signIn(sessions, "ann");
    const revoked = await signIn(sessions, "bob");
    const destroyed = await signIn(sessions, "cy");
    for (const cookie of [changed, revoked, destroyed]) {
      const session = await sessions.read(cookie);
      session.set("phase" as never, "before" as never);
      await sessions.commit(session);
    }

    cache.mode = "down";
    const during = await sessions.read(changed);
    during.set("phase" as never, "during" as never);
    await sessions.commit(during);
    await sessions.revokeUser("bob");
    const gone = await sessions.read(destroyed);
    gone.destroy();
    await sessions.commit(gone);
    expect(store.cache.breakerState).toBe("open");

    cache.mode = "up";
    await sleep(80);
    const after = await sessions.read(changed);
    expect(store.cache.breakerState).toBe("closed");
    expect(after.get("phase" as never)).toBe("during");
    expect((await sessions.read(revoked)).userId).toBeNull();
    expect((await sessions.read(destroyed)).userId).toBeNull();
    expect(store.generation).toBeGreaterThan(0);
  });

  it("makes other instances follow the new generation within the refresh interval", async () => {
    const shared = { cache: faultyStore(memoryStore(), "cache"), durable: memoryStore() };
    const a = tieredStore({ ...shared, cacheTimeoutMs: 40, breaker: { failureThreshold: 1, openMs: 10 }, generationRefreshMs: 50 });
    const b = tieredStore({ ...shared, cacheTimeoutMs: 40, breaker: { failureThreshold: 1, openMs: 10 }, generationRefreshMs: 50 });
    const handle = testHandle();
    await a.write(handle, testRecord({ data: { v: 1 } }), 0);
    expect((await b.read(handle))?.record.data).toEqual({ v: 1 });

    shared.cache.mode = "down";
    await a.write(handle, testRecord({ version: 2, data: { v: 2 } }), 1);
    shared.cache.mode = "up";
    await sleep(20);
    expect((await a.read(handle))?.record.data).toEqual({ v: 2 });
    expect(a.generation).toBeGreaterThan(0);
    await sleep(60);
    expect((await b.read(handle))?.record.data).toEqual({ v: 2 });
    expect(b.generation).toBe(a.generation);
  });

  it("asks the durable store when a touch is due, and believes it", async () => {
    const { store, durableBackend } = tiered();
    const handle = testHandle();
    const past = Date.now() - 10_000;
    await store.write(handle, testRecord({ lastSeenAt: past }), 0);
    await store.read(handle);
    await durableBackend.delete(handle);
    expect(await store.read(handle, { now: Date.now(), interval: 1_000 })).toBeNull();
    expect(await store.read(handle)).toBeNull();
  });

  it("keeps a session readable when the durable store fails during a touch", async () => {
    const { store, durable } = tiered();
    const handle = testHandle();
    await store.write(handle, testRecord({ lastSeenAt: Date.now() - 10_000 }), 0);
    await store.read(handle);
    durable.mode = "down";
    expect(await store.read(handle, { now: Date.now(), interval: 1_000 })).not.toBeNull();
  });

  it("never reads a durable failure as no session", async () => {
    const { store, durable, cache } = tiered();
    cache.mode = "down";
    durable.mode = "down";
    await expect(store.read(testHandle())).rejects.toThrow(/ECONNREFUSED/);
  });

  it("revokes in both, and lists from the durable store", async () => {
    const { store, cacheBackend } = tiered();
    const handles = [testHandle("ann"), testHandle("ann")];
    for (const handle of handles) await store.write(handle, testRecord({ userId: "ann" }), 0);
    expect((await store.listUser("ann")).length).toBe(2);
    expect(await store.revokeUser("ann", { except: handles[0] })).toBe(1);
    expect(await store.read(handles[1]!)).toBeNull();
    expect(await store.read(handles[0]!)).not.toBeNull();
    expect(cacheBackend.size).toBe(1);
  });

  it("counts in the cache and falls back to the durable store", async () => {
    const { store, cache } = tiered();
    expect((await store.increment("k", 60_000)).count).toBe(1);
    cache.mode = "down";
    expect((await store.increment("k", 60_000)).count).toBe(1);
  });

  it("reports degraded while the cache is out and down when the durable store is", async () => {
    const { store, cache, durable } = tiered();
    expect((await store.health()).details).toMatchObject({ status: "ok" });
    cache.mode = "down";
    expect(await store.health()).toMatchObject({ ok: true, details: { status: "degraded" } });
    durable.mode = "down";
    expect(await store.health()).toMatchObject({ ok: false, details: { status: "down" } });
  });

  it("needs a durable store with counters, for the generation", () => {
    const base = memoryStore();
    expect(() => tieredStore({ cache: memoryStore(), durable: { name: "bare", read: base.read, write: base.write, delete: base.delete } })).toThrow(/must implement increment/);
  });

  it("passes the store conformance suite's basics through createSessions", async () => {
    const { store } = tiered();
    const sessions = createSessions({ store, keys: generateKey() });
    const cookie = await signIn(sessions, "ann");
    const session = await sessions.read(cookie);
    session.regenerate();
    const renewed = cookieFrom(await sessions.commit(session));
    expect((await sessions.read(renewed)).userId).toBe("ann");
    expect((await sessions.read(cookie)).userId).toBeNull();
  });
});

describe("tiered store: one failed cache call while the breaker stays closed", () => {
  it("a sign-out whose cache delete failed leaves no live copy", async () => {
    const { store, cache } = tiered();
    const sessions = createSessions({ store, keys: generateKey() });
    const cookie = await signIn(sessions, "ann");
    expect((await sessions.read(cookie)).userId).toBe("ann");
    const session = await sessions.read(cookie);
    session.destroy();
    cache.failNext("delete");
    await sessions.commit(session);
    expect(store.cache.breakerState).toBe("closed");
    expect((await sessions.read(cookie)).userId).toBeNull();
  });

  it("a revocation whose cache step failed leaves no live copy", async () => {
    const { store, cache } = tiered();
    const sessions = createSessions({ store, keys: generateKey() });
    const cookie = await signIn(sessions, "bob");
    await sessions.read(cookie);
    cache.failNext("revokeUser");
    await sessions.revokeUser("bob");
    expect((await sessions.read(cookie)).userId).toBeNull();
  });

  it("a write whose cache step failed neither serves stale data nor blocks later writes", async () => {
    const { store, cache } = tiered();
    const sessions = createSessions<{ n: number }>({ store, keys: generateKey() });
    const cookie = await signIn(sessions, "cy");
    for (let i = 1; i <= 4; i++) {
      const session = await sessions.read(cookie);
      session.update("n", (n = 0) => n + 1);
      if (i === 2) cache.failNext("write");
      await sessions.commit(session);
      expect((await sessions.read(cookie)).get("n")).toBe(i);
    }
  });
});

/**
 * Instances that recover at once each bump the generation in their probe, so for a while they
 * use different ones. A write on either must reach the generation every other instance reads,
 * or an entry changed on one instance stays stale on another until its next touch (the drill,
 * test/resilience/, found this with two instances: 79-327 stale reads after recovery).
 */
describe("tiered store: instances on different generations", () => {
  const record = (version: number) => testRecord({ version, data: { v: version } });

  /** Two instances on one cache and one durable store, both through an outage: a on generation 1, b on 2. */
  async function recoveredApart(options: { recheckMs?: number } = {}) {
    const shared = { cache: faultyStore(memoryStore(), "cache"), durable: memoryStore() };
    // Refresh far away, so only the rules under test move the instances.
    const settings = { cacheTimeoutMs: 40, breaker: { failureThreshold: 1, openMs: 10 }, generationRefreshMs: 60_000, ...options };
    const a = tieredStore({ ...shared, ...settings });
    const b = tieredStore({ ...shared, ...settings });
    const handle = testHandle();
    await a.write(handle, record(1), 0);
    expect((await b.read(handle))?.record.version).toBe(1);
    shared.cache.mode = "down";
    await a.read(testHandle());
    await b.read(testHandle());
    expect([a.cache.breakerState, b.cache.breakerState]).toEqual(["open", "open"]);
    shared.cache.mode = "up";
    await sleep(15);
    await a.read(testHandle()); // a's probe: generation 1
    await b.read(testHandle()); // b's probe: generation 2
    expect([a.generation, b.generation]).toEqual([1, 2]);
    return { ...shared, a, b, handle };
  }

  it("a write on the instance left behind reaches the newest generation", async () => {
    const { a, b, handle } = await recoveredApart({ recheckMs: 0 });
    expect((await b.read(handle))?.record.version).toBe(1); // b refills generation 2
    expect(await a.write(handle, record(2), 1)).toBe(true);
    expect((await b.read(handle))?.record.version).toBe(2);
    expect(a.generation).toBe(2); // and a moved on, having read it after its write
  });

  it("an instance that moved on checks its cache hits until the others have caught up", async () => {
    const { a, b, handle } = await recoveredApart({ recheckMs: 60_000 });
    expect((await a.read(handle))?.record.version).toBe(1); // a refills generation 1
    expect(await b.write(handle, record(2), 1)).toBe(true); // b writes generations 2 and 0
    expect(a.rechecking).toBe(true);
    expect((await a.read(handle))?.record.version).toBe(2);
    // The stale entry was replaced: the next read agrees without asking twice.
    expect((await a.read(handle))?.record.version).toBe(2);
  });

  it("a write also updates the generation an instance just left, for instances that have not re-read it", async () => {
    const shared = { cache: faultyStore(memoryStore(), "cache"), durable: memoryStore() };
    // One failed call leaves the breaker closed: the case where the cache keeps serving.
    const settings = { cacheTimeoutMs: 40, breaker: { failureThreshold: 3, openMs: 10 }, generationRefreshMs: 60_000, recheckMs: 60_000 };
    const a = tieredStore({ ...shared, ...settings });
    const idle = tieredStore({ ...shared, ...settings }); // saw no outage: still on generation 0
    const handle = testHandle();
    await a.write(handle, record(1), 0);
    expect((await idle.read(handle))?.record.version).toBe(1);
    shared.cache.failNext("delete");
    await a.delete(testHandle()); // a failed invalidation: a moves to generation 1
    expect([a.generation, idle.generation]).toEqual([1, 0]);
    expect(await a.write(handle, record(2), 1)).toBe(true);
    expect((await idle.read(handle))?.record.version).toBe(2);
  });

  it("an older read of the generation that finishes after a bump does not undo it", async () => {
    const cache = faultyStore(memoryStore(), "cache");
    const backing = memoryStore();
    let release: () => void = () => {};
    let held = 0;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The first read of the generation is held back until the bump below has been adopted.
    const durable = Object.assign(Object.create(backing) as typeof backing, {
      increment: async (key: string, windowMs: number, amount = 1) => {
        const answer = await backing.increment(key, windowMs, amount);
        // The answer is read now and delivered late, as a slow connection would.
        if (amount === 0 && held++ === 0) await gate;
        return answer;
      },
    });
    const a = tieredStore({ cache, durable, cacheTimeoutMs: 40, generationRefreshMs: 0 });
    const reading = a.read(testHandle()); // starts the held read of the generation
    cache.failNext("delete");
    await a.delete(testHandle()); // a failed invalidation bumps the generation to 1
    expect(a.generation).toBe(1);
    release();
    await reading;
    expect(a.generation).toBe(1);
  });

  it("follows the generation counter when its window ends and it starts again", async () => {
    const clock = manualClock(Date.now());
    const cache = faultyStore(memoryStore(), "cache");
    const durable = memoryStore({ clock });
    const a = tieredStore({ cache, durable, cacheTimeoutMs: 40, generationRefreshMs: 0 });
    cache.failNext("delete");
    await a.delete(testHandle());
    expect(a.generation).toBe(1);
    clock.advance(401 * 24 * 3600 * 1000);
    await a.read(testHandle());
    expect(a.generation).toBe(0);
  });
});
