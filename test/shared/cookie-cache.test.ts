/**
 * The cookie cache: a snapshot in the ticket lets reads skip the store for `maxAge` seconds.
 * What it trades: a sign-out elsewhere or a revocation takes effect within that window.
 */
import { describe, expect, it } from "vitest";
import { createSessions, generateKey } from "../../src/index.ts";
import { Keyring } from "../../src/keyring.ts";
import { newSessionId } from "../../src/session-id.ts";
import { sealTicket } from "../../src/ticket.ts";
import { cookieFrom, setup, signIn } from "./helpers.ts";

type Data = { role: string; cart: string[]; count: number };

describe("cookie cache", () => {
  it("serves reads inside the window with no store call, then asks the store and re-seals", async () => {
    const { sessions, store, clock } = setup<Data>({ cookieCache: { maxAge: 5 }, touchInterval: 60 });
    let cookie = await signIn(sessions, "ann");
    const before = store.total();
    for (let i = 0; i < 10; i++) {
      clock.advance(400);
      const session = await sessions.read(cookie);
      expect(session.userId).toBe("ann");
      expect(session.fromCookieCache).toBe(true);
      expect(await sessions.commit(session)).toBeNull();
    }
    expect(store.total()).toBe(before);

    clock.advance(1_001);
    const late = await sessions.read(cookie);
    expect(late.fromCookieCache).toBe(false);
    expect(store.total()).toBe(before + 1);
    const fresh = await sessions.commit(late);
    expect(fresh).not.toBeNull();
    cookie = cookieFrom(fresh);
    expect((await sessions.read(cookie)).fromCookieCache).toBe(true);
    expect(store.total()).toBe(before + 1);
  });

  it("bounds a revocation by the window, and honours it right after", async () => {
    const { sessions, clock } = setup<Data>({ cookieCache: { maxAge: 5 } });
    const cookie = await signIn(sessions, "ann");
    await sessions.revokeUser("ann");
    clock.advance(4_999);
    expect((await sessions.read(cookie)).userId).toBe("ann");
    clock.advance(1);
    const after = await sessions.read(cookie);
    expect(after.userId).toBeNull();
    expect(after.invalidReason).toBe("not-found");
  });

  it("keeps the window's bound across a key rotation: a re-sealed snapshot ends when the old one did", async () => {
    const first = setup<Data>({ cookieCache: { maxAge: 5 } });
    const oldKey = first.keys;
    const cookie = await signIn(first.sessions, "ann");
    await first.sessions.revokeUser("ann");
    // A new key in front: each read of the old ticket is re-sealed under it, from the snapshot.
    const rotated = setup<Data>({ cookieCache: { maxAge: 5 }, keys: `${generateKey("k2")},${oldKey}`, store: first.store, clock: first.clock });
    first.clock.advance(3_000);
    const before = first.store.total();
    const served = await rotated.sessions.read(cookie);
    expect(served.userId).toBe("ann");
    const resealed = cookieFrom(await rotated.sessions.commit(served));
    expect(first.store.total()).toBe(before);
    first.clock.advance(1_999);
    expect((await rotated.sessions.read(resealed)).userId).toBe("ann");
    first.clock.advance(1);
    // 5 s after the snapshot was first sealed, the revocation shows, re-seal or not.
    const after = await rotated.sessions.read(resealed);
    expect(after.userId).toBeNull();
    expect(after.invalidReason).toBe("not-found");
  });

  it("is opened by another instance with the same keys, still without a store call", async () => {
    const a = setup<Data>({ cookieCache: true });
    const cookie = await signIn(a.sessions, "ann");
    const b = setup<Data>({ cookieCache: true, keys: a.keys, store: a.store, clock: a.clock });
    const before = a.store.total();
    expect((await b.sessions.read(cookie)).userId).toBe("ann");
    expect(a.store.total()).toBe(before);
  });

  it("writes from a snapshot with compare-and-set, and carries the new data in the next ticket", async () => {
    const { sessions } = setup<Data>({ cookieCache: { maxAge: 5 } });
    const cookie = await signIn(sessions, "ann");
    const [one, two] = await Promise.all([sessions.read(cookie), sessions.read(cookie)]);
    one!.update("count", (n = 0) => n + 1);
    two!.update("count", (n = 0) => n + 1);
    await sessions.commit(one!);
    const latest = cookieFrom(await sessions.commit(two!));
    const after = await sessions.read(latest);
    expect(after.fromCookieCache).toBe(true);
    expect(after.get("count")).toBe(2);
  });

  it("carries only what include picks, and a write from it keeps the keys it left out", async () => {
    const { sessions, store } = setup<Data>({ cookieCache: { include: (data) => ({ role: data.role }) } });
    const first = await sessions.read(null);
    first.userId = "ann";
    first.set("role", "admin");
    first.set("cart", ["tea", "cake"]);
    const cookie = cookieFrom(await sessions.commit(first));
    const cached = await sessions.read(cookie);
    expect(cached.fromCookieCache).toBe(true);
    expect(cached.get("role")).toBe("admin");
    expect(cached.get("cart")).toBeUndefined();
    cached.update("count", (n = 0) => n + 1);
    const next = cookieFrom(await sessions.commit(cached));
    const stored = JSON.parse(store.raw.get(cached.handle!)!.json);
    expect(stored.data).toEqual({ role: "admin", cart: ["tea", "cake"], count: 1 });
    expect((await sessions.read(next)).get("role")).toBe("admin");
  });

  it("leaves the snapshot out when it would make the cookie too large", async () => {
    const { sessions, store } = setup<Record<string, unknown>>({ cookieCache: true });
    const session = await sessions.read(null);
    session.set("blob", "x".repeat(5_000));
    const setCookie = await sessions.commit(session);
    expect(cookieFrom(setCookie).length).toBeLessThan(4096);
    const before = store.total();
    const again = await sessions.read(cookieFrom(setCookie));
    expect(again.get("blob")).toHaveLength(5_000);
    expect(again.fromCookieCache).toBe(false);
    expect(store.total()).toBe(before + 1);
  });

  it("is off by default: every read asks the store", async () => {
    const { sessions, store } = setup<Data>();
    const cookie = await signIn(sessions, "ann");
    const before = store.total();
    await sessions.read(cookie);
    await sessions.read(cookie);
    expect(store.total()).toBe(before + 2);
  });

  it("refuses a window longer than the touch interval", () => {
    const { store, keys } = setup();
    expect(() => createSessions({ store, keys, touchInterval: 10, cookieCache: { maxAge: 30 } })).toThrow(/at most touchInterval/);
    expect(() => createSessions({ store, keys, cookieCache: { maxAgee: 3 } as never })).toThrow(/unknown option cookieCache.maxAgee/);
  });

  it("refuses a window over five minutes unless the delay is accepted by name", () => {
    const { store, keys } = setup();
    const long = { idleTimeout: 86_400, touchInterval: 3_600 };
    expect(() => createSessions({ store, keys, ...long, cookieCache: { maxAge: 3_600 } })).toThrow(/cookieCache.maxAge \(3600 s\) is above 300 s.*acceptRevocationDelay: true/);
    expect(() => createSessions({ store, keys, ...long, cookieCache: { maxAge: 300 } })).not.toThrow();
    expect(() => createSessions({ store, keys, ...long, cookieCache: { maxAge: 3_600, acceptRevocationDelay: true } })).not.toThrow();
    expect(() => createSessions({ store, keys, ...long, cookieCache: { maxAge: 30, acceptRevocationDelay: "yes" as never } })).toThrow(/acceptRevocationDelay must be true or false/);
  });
});

describe("cookie cache: a snapshot shares nothing and is trusted no longer than the reader says", () => {
  type Prefs = { prefs: { role: string }; count: number };

  it("does not let a change made without set reach the next request", async () => {
    const { sessions } = setup<Prefs>({ cookieCache: { maxAge: 5 } });
    const first = await sessions.read(null);
    first.set("prefs", { role: "user" });
    const cookie = cookieFrom(await sessions.commit(first));
    const served = await sessions.read(cookie);
    expect(served.fromCookieCache).toBe(true);
    served.get("prefs")!.role = "admin"; // no set: nothing to save
    expect(await sessions.commit(served)).toBeNull();
    expect((await sessions.read(cookie)).get("prefs")).toEqual({ role: "user" });
  });

  it("does not let a change after commit reach later reads that never saved it", async () => {
    const { sessions } = setup<Prefs>({ cookieCache: { maxAge: 5 } });
    const first = await sessions.read(null);
    first.set("prefs", { role: "user" });
    const cookie = cookieFrom(await sessions.commit(first));
    first.get("prefs")!.role = "admin";
    first.set("count", 99);
    const next = await sessions.read(cookie);
    expect(next.fromCookieCache).toBe(true);
    expect(next.toJSON()).toEqual({ prefs: { role: "user" } });
  });

  it("gives parallel requests served from one snapshot data of their own", async () => {
    const { sessions } = setup<Prefs>({ cookieCache: { maxAge: 5, include: (data) => ({ prefs: data.prefs }) } });
    const first = await sessions.read(null);
    first.set("prefs", { role: "user" });
    const cookie = cookieFrom(await sessions.commit(first));
    const [a, b] = await Promise.all([sessions.read(cookie), sessions.read(cookie)]);
    a.get("prefs")!.role = "admin";
    expect(b.get("prefs")).toEqual({ role: "user" });
  });

  it("bounds a snapshot sealed by an instance with a longer window by the reader's own maxAge", async () => {
    const long = setup<Prefs>({ cookieCache: { maxAge: 300 }, touchInterval: 300 });
    const cookie = await signIn(long.sessions, "ann");
    const short = setup<Prefs>({ cookieCache: { maxAge: 5 }, keys: long.keys, store: long.store, clock: long.clock });
    await long.sessions.revokeUser("ann");
    long.clock.advance(4_000);
    expect((await short.sessions.read(cookie)).fromCookieCache).toBe(true);
    long.clock.advance(3_000); // 7 s: inside the sealer's 300 s, past the reader's 5 s and its skew allowance
    const after = await short.sessions.read(cookie);
    expect(after.fromCookieCache).toBe(false);
    expect(after.userId).toBeNull();
    expect(after.invalidReason).toBe("not-found");
    expect((await long.sessions.read(cookie)).userId).toBe("ann"); // the sealer's own window, as configured
  });

  it("trusts a snapshot minted with the key for ten years for the reader's window only", async () => {
    const { sessions, keys, clock, store } = setup<Prefs>({ cookieCache: { maxAge: 5 } });
    const now = clock();
    const ten = 10 * 365 * 86_400_000;
    const mint = async (at: number) => {
      const ticket = await sealTicket(
        {
          sid: newSessionId("mallory"),
          exp: Math.ceil((now + ten) / 1000),
          snapshot: { userId: "mallory", version: 1, data: { role: "admin" }, complete: true, createdAt: now, absoluteExpiresAt: now + ten, idleTimeout: ten, at, validUntil: now + ten },
        },
        new Keyring(keys).sealingKey(now)!,
      );
      return `__Host-session=${ticket}`;
    };
    const minted = await mint(now);
    expect((await sessions.read(minted)).userId).toBe("mallory"); // the key authenticates: see the README
    clock.advance(7_000);
    const before = store.total();
    const later = await sessions.read(minted);
    expect(later.userId).toBeNull();
    expect(store.total()).toBe(before + 1);
    // One dated in the future, past the skew allowance, is not trusted at all.
    const ahead = await sessions.read(await mint(clock() + 60_000));
    expect(ahead.fromCookieCache).toBe(false);
    expect(ahead.userId).toBeNull();
  });
});
