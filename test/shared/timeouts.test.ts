import { describe, expect, it } from "vitest";
import { cookieFrom, setup, signIn } from "./helpers.ts";

const second = 1000;
const minute = 60 * second;

describe("timeouts", () => {
  it("ends a session after the idle timeout, enforced by the server", async () => {
    const { sessions, clock, events } = setup({ idleTimeout: 600, absoluteTimeout: 86400 });
    const cookie = await signIn(sessions, "ann");
    clock.advance(599 * second);
    expect((await sessions.read(cookie)).userId).toBe("ann");
    clock.advance(10 * minute + second);
    const session = await sessions.read(cookie);
    expect(session.userId).toBeNull();
    expect(session.invalidReason).toBe("not-found");
    expect(events.slice(-2)).toMatchObject([{ type: "invalid", reason: "not-found" }, { type: "read", outcome: "invalid" }]);
  });

  it("keeps an active session alive by touching it at most once per touch interval", async () => {
    const { sessions, clock, store, events } = setup({ idleTimeout: 600, absoluteTimeout: 86400, touchInterval: 60 });
    const cookie = await signIn(sessions, "ann");
    const handle = (await sessions.read(cookie)).handle!;
    const writesBefore = store.calls.write ?? 0;
    const expiries: number[] = [];
    for (let t = 0; t < 50; t++) {
      clock.advance(10 * second);
      const session = await sessions.read(cookie);
      expect(session.userId).toBe("ann");
      expect(await sessions.commit(session)).toBeNull();
      expiries.push(store.raw.get(handle)!.expiresAt);
    }
    const touches = events.filter((e) => e.type === "touched");
    expect(touches).toHaveLength(8);
    expect(new Set(expiries).size).toBe(9);
    expect(store.calls.write ?? 0).toBe(writesBefore);
    expect(store.calls.read).toBe(1 + 50);
    // The idle window counts from the last touch, so it is at least idleTimeout - touchInterval
    // after the last request and at most idleTimeout.
    clock.advance(540 * second);
    expect((await sessions.read(cookie)).userId).toBe("ann");
    clock.advance(600 * second);
    expect((await sessions.read(cookie)).userId).toBeNull();
  });

  it("ends a session at the absolute timeout, however active", async () => {
    const { sessions, clock } = setup({ idleTimeout: 600, absoluteTimeout: 3600, touchInterval: 60 });
    const cookie = await signIn(sessions, "ann");
    for (let elapsed = 0; elapsed < 3600 - 300; elapsed += 300) {
      clock.advance(300 * second);
      const session = await sessions.read(cookie);
      expect(session.userId).toBe("ann");
      session.update("count" as never, ((n: number | undefined) => (n ?? 0) + 1) as never);
      await sessions.commit(session);
    }
    clock.advance(300 * second);
    const late = await sessions.read(cookie);
    expect(late.userId).toBeNull();
    expect(late.invalidReason).toBe("expired");
  });

  it("puts the absolute expiry in the ticket, so an old ticket is refused before any store call", async () => {
    const { sessions, clock, store } = setup({ idleTimeout: 600, absoluteTimeout: 3600 });
    const cookie = await signIn(sessions, "ann");
    clock.advance(3601 * second);
    const before = store.total();
    const session = await sessions.read(cookie);
    expect(session.invalidReason).toBe("expired");
    expect(store.total()).toBe(before);
  });

  it("honours a per-session override, and re-seals when the absolute expiry moves", async () => {
    const { sessions, clock } = setup({ idleTimeout: 600, absoluteTimeout: 3600 });
    const cookie = await signIn(sessions, "ann");
    const session = await sessions.read(cookie);
    session.setTimeouts({ idleTimeout: 7200, absoluteTimeout: 30 * 86400 });
    const resealed = await sessions.commit(session);
    expect(resealed).toMatch(/Max-Age=2592000;/);
    const longCookie = cookieFrom(resealed);
    expect(session.absoluteExpiresAt! - session.createdAt!).toBe(30 * 86400 * second);
    clock.advance(3000 * second);
    expect((await sessions.read(longCookie)).userId).toBe("ann");
    clock.advance(7100 * second);
    expect((await sessions.read(longCookie)).userId).toBe("ann");
  });

  it("validates per-session overrides", async () => {
    const { sessions } = setup();
    const session = await sessions.read(null);
    expect(() => session.setTimeouts({ idleTimeout: -1 })).toThrow(/idleTimeout must be a positive number/);
    expect(() => session.setTimeouts({ absolute: 5 } as never)).toThrow(/setTimeouts takes idleTimeout and absoluteTimeout/);
  });

  it("sends a browser-session cookie when persistent is false", async () => {
    const { sessions } = setup({ cookie: { persistent: false } });
    const session = await sessions.read(null);
    session.set("a", 1);
    expect(await sessions.commit(session)).not.toMatch(/Max-Age/);
  });
});
