import { describe, expect, it } from "vitest";
import { createSessions, generateKey, SessionError } from "../../src/index.ts";
import { memoryStore } from "../../adapters/memory/index.ts";
import { cookieFrom, manualClock, signIn } from "./helpers.ts";

describe("key rotation", () => {
  const oldKey = generateKey("2026-10");
  const newKey = generateKey("2026-11");
  const clock = manualClock(Date.parse("2026-11-22T12:00:00Z"));
  const store = memoryStore({ clock });
  const manager = (keys: string, events: unknown[] = []) =>
    createSessions({ store, keys, clock, absoluteTimeout: 90 * 86400, idleTimeout: 30 * 86400, onEvent: (e) => events.push(e) });

  it("re-seals a ticket opened with an older key on that response, without a store write", async () => {
    const before = manager(oldKey);
    const oldCookie = await signIn(before, "ann");

    const events: Array<{ type: string }> = [];
    const after = manager(`${newKey},${oldKey}@2026-12-31T00:00:00Z`, events);
    const writesBefore = JSON.parse(store.raw.entries()[0]![1].json).version;
    const session = await after.read(oldCookie);
    expect(session.userId).toBe("ann");
    const setCookie = await after.commit(session);
    expect(setCookie).not.toBeNull();
    const header = JSON.parse(atob(cookieFrom(setCookie).split("=")[1]!.split(".")[0]!));
    expect(header.kid).toBe("2026-11");
    expect(events).toContainEqual({ type: "resealed", handle: session.handle, kid: "2026-11", fromKid: "2026-10" });
    expect(JSON.parse(store.raw.get(session.handle!)!.json).version).toBe(writesBefore);
    expect(events.filter((e) => e.type === "created" || e.type === "regenerated")).toEqual([]);

    const next = await after.read(cookieFrom(setCookie));
    expect(next.userId).toBe("ann");
    expect(await after.commit(next)).toBeNull();
  });

  it("opens every key inside its window and rejects it after, as key-retired", async () => {
    const before = manager(oldKey);
    const oldCookie = await signIn(before, "bob");
    const after = manager(`${newKey},${oldKey}@2026-12-01T00:00:00Z`);
    clock.set(Date.parse("2026-11-30T23:59:59Z"));
    expect((await after.read(oldCookie)).userId).toBe("bob");
    clock.set(Date.parse("2026-12-01T00:00:01Z"));
    const late = await after.read(oldCookie);
    expect(late.userId).toBeNull();
    expect(late.invalidReason).toBe("key-retired");
  });

  it("rejects a ticket whose key was dropped as unknown-key, without a store call", async () => {
    clock.set(Date.parse("2026-11-22T12:00:00Z"));
    const before = manager(oldKey);
    const oldCookie = await signIn(before, "cy");
    const after = manager(newKey);
    expect((await after.read(oldCookie)).invalidReason).toBe("unknown-key");
  });

  it("pre-distributes a key by listing it second: it opens but does not seal yet", async () => {
    clock.set(Date.parse("2026-11-22T12:00:00Z"));
    const promoted = manager(`${newKey},${oldKey}@2026-12-31`);
    const newCookie = await signIn(promoted, "dee");
    const staged = manager(`${oldKey},${newKey}`);
    const session = await staged.read(newCookie);
    expect(session.userId).toBe("dee");
    const setCookie = await staged.commit(session);
    const header = JSON.parse(atob(cookieFrom(setCookie).split("=")[1]!.split(".")[0]!));
    expect(header.kid).toBe("2026-10");
  });

  it("refuses to start when every key has retired", () => {
    expect(() => manager(`${oldKey}@2020-01-01`)).toThrow(/every key's notAfter has passed/);
  });

  it("refuses a list whose sealing key retires before a key listed after it", () => {
    clock.set(Date.parse("2026-11-22T12:00:00Z"));
    // The usual slip: the new key appended instead of put in front. Once "2026-11" retired,
    // "2026-10" would seal again and every ticket "2026-11" sealed would read as key-retired.
    expect(() => manager(`${newKey}@2026-12-01,${oldKey}`)).toThrow(/key "2026-11" seals now but retires at 2026-12-01T00:00:00Z, before key "2026-10"/);
    expect(() => manager(`${newKey}@2026-12-01,${oldKey}@2026-12-02`)).toThrow(SessionError);
    // A key listed after it that retires first, or has already retired, is in order.
    expect(() => manager(`${newKey}@2026-12-01,${oldKey}@2026-11-30`)).not.toThrow();
    expect(() => manager(`${newKey},${oldKey}@2020-01-01`)).not.toThrow();
  });

  it("stops sealing with a key once its notAfter passes, even in a running process", async () => {
    clock.set(Date.parse("2026-11-22T12:00:00Z"));
    const sessions = manager(`${newKey}@2026-11-23T00:00:00Z,${oldKey}@2026-11-22T18:00:00Z`);
    const session = await sessions.read(null);
    session.set("a", 1);
    const first = cookieFrom(await sessions.commit(session));
    expect(JSON.parse(atob(first.split("=")[1]!.split(".")[0]!)).kid).toBe("2026-11");
    clock.set(Date.parse("2026-11-23T00:00:01Z"));
    const again = await sessions.read(first);
    expect(again.invalidReason).toBe("key-retired");
  });
});
