/**
 * Regeneration and timeouts against parallel requests: the cases where a new id, a sign-out
 * elsewhere and a replay meet.
 */
import { describe, expect, it } from "vitest";
import { createSessions, generateKey } from "../../src/index.ts";
import { memoryStore } from "../../adapters/memory/index.ts";
import type { SessionStore } from "../../src/store.ts";
import { cookieFrom, manualClock, setup, signIn } from "./helpers.ts";

type Data = { count: number; theme: string };

describe("regenerate against parallel requests", () => {
  it("does not bring back a session revoked while the request ran", async () => {
    const { sessions } = setup<Data>();
    const cookie = await signIn(sessions, "ann");
    const session = await sessions.read(cookie);
    await sessions.revokeUser("ann");
    session.regenerate();
    expect(await sessions.commit(session)).toBeNull();
    expect(await sessions.listUser("ann")).toEqual([]);
    expect((await sessions.read(cookie)).userId).toBeNull();
  });

  it("does not undo a parallel sign-out (destroy)", async () => {
    const { sessions } = setup<Data>();
    const cookie = await signIn(sessions, "ann");
    const [renewing, leaving] = await Promise.all([sessions.read(cookie), sessions.read(cookie)]);
    leaving!.destroy();
    await sessions.commit(leaving!);
    renewing!.regenerate();
    expect(await sessions.commit(renewing!)).toBeNull();
    expect(await sessions.listUser("ann")).toEqual([]);
  });

  it("keeps a change a parallel request committed before the regenerate", async () => {
    const { sessions } = setup<Data>();
    const cookie = await signIn(sessions, "ann");
    const [renewing, counting] = await Promise.all([sessions.read(cookie), sessions.read(cookie)]);
    counting!.update("count", (n = 0) => n + 1);
    await sessions.commit(counting!);
    renewing!.set("theme", "dark");
    renewing!.regenerate();
    const renewed = cookieFrom(await sessions.commit(renewing!));
    const after = await sessions.read(renewed);
    expect(after.toJSON()).toEqual({ count: 1, theme: "dark" });
    expect((await sessions.listUser("ann")).length).toBe(1);
  });

  it("never extends a session past its absolute expiry by regenerating", async () => {
    const { sessions, clock } = setup<Data>({ absoluteTimeout: 7200, idleTimeout: 3600 });
    let cookie = await signIn(sessions, "ann");
    const absolute = (await sessions.read(cookie)).absoluteExpiresAt;
    for (let i = 0; i < 2; i++) {
      clock.advance(50 * 60_000);
      const session = await sessions.read(cookie);
      session.regenerate();
      cookie = cookieFrom(await sessions.commit(session));
      expect(session.absoluteExpiresAt).toBe(absolute);
    }
    clock.advance(21 * 60_000);
    expect((await sessions.read(cookie)).userId).toBeNull();
  });

  it("starts a new absolute lifetime on sign-in", async () => {
    const { sessions, clock } = setup<Data>({ absoluteTimeout: 7200 });
    const anonymous = await sessions.read(null);
    anonymous.set("theme", "dark");
    const cookie = cookieFrom(await sessions.commit(anonymous));
    clock.advance(3600_000);
    const login = await sessions.read(cookie);
    login.userId = "ann";
    await sessions.commit(login);
    expect(login.absoluteExpiresAt).toBe(clock() + 7200_000);
  });

  it("leaves the user signed out, never with two live ids, when the create fails after the retire", async () => {
    const base = memoryStore();
    let failCreates = false;
    const store: SessionStore = {
      ...base,
      name: "flaky",
      write: (handle, record, expected) => (failCreates && expected === 0 ? Promise.reject(new Error("timeout")) : base.write(handle, record, expected)),
    };
    const sessions = createSessions<Data>({ store, keys: generateKey() });
    const cookie = await signIn(sessions, "ann");
    const session = await sessions.read(cookie);
    failCreates = true;
    session.regenerate();
    await expect(sessions.commit(session)).rejects.toMatchObject({ code: "ERR_SESSION_STORE" });
    failCreates = false;
    expect(await sessions.listUser("ann")).toEqual([]);
    expect((await sessions.read(cookie)).userId).toBeNull();
  });
});

describe("timeouts against parallel requests", () => {
  it("keeps a parallel request's shorter timeouts when replaying another change", async () => {
    const { sessions } = setup<Data>({ idleTimeout: 1800, absoluteTimeout: 86400 });
    const cookie = await signIn(sessions, "ann");
    const [tightening, writing] = await Promise.all([sessions.read(cookie), sessions.read(cookie)]);
    tightening!.setTimeouts({ idleTimeout: 120, absoluteTimeout: 3600 });
    await sessions.commit(tightening!);
    writing!.set("theme", "dark");
    await sessions.commit(writing!);
    const after = await sessions.read(cookie);
    expect(after.get("theme")).toBe("dark");
    expect(after.absoluteExpiresAt! - after.createdAt!).toBe(3600_000);
    expect(after.expiresAt! - after.lastSeenAt!).toBe(120_000);
  });

  it("keeps a session whose own idle timeout is shorter than the touch interval alive while active", async () => {
    const { sessions, clock } = setup<Data>({ idleTimeout: 1800 });
    const cookie = await signIn(sessions, "ann");
    const session = await sessions.read(cookie);
    session.setTimeouts({ idleTimeout: 60 });
    await sessions.commit(session);
    for (let t = 0; t < 15; t++) {
      clock.advance(20_000);
      expect((await sessions.read(cookie)).userId).toBe("ann");
    }
    clock.advance(61_000);
    expect((await sessions.read(cookie)).userId).toBeNull();
  });

  it("does not undo a parallel sign-out by replaying a user id that changed nothing", async () => {
    const clock = manualClock();
    const store = memoryStore({ clock });
    const sessions = createSessions<Data>({ store, keys: generateKey(), clock });
    const cookie = await signIn(sessions, "ann");
    const [a, b] = await Promise.all([sessions.read(cookie), sessions.read(cookie)]);
    b!.userId = null;
    await sessions.commit(b!);
    a!.userId = "ann";
    a!.set("theme", "dark");
    await sessions.commit(a!);
    // The sign-out gave the session a new id; the old one stays dead, still signed out.
    const after = await sessions.read(cookie);
    expect(after.userId).toBeNull();
    expect(after.invalidReason).toBe("not-found");
    expect(await sessions.listUser("ann")).toEqual([]);
  });
});
