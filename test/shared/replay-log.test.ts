/**
 * The replay log's core on the memory backend: argument and option checks, resume tokens
 * (every refusal, key rotation, what the backend keeps of a token), and cachedReplay's
 * behaviour when its cache fails. Runs on Node, Bun, Deno and workerd.
 */
import { describe, expect, it } from "vitest";
import { memoryReplay, memoryStore } from "../../adapters/memory/index.ts";
import { createSessions, generateKey, SessionError, type Session } from "../../src/index.ts";
import { cachedReplay, createReplayLog, type ReplayBackend } from "../../src/replay/index.ts";
import { manualClock } from "./helpers.ts";

/** A backend whose calls are counted and can be made to fail. */
function instrumented(backend: ReplayBackend & { window?: ReplayBackend["window"] }) {
  const calls: string[] = [];
  const failing = new Set<string>();
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver);
        if (property === "window" && value) return wrap(value as object);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          calls.push(String(property));
          if (failing.has(String(property))) return Promise.reject(new Error(`injected ${String(property)} failure`));
          return (value as (...a: unknown[]) => unknown).apply(object, args);
        };
      },
    });
  return { backend: wrap(backend), calls, failing };
}

async function signedIn() {
  const clock = manualClock(Date.now());
  const keys = generateKey("k1");
  const store = memoryStore({ clock });
  const sessions = createSessions({ store, keys, clock });
  const session = await sessions.read(null);
  session.userId = "ann";
  await session.regenerate();
  const cookie = (await sessions.commit(session))!.split(";")[0]!;
  return { clock, keys, store, sessions, session, cookie };
}

const refusal = (code: string) => expect.objectContaining({ name: "SessionError", code });

describe("createReplayLog: options and arguments", () => {
  it("refuses unknown and impossible options at start-up, naming them", () => {
    const backend = memoryReplay();
    expect(() => createReplayLog({ backend, retention: 0 })).toThrow(/retention is in seconds/);
    expect(() => createReplayLog({ backend, maxEvents: 1.5 })).toThrow(/maxEvents must be an integer/);
    expect(() => createReplayLog({ backend, retension: 60 } as never)).toThrow(/unknown option\(s\) retension/);
    expect(() => createReplayLog({ backend: {} as never })).toThrow(/needs `backend`/);
    expect(() => createReplayLog({ backend, sessions: {} })).toThrow(/object createSessions returned/);
  });

  it("refuses bad channels, members, positions, limits and events before any backend call", async () => {
    const { backend, calls } = instrumented(memoryReplay());
    const log = createReplayLog({ backend, maxEventBytes: 100 });
    const attempts: Array<() => Promise<unknown>> = [
      () => log.append("room{1}", 1),
      () => log.append("", 1),
      () => log.append("a b", 1),
      () => log.append("room", undefined),
      () => log.append("room", { n: Number.NaN }),
      () => log.append("room", { text: "\u0000" }),
      () => log.append("room", "x".repeat(200)),
      () => log.since("room", -1),
      () => log.since("room", 1.5),
      () => log.since("room", 0, { limit: 5000 }),
      () => log.ack("room", "", 1),
      () => log.heartbeat("room", "m", { ttl: -1 }),
    ];
    for (const attempt of attempts) await expect(attempt()).rejects.toEqual(refusal("ERR_SESSION_DATA"));
    await expect(log.append("room", { n: Number.NaN })).rejects.toThrow(/the event\.n is NaN/);
    expect(calls).toEqual([]);
  });

  it("turns a backend fault into ERR_SESSION_STORE with the cause attached, never into 'no events'", async () => {
    const { backend, failing } = instrumented(memoryReplay());
    const log = createReplayLog({ backend });
    failing.add("read");
    const error = await log.since("room", 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toMatchObject({ code: "ERR_SESSION_STORE", message: expect.stringContaining("memory replay backend failed during read") });
    expect((error as Error).cause).toMatchObject({ message: "injected read failure" });
  });

  it("acknowledges an append whose amortised prune fails: the event is stored", async () => {
    const { backend, failing } = instrumented(memoryReplay());
    const log = createReplayLog({ backend, pruneEvery: 1 });
    failing.add("prune");
    expect(await log.append("room", "kept")).toEqual({ seq: 1 });
    await expect(log.prune("room")).rejects.toEqual(refusal("ERR_SESSION_STORE"));
  });
});

describe("resume tokens", () => {
  it("resume once, bound to session, channel and position; the backend keeps a hash only", async () => {
    const { sessions, session } = await signedIn();
    const { backend, calls } = instrumented(memoryReplay());
    const saved: unknown[][] = [];
    const log = createReplayLog({ backend: { ...backend, name: backend.name, saveToken: (...args) => (saved.push(args), backend.saveToken(...args)) }, sessions });
    const token = await log.issueResumeToken(session, "room:1", 12);
    expect(token.split(".")).toHaveLength(5);
    expect(saved).toHaveLength(1);
    expect(saved[0]![0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(saved)).not.toContain(token);
    expect(await log.resume(token, session)).toEqual({ ok: true, channel: "room:1", seq: 12 });
    expect(await log.resume(token, session)).toEqual({ ok: false, reason: "replayed" });
    expect(calls.filter((name) => name === "consumeToken")).toHaveLength(2);
  });

  it("refuses forged tokens (garbage, tampered, a session ticket, another key) without a store call", async () => {
    const { sessions, session, cookie, store } = await signedIn();
    const log = createReplayLog({ backend: memoryReplay(), sessions });
    const token = await log.issueResumeToken(session, "room", 1);
    const other = createSessions({ store, keys: generateKey("k1") });
    const stranger = await createReplayLog({ backend: memoryReplay(), sessions: other }).issueResumeToken(session, "room", 1);
    const flipped = `${token.slice(0, -3)}${token.at(-3) === "A" ? "B" : "A"}${token.slice(-2)}`;
    const ticket = cookie.slice(cookie.indexOf("=") + 1);
    for (const bad of ["", "x", "a.b.c.d.e", flipped, ticket, stranger, `${token}.`, "y".repeat(5000), 42, null]) {
      expect(await log.resume(bad as string, session)).toEqual({ ok: false, reason: "forged" });
    }
    expect(await log.resume(token, session)).toEqual({ ok: true, channel: "room", seq: 1 });
  });

  it("refuses an expired token, and one whose key has retired; opens one sealed with an older key in its window", async () => {
    const { sessions, session, clock, store } = await signedIn();
    const backend = memoryReplay();
    const log = createReplayLog({ backend, sessions, tokenTtl: 60, clock });
    const stale = await log.issueResumeToken(session, "room", 1);
    clock.advance(60_000);
    expect(await log.resume(stale, session)).toEqual({ ok: false, reason: "expired" });

    // Rotation as for tickets: k2 in front, k1 still opens until its notAfter.
    const k1 = generateKey("old");
    const before = createSessions({ store, keys: k1, clock });
    const sealedOld = await createReplayLog({ backend, sessions: before, clock }).issueResumeToken(session, "room", 2);
    const until = new Date(clock() + 10_000).toISOString();
    const rotated = createSessions({ store, keys: `${generateKey("new")},${k1}@${until}`, clock });
    const after = createReplayLog({ backend, sessions: rotated, clock });
    const sealedNew = await after.issueResumeToken(session, "room", 3);
    expect(JSON.parse(atob(sealedNew.split(".")[0]!.replace(/-/g, "+").replace(/_/g, "/"))).kid).toBe("new");
    const sealedOld2 = await createReplayLog({ backend, sessions: before, clock }).issueResumeToken(session, "room", 4);
    expect(await after.resume(sealedOld, session)).toEqual({ ok: true, channel: "room", seq: 2 });
    clock.advance(10_000);
    expect(await after.resume(sealedOld2, session)).toEqual({ ok: false, reason: "expired" });
    expect(await after.resume(sealedNew, session)).toEqual({ ok: true, channel: "room", seq: 3 });
  });

  it("refuses a token of a session that was signed out as revoked, and another session's as other-session, without using it up", async () => {
    const { sessions, session, cookie } = await signedIn();
    const log = createReplayLog({ backend: memoryReplay(), sessions });
    const token = await log.issueResumeToken(session, "room", 5);
    const stranger = await sessions.read(null);
    stranger.set("x", 1);
    await sessions.commit(stranger);
    expect(await log.resume(token, stranger)).toEqual({ ok: false, reason: "other-session" });
    expect(await log.resume(token, null)).toEqual({ ok: false, reason: "other-session" });
    expect(await log.resume(token, session.handle)).toEqual({ ok: true, channel: "room", seq: 5 });

    const later = await log.issueResumeToken(session, "room", 6);
    const current: Session = await sessions.read(cookie);
    current.destroy();
    await sessions.commit(current);
    const signedOut = await sessions.read(cookie);
    expect(await log.resume(later, signedOut)).toEqual({ ok: false, reason: "revoked" });
    expect(await log.resume(later, session)).toEqual({ ok: false, reason: "revoked" });
  });

  it("with renew on: resumes across renewals and from a request within the grace, and answers revoked once the session is gone", async () => {
    const clock = manualClock(Date.now());
    const sessions = createSessions({ store: memoryStore({ clock }), keys: generateKey("k1"), clock, renew: { every: 60, grace: 5 } });
    const log = createReplayLog({ backend: memoryReplay(), sessions, clock });
    const login = await sessions.read(null);
    login.userId = "ann";
    let cookie = (await sessions.commit(login))!.split(";")[0]!;
    const { seq } = await log.append("room", { n: 1 });
    const [token, again, last] = [
      await log.issueResumeToken(login, "room", seq),
      await log.issueResumeToken(login, "room", seq),
      await log.issueResumeToken(login, "room", seq),
    ];
    // Two renewals later the tokens' handle is a retired marker two hops from the session.
    let previous = cookie;
    for (let i = 0; i < 2; i++) {
      previous = cookie;
      clock.advance(61_000);
      cookie = (await sessions.commit(await sessions.read(cookie)))!.split(";")[0]!;
    }
    const current = await sessions.read(cookie);
    expect(current.handle).not.toBe(login.handle);
    // A marker is never the session: holding the token's own (retired) handle is not enough.
    expect(await log.resume(token, login.handle)).toEqual({ ok: false, reason: "other-session" });
    expect(await log.resume(token, current)).toEqual({ ok: true, channel: "room", seq });
    expect(await log.since("room", seq - 1)).toMatchObject({ gap: false, events: [{ seq, event: { n: 1 } }] });
    // A request still carrying the ticket from before the last renewal, within the grace, is the same session.
    clock.advance(2_000);
    const inFlight = await sessions.read(previous);
    expect(inFlight.userId).toBe("ann");
    expect(await log.resume(again, inFlight)).toEqual({ ok: true, channel: "room", seq });

    // Signing out by userId = null leaves a regenerate marker: the chain passes it, so revoked.
    current.userId = null;
    const anonymous = await sessions.read((await sessions.commit(current))!.split(";")[0]!);
    expect(await log.resume(last, anonymous)).toEqual({ ok: false, reason: "revoked" });
    expect(await log.resume(last, current)).toEqual({ ok: false, reason: "revoked" });
  });

  it("needs the sessions option and a stored session", async () => {
    const { sessions } = await signedIn();
    await expect(createReplayLog({ backend: memoryReplay() }).issueResumeToken("abcd.x", "room", 1)).rejects.toEqual(refusal("ERR_SESSION_CONFIG"));
    await expect(createReplayLog({ backend: memoryReplay() }).resume("x", null)).rejects.toEqual(refusal("ERR_SESSION_CONFIG"));
    const fresh = await sessions.read(null);
    await expect(createReplayLog({ backend: memoryReplay(), sessions }).issueResumeToken(fresh, "room", 1)).rejects.toEqual(refusal("ERR_SESSION_STATE"));
  });
});

describe("cachedReplay", () => {
  it("serves a catch-up from the window with no durable read, and refills it from a durable read that reached the head", async () => {
    const cache = instrumented(memoryReplay());
    const durable = instrumented(memoryReplay());
    const log = createReplayLog({ backend: cachedReplay({ cache: cache.backend, durable: durable.backend, size: 3 }) });
    for (let i = 1; i <= 5; i++) await log.append("room", i);
    durable.calls.length = 0;
    const recent = await log.since("room", 2);
    expect(recent.gap === false && recent.events.map((e) => e.event)).toEqual([3, 4, 5]);
    expect(durable.calls).toEqual([]);
    const older = await log.since("room", 0);
    expect(older.gap === false && older.events.map((e) => e.event)).toEqual([1, 2, 3, 4, 5]);
    expect(durable.calls).toEqual(["read"]);
    await cache.backend.window!.dropWindow("room");
    await log.since("room", 3);
    durable.calls.length = 0;
    await log.since("room", 3);
    expect(durable.calls).toEqual([]);
  });

  it("grows the window from an older catch-up, but never starts one from a read short of the head", async () => {
    const cache = instrumented(memoryReplay());
    const durable = instrumented(memoryReplay());
    const log = createReplayLog({ backend: cachedReplay({ cache: cache.backend, durable: durable.backend, size: 100 }) });
    for (let i = 1; i <= 10; i++) await log.append("room", i);
    await cache.backend.window!.dropWindow("room");
    // A page that stops short of the head: the window it would start would claim a head of 4.
    expect(await log.since("room", 0, { limit: 3 })).toMatchObject({ gap: false, more: true });
    durable.calls.length = 0;
    await log.since("room", 8);
    expect(durable.calls).toEqual(["read"]); // no window yet; this read reached the head and starts one (9, 10)
    await log.since("room", 3, { limit: 3 }); // 4..7 does not touch it: nothing changes
    await log.since("room", 5, { limit: 3 }); // 6..9 touches it: the window grows to 6..10
    durable.calls.length = 0;
    const grown = await log.since("room", 5);
    expect(grown.gap === false && grown.events.map((e) => e.event)).toEqual([6, 7, 8, 9, 10]);
    expect(durable.calls).toEqual([]);
  });

  it("acknowledges an append only once the durable backend has it", async () => {
    const cache = instrumented(memoryReplay());
    const durable = instrumented(memoryReplay());
    const log = createReplayLog({ backend: cachedReplay({ cache: cache.backend, durable: durable.backend }) });
    durable.failing.add("append");
    await expect(log.append("room", "lost")).rejects.toEqual(refusal("ERR_SESSION_STORE"));
    expect(cache.calls).toEqual([]);
    durable.failing.clear();
    expect(await log.append("room", "kept")).toEqual({ seq: 1 });
  });

  it("falls back to the durable backend with no error when the cache fails, and forgets a window it could not update", async () => {
    const cache = instrumented(memoryReplay());
    const durable = memoryReplay();
    const backend = cachedReplay({ cache: cache.backend, durable, breaker: { failureThreshold: 100 } });
    const log = createReplayLog({ backend });
    await log.append("room", 1);
    await log.append("room", 2);
    // A put that fails leaves the window behind the durable log...
    cache.failing.add("mergeWindow");
    await log.append("room", 3);
    cache.failing.clear();
    // ...so this process drops that window before it reads from the cache again.
    const caught = await log.since("room", 2);
    expect(caught.gap === false && caught.events.map((e) => e.event)).toEqual([3]);
    expect(cache.calls).toContain("dropWindow");
    // A cache that is down answers nothing: every call goes to the durable backend, no error.
    for (const name of ["readWindow", "mergeWindow", "dropWindow"]) cache.failing.add(name);
    expect(await log.append("room", 4)).toEqual({ seq: 4 });
    const all = await log.since("room", 0);
    expect(all.gap === false && all.events.map((e) => e.event)).toEqual([1, 2, 3, 4]);
  });

  it("passes over a cache that hangs, within its budget", async () => {
    const durable = memoryReplay();
    const hanging = memoryReplay();
    const never = () => new Promise<never>(() => {});
    const cache = { ...hanging, name: "hanging", window: { readWindow: never, mergeWindow: never, dropWindow: never } };
    const log = createReplayLog({ backend: cachedReplay({ cache, durable, cacheTimeoutMs: 20 }) });
    expect(await log.append("room", "x")).toEqual({ seq: 1 });
    const read = await log.since("room", 0);
    expect(read.gap === false && read.events.map((e) => e.event)).toEqual(["x"]);
  });
});
