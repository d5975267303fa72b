import { describe, expect, it } from "vitest";
import { createSessions, generateKey } from "../../src/index.ts";
import { memoryStore } from "../../adapters/memory/index.ts";
import { userTag } from "../../src/session-id.ts";
import { cookieFrom, setup, signIn } from "./helpers.ts";

describe("a user's sessions", () => {
  it("lists them, most recently seen first, marking the current one", async () => {
    const { sessions, clock } = setup({ touchInterval: 1 });
    const laptop = await signIn(sessions, "ann");
    clock.advance(5_000);
    const phone = await signIn(sessions, "ann");
    await signIn(sessions, "bob");
    clock.advance(5_000);
    const current = await sessions.read(laptop);
    const list = await sessions.listUser("ann", { current });
    expect(list.map((s) => s.current)).toEqual([true, false]);
    expect(list[0]).toMatchObject({ handle: current.handle, userId: "ann", lastSeenAt: clock() });
    expect(list[1]!.handle).toBe((await sessions.read(phone)).handle);
    for (const info of list) expect(info.handle).toMatch(/^[\w-]{4}\.[\w-]{43}$/);
  });

  it("revokes all of them but one, atomically, and says how many", async () => {
    const { sessions, events } = setup();
    const keep = await signIn(sessions, "ann");
    const others = [await signIn(sessions, "ann"), await signIn(sessions, "ann")];
    const bob = await signIn(sessions, "bob");
    const current = await sessions.read(keep);
    expect(await sessions.revokeUser("ann", { except: current })).toBe(2);
    for (const cookie of others) expect((await sessions.read(cookie)).userId).toBeNull();
    expect((await sessions.read(keep)).userId).toBe("ann");
    expect((await sessions.read(bob)).userId).toBe("bob");
    expect(events).toContainEqual({ type: "revoked", userId: "ann", count: 2 });
    expect(await sessions.revokeUser("ann")).toBe(1);
  });

  it("ends one session by handle only for its owner", async () => {
    const { sessions } = setup();
    const ann = await sessions.read(await signIn(sessions, "ann"));
    const bobCookie = await signIn(sessions, "bob");
    const bob = await sessions.read(bobCookie);
    expect(await sessions.revokeSession("ann", bob.handle!)).toBe(false);
    expect(await sessions.revokeSession("ann", "../../etc/passwd")).toBe(false);
    expect(await sessions.revokeSession("ann", "x".repeat(43))).toBe(false);
    expect((await sessions.read(bobCookie)).userId).toBe("bob");
    expect(await sessions.revokeSession("bob", bob.handle!)).toBe(true);
    expect((await sessions.read(bobCookie)).userId).toBeNull();
    expect(ann.userId).toBe("ann");
  });

  it("says plainly when the store has no user index", async () => {
    const base = memoryStore();
    const sessions = createSessions({ store: { name: "bare", read: base.read, write: base.write, delete: base.delete }, keys: generateKey() });
    await expect(sessions.listUser("ann")).rejects.toMatchObject({ code: "ERR_SESSION_UNSUPPORTED" });
    await expect(sessions.revokeUser("ann")).rejects.toThrow(/the bare store has no per-user index/);
  });

  it("refuses an empty user id", async () => {
    const { sessions } = setup();
    await expect(sessions.listUser("")).rejects.toMatchObject({ code: "ERR_SESSION_STATE" });
    await expect(sessions.revokeUser(undefined as never)).rejects.toMatchObject({ code: "ERR_SESSION_STATE" });
  });

  it("puts every session of a user under the user's tag, so one hash slot holds them all", async () => {
    const { sessions } = setup();
    for (const user of ["ann", "bob", "名前", "x".repeat(200)]) {
      const session = await sessions.read(await signIn(sessions, user));
      expect(session.handle!.slice(0, 5)).toBe(`${userTag(user)}.`);
    }
    expect(userTag("ann")).toMatch(/^[\w-]{4}$/);
    expect(userTag("ann")).not.toBe(userTag("bob"));
  });

  it("gives a new id when userId changes to another user, and when it is cleared (sign-out)", async () => {
    const { sessions, store } = setup();
    const cookie = await signIn(sessions, "ann");
    const session = await sessions.read(cookie);
    const annHandle = session.handle!;
    session.userId = "bob";
    const rekeyed = await sessions.commit(session);
    expect(rekeyed).not.toBeNull();
    expect(session.handle).not.toBe(annHandle);
    expect(session.handle!.startsWith(userTag("bob"))).toBe(true);
    expect(store.raw.get(annHandle)).toBeUndefined();
    const bob = await sessions.read(cookieFrom(rekeyed));
    const bobHandle = bob.handle!;
    bob.set("theme", "dark");
    bob.userId = null;
    const signedOut = await sessions.commit(bob);
    expect(signedOut).not.toBeNull();
    expect(bob.handle).not.toBe(bobHandle);
    expect(store.raw.get(bobHandle)).toBeUndefined();
    // bob's old id is dead: it cannot serve the anonymous session that follows.
    expect((await sessions.read(cookieFrom(rekeyed))).invalidReason).toBe("not-found");
    const anonymous = await sessions.read(cookieFrom(signedOut));
    expect(anonymous.userId).toBeNull();
    expect(anonymous.get("theme")).toBe("dark");
    expect(await sessions.listUser("bob")).toEqual([]);
  });

  it("draws the id again when userId is set after regenerate", async () => {
    const { sessions } = setup();
    const session = await sessions.read(null);
    await session.regenerate();
    session.userId = "ann";
    await sessions.commit(session);
    expect(session.handle!.startsWith(userTag("ann"))).toBe(true);
  });
});
