/**
 * `renew`: rotating ids with reuse detection, on the memory store with a manual clock (no
 * sleeping). Parallel requests across a renewal trip nothing and lose nothing; a replay after
 * the grace raises `ticket-reused`; the normal path costs no extra store call. A chain of
 * retired ids is never followed into another user's session, and a sign-out racing a renewal
 * ends the renewed session too.
 */
import { describe, expect, it } from "vitest";
import { memoryStore } from "../../adapters/memory/index.ts";
import { createSessions, generateKey, type SessionEvent } from "../../src/index.ts";
import type { SessionRecord, SessionStore } from "../../src/store.ts";
import { cookieFrom, manualClock, setup, signIn } from "./helpers.ts";

type Data = { count: number; theme: string };
const renew = { every: 60, grace: 5 };

const ofType = <T extends SessionEvent["type"]>(events: SessionEvent[], type: T) =>
  events.filter((event): event is Extract<SessionEvent, { type: T }> => event.type === type);

describe("renew: rotating ids", () => {
  it("costs one store call per read, and one create plus one compare-and-set per renewal", async () => {
    const { sessions, store, clock, events } = setup<Data>({ renew });
    const cookie = await signIn(sessions, "ann");
    store.calls.read = store.calls.write = 0;

    // Inside `every`: a live ticket's read is one call, and a read-only response sets nothing.
    clock.advance(30_000);
    const before = store.total();
    const quiet = await sessions.read(cookie);
    expect(await sessions.commit(quiet)).toBeNull();
    expect(store.total() - before).toBe(1);

    // Past `every`: the same response renews.
    clock.advance(31_000);
    const due = store.total();
    const session = await sessions.read(cookie);
    const setCookie = await sessions.commit(session);
    expect(setCookie).toMatch(/^__Host-session=/);
    expect(store.total() - due).toBe(3); // the read, the successor's create, the marker's compare-and-set
    expect(store.calls).toMatchObject({ read: 2, write: 2 });
    const renewed = ofType(events, "renewed");
    expect(renewed).toHaveLength(1);
    expect(session.handle).toBe(renewed[0]!.handle);

    // The new ticket reads in one call again, under the same user, and is not due.
    const next = store.total();
    const after = await sessions.read(cookieFrom(setCookie));
    expect(after.userId).toBe("ann");
    expect(await sessions.commit(after)).toBeNull();
    expect(store.total() - next).toBe(1);
    expect(await sessions.listUser("ann")).toHaveLength(1);
  });

  it("serves parallel requests that carry the old ticket within the grace, and keeps their writes", async () => {
    const { sessions, clock, events } = setup<Data>({ renew });
    const old = await signIn(sessions, "ann");
    clock.advance(61_000);
    // Three requests in flight with the old ticket; the first to commit renews.
    const [first, second, third] = await Promise.all([sessions.read(old), sessions.read(old), sessions.read(old)]);
    first!.set("theme", "dark");
    const fresh = cookieFrom(await sessions.commit(first!));
    second!.update("count", (n = 0) => n + 1);
    // It lost its compare-and-set to the renewal and follows the marker: no cookie of its own.
    expect(await sessions.commit(second!)).toBeNull();
    clock.advance(2_000);
    // One that starts after the renewal, still with the old ticket, is served from the successor.
    const late = await sessions.read(old);
    expect(late.userId).toBe("ann");
    expect(late.handle).toBe(first!.handle);
    late.update("count", (n = 0) => n + 1);
    expect(await sessions.commit(late)).toBeNull();
    expect(await sessions.commit(third!)).toBeNull();

    const now = await sessions.read(fresh);
    expect(now.toJSON()).toEqual({ theme: "dark", count: 2 });
    expect(ofType(events, "ticket-reused")).toEqual([]);
    expect(ofType(events, "renewed")).toHaveLength(1);
    expect((await sessions.listUser("ann")).map((s) => s.handle)).toEqual([now.handle]);
  });

  it("reads a retired ticket after the grace as reuse, naming the live successor", async () => {
    const { sessions, clock, events } = setup<Data>({ renew });
    const old = await signIn(sessions, "ann");
    clock.advance(61_000);
    const session = await sessions.read(old);
    const fresh = cookieFrom(await sessions.commit(session));
    clock.advance(5_000);

    const replay = await sessions.read(old);
    expect(replay.userId).toBeNull();
    expect(replay.invalidReason).toBe("reused");
    // The stale cookie is cleared on that response.
    expect(await sessions.commit(replay)).toMatch(/^__Host-session=; Max-Age=0/);
    expect(ofType(events, "ticket-reused")).toEqual([
      { type: "ticket-reused", handle: expect.any(String), successor: session.handle, live: true, userId: "ann", revoked: false },
    ]);
    // "event" mode: the holder of the new ticket goes on.
    expect((await sessions.read(fresh)).userId).toBe("ann");
  });

  it("with onReuse: revoke, ends the successor too, following the chain to the live end", async () => {
    const { sessions, clock, events } = setup<Data>({ renew: { ...renew, onReuse: "revoke" } });
    const stolen = await signIn(sessions, "ann");
    let cookie = stolen;
    for (let i = 0; i < 3; i++) {
      clock.advance(61_000);
      cookie = cookieFrom(await sessions.commit(await sessions.read(cookie)));
    }
    const live = await sessions.read(cookie);
    const reused = await sessions.read(stolen);
    expect(reused.invalidReason).toBe("reused");
    expect(ofType(events, "ticket-reused")[0]).toMatchObject({ successor: live.handle, live: true, revoked: true });
    expect((await sessions.read(cookie)).userId).toBeNull();
    expect(await sessions.listUser("ann")).toEqual([]);
  });

  it("treats an id retired by regenerate the same way, but never follows it to another user", async () => {
    const { sessions, clock, events } = setup<Data>({ renew: { ...renew, onReuse: "revoke" } });
    const anonymous = await sessions.read(null);
    anonymous.set("theme", "dark");
    const before = cookieFrom(await sessions.commit(anonymous));
    const signedIn = await signIn(sessions, "bob", before);
    clock.advance(3_000);
    // Within the grace: not reuse, and never bob's new session (that would undo what a new id at sign-in is for).
    const inFlight = await sessions.read(before);
    expect([inFlight.userId, inFlight.invalidReason]).toEqual([null, "not-found"]);
    expect(ofType(events, "ticket-reused")).toEqual([]);
    clock.advance(3_000);
    // After it: reuse, but the sign-in left the anonymous session no successor, so bob's is
    // neither named nor ended (whoever planted the id could otherwise sign bob out).
    const replay = await sessions.read(before);
    expect(replay.invalidReason).toBe("reused");
    expect(ofType(events, "ticket-reused")).toEqual([
      { type: "ticket-reused", handle: expect.any(String), successor: null, live: false, userId: null, revoked: false },
    ]);
    expect((await sessions.read(signedIn)).userId).toBe("bob");

    // A regenerate that keeps the user (a privilege change) is followed: a copy from before it is still ann's.
    const stolen = await signIn(sessions, "ann");
    const current = await sessions.read(stolen);
    current.regenerate();
    const elevated = cookieFrom(await sessions.commit(current));
    clock.advance(6_000);
    expect((await sessions.read(stolen)).invalidReason).toBe("reused");
    expect(ofType(events, "ticket-reused")[1]).toMatchObject({ successor: current.handle, live: true, userId: "ann", revoked: true });
    expect((await sessions.read(elevated)).userId).toBeNull();
  });

  it("does not serve a planted id from the session the victim signs into right after its renewal", async () => {
    const { sessions, clock } = setup<Data>({ renew: { every: 60, grace: 30 } });
    // The attacker's anonymous session O, planted in the victim's browser.
    const planted = await sessions.read(null);
    planted.set("theme", "attacker");
    const o = cookieFrom(await sessions.commit(planted));
    clock.advance(61_000);
    const visit = await sessions.read(o); // the victim's first page renews O -> S
    const s = cookieFrom(await sessions.commit(visit));
    clock.advance(10_000);
    const login = await sessions.read(s); // the victim signs in: S -> S2
    login.userId = "ann";
    const signedIn = cookieFrom(await sessions.commit(login));
    clock.advance(5_000);
    // Still inside the renewal's grace, the attacker sends O: not ann's session, and nothing it writes gets there.
    const attacker = await sessions.read(o);
    expect([attacker.userId, attacker.invalidReason]).toEqual([null, "not-found"]);
    attacker.set("theme", "pwned");
    await sessions.commit(attacker);
    const victim = await sessions.read(signedIn);
    expect([victim.userId, victim.get("theme")]).toEqual(["ann", "attacker"]);
  });

  it("does not let an old ticket of a user who signed out end the next user's session", async () => {
    const { sessions, clock, events } = setup<Data>({ renew: { ...renew, onReuse: "revoke" } });
    const old = await signIn(sessions, "ann");
    clock.advance(61_000);
    const renewed = cookieFrom(await sessions.commit(await sessions.read(old)));
    const leaving = await sessions.read(renewed);
    const annSession = leaving.handle;
    leaving.userId = null; // ann signs out: a new anonymous id
    const anonymous = cookieFrom(await sessions.commit(leaving));
    const bob = await signIn(sessions, "bob", anonymous); // bob signs in on the same device
    clock.advance(10_000);
    expect((await sessions.read(old)).invalidReason).toBe("reused");
    expect(ofType(events, "ticket-reused")).toEqual([
      { type: "ticket-reused", handle: expect.any(String), successor: annSession, live: false, userId: "ann", revoked: false },
    ]);
    expect((await sessions.read(bob)).userId).toBe("bob");
    expect(await sessions.listUser("bob")).toHaveLength(1);
  });

  it("ends the renewed session when a sign-out was in flight during the renewal, at one more store call per sign-out", async () => {
    const { sessions, store, clock } = setup<Data>({ renew });
    const cookie = await signIn(sessions, "ann");
    clock.advance(61_000);
    const [page, logout] = await Promise.all([sessions.read(cookie), sessions.read(cookie)]);
    const renewed = cookieFrom(await sessions.commit(page!)); // the old id is a marker now
    logout!.destroy();
    expect(await sessions.commit(logout!)).toMatch(/^__Host-session=; Max-Age=0/);
    // The page's response may reach the browser after the sign-out's: its cookie is dead too.
    expect((await sessions.read(renewed)).userId).toBeNull();
    expect(await sessions.listUser("ann")).toEqual([]);
    expect(store.size).toBe(0);

    // Without a race, a sign-out with renew on is one read and one delete.
    const again = await signIn(sessions, "ann");
    const leaving = await sessions.read(again);
    leaving.destroy();
    const before = { ...store.calls };
    await sessions.commit(leaving);
    expect({ read: store.calls.read! - before.read!, delete: (store.calls.delete ?? 0) - (before.delete ?? 0) }).toEqual({ read: 1, delete: 1 });
    expect(store.size).toBe(0);
  });

  it("drops a write in flight across a sign-in or a sign-out instead of writing it into the session after it", async () => {
    const { sessions } = setup<Data>({ renew });
    const visitor = await sessions.read(null);
    visitor.set("count", 1);
    const anonymous = cookieFrom(await sessions.commit(visitor));
    const [login, stale] = await Promise.all([sessions.read(anonymous), sessions.read(anonymous)]);
    login!.userId = "ann";
    const ann = cookieFrom(await sessions.commit(login!));
    stale!.set("theme", "from-before-sign-in");
    expect(await sessions.commit(stale!)).toBeNull();
    expect((await sessions.read(ann)).toJSON()).toEqual({ count: 1 });

    const [logout, inFlight] = await Promise.all([sessions.read(ann), sessions.read(ann)]);
    logout!.userId = null;
    const signedOut = cookieFrom(await sessions.commit(logout!));
    inFlight!.set("theme", "ann-private");
    expect(await sessions.commit(inFlight!)).toBeNull();
    const after = await sessions.read(signedOut);
    expect([after.userId, after.get("theme")]).toEqual([null, undefined]);
  });

  it("stays on the old id when the marker's write fails, so a session revoked meanwhile stays revoked", async () => {
    const clock = manualClock();
    const inner = memoryStore({ clock });
    let markerFault = false;
    // The store answers the marker's write with a fault (the write did not land).
    const store: SessionStore = Object.create(inner, {
      write: {
        value: (handle: string, record: SessionRecord, expected: number) =>
          markerFault && record.successor !== undefined ? Promise.reject(new Error("connection reset")) : inner.write(handle, record, expected),
      },
    });
    const sessions = createSessions<Data>({ store, keys: generateKey("k1"), clock, renew });
    const cookie = await signIn(sessions, "ann");
    clock.advance(61_000);

    // Revoked between the read and the renewal: the renewal must not hand out a live copy.
    const due = await sessions.read(cookie);
    await sessions.revokeUser("ann");
    markerFault = true;
    expect(await sessions.commit(due)).toBeNull();
    expect(await sessions.listUser("ann")).toEqual([]);
    expect(inner.size).toBe(0);

    // Not revoked: the session goes on under its old id, and a later request renews it.
    const live = await signIn(sessions, "bo");
    clock.advance(61_000);
    expect(await sessions.commit(await sessions.read(live))).toBeNull();
    expect((await sessions.read(live)).userId).toBe("bo");
    markerFault = false;
    const renewed = cookieFrom(await sessions.commit(await sessions.read(live)));
    expect((await sessions.read(renewed)).userId).toBe("bo");
    expect(await sessions.listUser("bo")).toHaveLength(1);
  });

  it("keeps markers out of listUser and ends them with revokeUser", async () => {
    const { sessions, store, clock } = setup<Data>({ renew });
    let cookie = await signIn(sessions, "cy");
    for (let i = 0; i < 2; i++) {
      clock.advance(61_000);
      cookie = cookieFrom(await sessions.commit(await sessions.read(cookie)));
    }
    expect(store.size).toBe(3); // the session and two markers
    expect(await sessions.listUser("cy")).toHaveLength(1);
    expect(await sessions.revokeUser("cy")).toBe(1);
    expect(store.size).toBe(0);
  });

  it("refuses renew on a store that does not keep retired ids", () => {
    const { store } = setup();
    const plain = { name: "plain", read: store.read, write: store.write, delete: store.delete };
    expect(() => setup({ store: plain, renew })).toThrow(/renew needs a store that keeps retired ids/);
    expect(() => setup({ renew: { every: 10, grace: 20 } })).toThrow(/renew.grace/);
    expect(() => setup({ renew: { every: 10, onReuse: "log" as "event" } })).toThrow(/renew.onReuse/);
  });
});
