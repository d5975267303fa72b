/**
 * `renew`: rotating ids with reuse detection, on the memory store with a manual clock (no
 * sleeping). Parallel requests across a renewal trip nothing and lose nothing; a replay after
 * the grace raises `ticket-reused`; the normal path costs no extra store call.
 */
import { describe, expect, it } from "vitest";
import type { SessionEvent } from "../../src/index.ts";
import { cookieFrom, setup, signIn } from "./helpers.ts";

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

  it("treats an id retired by regenerate the same way", async () => {
    const { sessions, clock, events } = setup<Data>({ renew });
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
    const replay = await sessions.read(before);
    expect(replay.invalidReason).toBe("reused");
    expect(ofType(events, "ticket-reused")[0]).toMatchObject({ live: true, userId: null });
    expect((await sessions.read(signedIn)).userId).toBe("bob");
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
