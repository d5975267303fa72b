import { describe, expect, it } from "vitest";
import { SessionError, createSessions, generateKey } from "../../src/index.ts";
import { memoryStore } from "../../adapters/memory/index.ts";
import { cookieFrom, setup, signIn } from "./helpers.ts";

type Data = { count: number; theme: string; cart: string[] };

describe("sessions: read and commit", () => {
  it("gives a visitor without a cookie an empty session and writes nothing", async () => {
    const { sessions, store, events } = setup<Data>();
    const session = await sessions.read(null);
    expect(session.isNew).toBe(true);
    expect(session.handle).toBeNull();
    expect(session.get("count")).toBeUndefined();
    expect(session.invalidReason).toBeNull();
    expect(await sessions.commit(session)).toBeNull();
    expect(store.total()).toBe(0);
    expect(events).toEqual([{ type: "read", outcome: "anonymous" }]);
  });

  it("stores a new session on its first change and sends a __Host- cookie", async () => {
    const { sessions, store, events } = setup<Data>();
    const session = await sessions.read(new Request("https://app.test/"));
    session.set("theme", "dark");
    const setCookie = await sessions.commit(session);
    expect(setCookie).toMatch(/^__Host-session=[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+; Max-Age=604800; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(session.isNew).toBe(false);
    expect(session.handle).toMatch(/^[\w-]{4}\.[\w-]{43}$/);
    expect(store.calls).toEqual({ write: 1 });
    expect(events).toEqual([
      { type: "read", outcome: "anonymous" },
      { type: "store-call", store: "memory", operation: "write", ms: expect.any(Number), ok: true },
      { type: "created", handle: session.handle },
    ]);
    expect(store.size).toBe(1);
  });

  it("reads the session back from a Request, Headers, a cookie header string or a Headers-like object", async () => {
    const { sessions } = setup<Data>();
    const first = await sessions.read(null);
    first.set("count", 3);
    const cookie = cookieFrom(await sessions.commit(first));
    const sources = [
      new Request("https://app.test/", { headers: { cookie: `a=1; ${cookie}; b=2` } }),
      new Headers({ cookie }),
      cookie,
      { get: (name: string) => (name === "cookie" ? cookie : null) },
    ];
    for (const source of sources) {
      const session = await sessions.read(source);
      expect(session.get("count")).toBe(3);
      expect(session.handle).toBe(first.handle);
    }
  });

  it("costs one store call and no Set-Cookie for a plain read", async () => {
    const { sessions, store } = setup<Data>();
    const cookie = await signIn(sessions, "ann");
    store.calls.write = 0;
    store.calls.read = 0;
    const session = await sessions.read(cookie);
    expect(session.userId).toBe("ann");
    expect(await sessions.commit(session)).toBeNull();
    expect(store.calls).toMatchObject({ read: 1, write: 0 });
  });

  it("writes a change with compare-and-set and keeps the cookie", async () => {
    const { sessions, store } = setup<Data>();
    const cookie = await signIn(sessions, "ann");
    const session = await sessions.read(cookie);
    expect(session.update("count", (count = 0) => count + 1)).toBe(1);
    session.set("cart", ["tea"]);
    session.unset("theme");
    expect(await sessions.commit(session)).toBeNull();
    const again = await sessions.read(cookie);
    expect(again.get("count")).toBe(1);
    expect(again.get("cart")).toEqual(["tea"]);
    expect(again.has("theme")).toBe(false);
    expect(JSON.parse(store.raw.get(again.handle!)!.json).version).toBe(2);
  });

  it("commits again only what changed since the last commit", async () => {
    const { sessions, store } = setup<Data>();
    const session = await sessions.read(null);
    session.set("count", 1);
    expect(await sessions.commit(session)).not.toBeNull();
    expect(await sessions.commit(session)).toBeNull();
    session.set("count", 2);
    expect(await sessions.commit(session)).toBeNull();
    expect(store.calls.write).toBe(2);
    expect(session.isDirty).toBe(false);
  });

  it("gives toJSON a copy", async () => {
    const { sessions } = setup<Data>();
    const session = await sessions.read(null);
    session.set("cart", ["tea"]);
    const copy = session.toJSON();
    copy.cart!.push("cake");
    expect(session.get("cart")).toEqual(["tea"]);
  });

  it("stores values as JSON, as every store does", async () => {
    const { sessions } = setup<Record<string, unknown>>();
    const session = await sessions.read(null);
    session.set("when", new Date(0));
    session.set("skip", undefined);
    const cookie = cookieFrom(await sessions.commit(session));
    const again = await sessions.read(cookie);
    expect(again.get("when")).toBe("1970-01-01T00:00:00.000Z");
    expect(again.has("skip")).toBe(false);
  });

  it("refuses to commit a session read by another manager", async () => {
    const a = setup<Data>();
    const b = setup<Data>();
    const session = await a.sessions.read(null);
    await expect(b.sessions.commit(session)).rejects.toMatchObject({ code: "ERR_SESSION_STATE" });
  });

  it("validates userId", async () => {
    const { sessions } = setup<Data>();
    const session = await sessions.read(null);
    expect(() => (session.userId = "" as string)).toThrow(SessionError);
    expect(() => (session.userId = 42 as unknown as string)).toThrow(/userId/);
    expect(() => (session.userId = "x".repeat(257))).toThrow(/256/);
  });
});

describe("sessions: regenerate and destroy", () => {
  it("regenerate issues a new id and deletes the old record, keeping the data", async () => {
    const { sessions, store, events } = setup<Data>();
    const session = await sessions.read(null);
    session.set("cart", ["tea"]);
    const before = cookieFrom(await sessions.commit(session));
    const oldHandle = session.handle!;

    const login = await sessions.read(before);
    login.regenerate();
    login.userId = "ann";
    const after = cookieFrom(await sessions.commit(login));
    expect(after).not.toBe(before);
    expect(login.handle).not.toBe(oldHandle);
    expect(store.raw.get(oldHandle)).toBeUndefined();
    expect((await sessions.read(before)).invalidReason).toBe("not-found");
    const current = await sessions.read(after);
    expect(current.userId).toBe("ann");
    expect(current.get("cart")).toEqual(["tea"]);
    expect(events).toContainEqual({ type: "regenerated", handle: login.handle, previous: oldHandle });
  });

  it("awaiting regenerate gives the new handle before the commit", async () => {
    const { sessions } = setup<Data>();
    const cookie = await signIn(sessions, "ann");
    const session = await sessions.read(cookie);
    const old = session.handle;
    session.userId = "ann";
    await session.regenerate();
    const announced = session.handle;
    expect(announced).toMatch(/^[\w-]{4}\.[\w-]{43}$/);
    expect(announced).not.toBe(old);
    await sessions.commit(session);
    expect(session.handle).toBe(announced);
    const regeneratedTwice = await sessions.read(null);
    void regeneratedTwice.regenerate();
    await regeneratedTwice.regenerate();
    const last = regeneratedTwice.handle;
    regeneratedTwice.set("count", 1);
    await sessions.commit(regeneratedTwice);
    expect(regeneratedTwice.handle).toBe(last);
  });

  it("clears a cookie that can never open again, but not one whose record was not found", async () => {
    const { sessions, clock } = setup<Data>({ absoluteTimeout: 3600 });
    const cookie = await signIn(sessions, "ann");
    const other = await signIn(sessions, "ann");
    await sessions.revokeSession("ann", (await sessions.read(other)).handle!);
    const notFound = await sessions.read(other);
    expect(notFound.invalidReason).toBe("not-found");
    expect(await sessions.commit(notFound)).toBeNull();
    clock.advance(3601_000);
    const expired = await sessions.read(cookie);
    expect(expired.invalidReason).toBe("expired");
    expect(await sessions.commit(expired)).toMatch(/^__Host-session=; Max-Age=0/);
    expect(await sessions.commit(expired)).toBeNull();
  });

  it("destroy deletes the record and returns a cookie that clears the browser's", async () => {
    const { sessions, store, events } = setup<Data>();
    const cookie = await signIn(sessions, "ann");
    const session = await sessions.read(cookie);
    const handle = session.handle!;
    session.destroy();
    const clear = await sessions.commit(session);
    expect(clear).toBe(
      "__Host-session=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax",
    );
    expect(store.raw.get(handle)).toBeUndefined();
    expect(events).toContainEqual({ type: "destroyed", handle });
    const replay = await sessions.read(cookie);
    expect(replay.userId).toBeNull();
    expect(replay.invalidReason).toBe("not-found");
    expect(() => session.set("count", 1)).toThrow(/destroyed/);
  });

  it("destroy without a cookie sends nothing", async () => {
    const { sessions, store } = setup<Data>();
    const session = await sessions.read(null);
    session.destroy();
    expect(await sessions.commit(session)).toBeNull();
    expect(store.total()).toBe(0);
  });

  it("does not resurrect a session revoked while a request was changing it", async () => {
    const { sessions, store, events } = setup<Data>();
    const cookie = await signIn(sessions, "ann");
    const session = await sessions.read(cookie);
    session.set("count", 1);
    await sessions.revokeUser("ann");
    expect(await sessions.commit(session)).toBeNull();
    expect(store.size).toBe(0);
    expect(events).toContainEqual({ type: "invalid", reason: "not-found", handle: session.handle ?? expect.any(String) });
  });
});

describe("sessions: store failures", () => {
  function failing() {
    const store = memoryStore();
    let broken = false;
    const wrapped = {
      ...store,
      name: "flaky",
      read: (...args: Parameters<typeof store.read>) => (broken ? Promise.reject(new Error("connection reset")) : store.read(...args)),
      write: (...args: Parameters<typeof store.write>) => (broken ? Promise.reject(new Error("connection reset")) : store.write(...args)),
      delete: (...args: Parameters<typeof store.delete>) => (broken ? Promise.reject(new Error("connection reset")) : store.delete(...args)),
    };
    return { store: wrapped, break: () => (broken = true) };
  }

  it("never reads a store failure as no session: it throws ERR_SESSION_STORE with the cause", async () => {
    const flaky = failing();
    const events: unknown[] = [];
    const sessions = createSessions({ store: flaky.store, keys: generateKey(), onEvent: (e) => events.push(e) });
    const cookie = await signIn(sessions, "ann");
    flaky.break();
    const error = await sessions.read(cookie).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toMatchObject({ code: "ERR_SESSION_STORE", cause: new Error("connection reset") });
    expect((error as Error).message).toMatch(/^cloakroom: the flaky store failed during read/);
    expect(events).toContainEqual({ type: "store-error", store: "flaky", operation: "read", error: new Error("connection reset") });
  });

  it("reports a failed write and leaves the cookie alone", async () => {
    const flaky = failing();
    const sessions = createSessions<Data>({ store: flaky.store, keys: generateKey() });
    const cookie = await signIn(sessions, "ann");
    const session = await sessions.read(cookie);
    session.set("count", 1);
    flaky.break();
    await expect(sessions.commit(session)).rejects.toMatchObject({ code: "ERR_SESSION_STORE" });
  });

  it("ignores a listener that throws", async () => {
    const sessions = createSessions<Data>({
      store: memoryStore(),
      keys: generateKey(),
      onEvent: () => {
        throw new Error("listener bug");
      },
    });
    const session = await sessions.read(null);
    session.set("count", 1);
    expect(await sessions.commit(session)).not.toBeNull();
  });

  it("reads a record that is not what cloakroom wrote as no session, with an event", async () => {
    const { sessions, store, events } = setup<Data>();
    const cookie = await signIn(sessions, "ann");
    const handle = (await sessions.read(cookie)).handle!;
    const bad = ['{"userId":"ann","data":[]}', '{"version":"1"}', "[]", "null", '"text"', "{"];
    for (const json of bad) {
      store.raw.set(handle, json);
      const session = await sessions.read(cookie);
      expect(session.userId).toBeNull();
      expect(session.invalidReason).toBe("not-found");
      // The ticket cache forgets a ticket whose record is gone; put the entry back for the next round.
      await sessions.read(cookie);
    }
    expect(events.filter((e) => e.type === "invalid").length).toBeGreaterThanOrEqual(bad.length);
  });

  it("rejects a malformed record even from a store that passes it through", async () => {
    const { sessions, keys, clock } = setup<Data>();
    const cookie = await signIn(sessions, "ann");
    const events: unknown[] = [];
    const passThrough = createSessions<Data>({
      store: { ...memoryStore(), name: "loose", read: async () => ({ record: { userId: "ann", data: [] } as never, touched: false }) },
      keys,
      // The same clock as the manager that sealed the ticket: on the wall clock it may be expired.
      clock,
      onEvent: (event) => events.push(event),
    });
    const session = await passThrough.read(cookie);
    expect(session.userId).toBeNull();
    expect(session.invalidReason).toBe("corrupt");
    expect(events).toContainEqual({ type: "invalid", reason: "corrupt", handle: expect.any(String) });
  });
});

describe("sessions: health", () => {
  it("reports the store's health", async () => {
    const { sessions } = setup<Data>();
    expect(await sessions.health()).toMatchObject({ status: "ok", store: { name: "memory", ok: true } });
  });

  it("reports down when the store's probe fails", async () => {
    const store = { ...memoryStore(), name: "dead", health: () => Promise.reject(new Error("ECONNREFUSED")) };
    const sessions = createSessions({ store, keys: generateKey() });
    expect(await sessions.health()).toMatchObject({ status: "down", store: { name: "dead", ok: false } });
  });

  it("probes with a read when the store has no health method", async () => {
    const base = memoryStore();
    const sessions = createSessions({ store: { name: "plain", read: base.read, write: base.write, delete: base.delete }, keys: generateKey() });
    expect(await sessions.health()).toMatchObject({ status: "ok", store: { name: "plain", ok: true } });
  });
});
