/**
 * The `adopt` hook of the core (src/adopt.ts), with an adopter over a Map standing in for a
 * legacy library's store: the rules every adopter gets. express-session's adopter on real
 * Redis and Postgres is test/express/adopt-express-session.test.ts.
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { adoptLegacySessions, type LegacyCookieCheck, type SessionAdopter } from "../../src/adopt.ts";
import { withSession, type SessionAdoption } from "../../src/index.ts";
import { sessionMiddleware, type SessionEnv } from "../../src/integrations/hono.ts";
import { cookieFrom, setup } from "./helpers.ts";

type Data = { cart: string[] };
const CLEAR = "legacy=; Max-Age=0; Path=/";

/** Cookies "legacy=good.<id>" verify; "legacy=bad.<id>" are forged; anything else is malformed. */
type LegacyRecord = { cart: string[]; user?: string; expiresAt?: number };

function mapAdopter(records: Map<string, LegacyRecord>) {
  const calls = { read: 0, remove: 0 };
  let failRemove = false;
  const adopter: SessionAdopter = {
    name: "legacy",
    cookieName: "legacy",
    clearCookie: CLEAR,
    verify(value): LegacyCookieCheck {
      const [kind, id] = value.split(".");
      if (kind === "bad") return { ok: false, reason: "forged" };
      if (kind !== "good" || !id) return { ok: false, reason: "malformed" };
      return { ok: true, id, seed: `seed-${id}-${"x".repeat(43)}` };
    },
    async read(id) {
      calls.read++;
      const found = records.get(id);
      if (!found) return null;
      return { data: { cart: found.cart }, userId: found.user ?? null, expiresAt: found.expiresAt ?? null };
    },
    async remove(id) {
      calls.remove++;
      if (failRemove) throw new Error("ECONNRESET");
      records.delete(id);
    },
  };
  return { adopter, calls, failRemove: (on: boolean) => void (failRemove = on) };
}

function world(options: Parameters<typeof setup>[0] = {}) {
  const records = new Map<string, LegacyRecord>([["s1", { cart: ["tea"], user: "ada" }]]);
  const legacy = mapAdopter(records);
  const base = setup<Data>({ adopt: adoptLegacySessions(legacy.adopter), ...options });
  // A second instance of the application on the same store (and the same legacy store).
  const other = setup<Data>({ adopt: adoptLegacySessions(legacy.adopter), ...options, store: base.store, keys: base.keys, clock: base.clock });
  return { ...base, other: other.sessions, records, legacy };
}

describe("adopting a legacy session", () => {
  it("moves data and user into a new session, deletes the legacy record, clears the legacy cookie", async () => {
    const { sessions, records, events, store } = world();
    const session = await sessions.read("legacy=good.s1");
    expect(session.userId).toBe("ada");
    expect(session.get("cart")).toEqual(["tea"]);
    expect(records.has("s1")).toBe(false);
    const cookies = await sessions.commitCookies(session);
    expect(cookies).toEqual([expect.stringMatching(/^__Host-session=/), CLEAR]);
    expect(events).toContainEqual({ type: "adopted", handle: session.handle, from: "legacy" });
    const again = await sessions.read(cookies[0]!.split(";")[0]!);
    expect([again.userId, again.get("cart"), again.handle]).toEqual(["ada", ["tea"], session.handle]);
    expect(await store.listUser("ada")).toHaveLength(1);
  });

  it("reads forged and malformed legacy cookies as no session, with no store call", async () => {
    const { sessions, store, legacy } = world();
    for (const [cookie, reason] of [["legacy=bad.s1", "forged"], ["legacy=s1", "malformed"]] as const) {
      const session = await sessions.read(cookie);
      expect([session.invalidReason, session.userId]).toEqual([reason, null]);
      expect(await sessions.commitCookies(session)).toEqual([CLEAR]);
    }
    expect(store.total()).toBe(0);
    expect(legacy.calls).toEqual({ read: 0, remove: 0 });
  });

  it("reads an expired legacy session as expired", async () => {
    const { sessions, records, clock } = world();
    records.set("old", { cart: [], user: "bob", expiresAt: clock() - 1 });
    expect((await sessions.read("legacy=good.old")).invalidReason).toBe("expired");
  });

  it("gives parallel requests on two instances one session", async () => {
    const { sessions, other, store } = world();
    const read = await Promise.all([sessions, other, sessions, other].map((s) => s.read("legacy=good.s1")));
    expect(new Set(read.map((s) => s.handle)).size).toBe(1);
    read[0]!.update("cart", (cart = []) => [...cart, "milk"]);
    read[1]!.update("cart", (cart = []) => [...cart, "jam"]);
    await Promise.all([sessions.commitCookies(read[0]!), other.commitCookies(read[1]!)]);
    expect(await store.listUser("ada")).toHaveLength(1);
    const [only] = await store.listUser("ada");
    expect([...(only!.record.data.cart as string[])].sort()).toEqual(["jam", "milk", "tea"]);
  });

  it("lets a request still carrying the legacy cookie join for a minute, then reads it as gone", async () => {
    const { sessions, other, clock, store } = world();
    const first = await sessions.read("legacy=good.s1");
    await sessions.commitCookies(first);
    clock.advance(30_000);
    const late = await other.read("legacy=good.s1");
    expect([late.handle, late.userId]).toEqual([first.handle, "ada"]);
    expect(await other.commitCookies(late)).toEqual([expect.stringMatching(/^__Host-session=/), CLEAR]);
    clock.advance(31_000);
    const after = await other.read("legacy=good.s1");
    expect([after.invalidReason, after.userId]).toEqual(["not-found", null]);
    expect(await store.listUser("ada")).toHaveLength(1);
  });

  it("does not bring back a session signed out while the legacy cookie could still join", async () => {
    const { sessions } = world();
    const first = await sessions.read("legacy=good.s1");
    first.destroy();
    await sessions.commitCookies(first);
    const late = await sessions.read("legacy=good.s1");
    expect([late.invalidReason, late.userId]).toEqual(["not-found", null]);
  });

  it("fails the request when the legacy record cannot be deleted, and adopts on the retry", async () => {
    const { sessions, legacy, records, store } = world();
    const fetch = withSession(sessions, async (_request, session) => Response.json({ user: session.userId }));
    legacy.failRemove(true);
    const refused = await fetch(new Request("https://app.test/", { headers: { cookie: "legacy=good.s1" } }));
    expect(refused.status).toBe(503);
    expect(refused.headers.getSetCookie()).toEqual([]);
    expect(records.has("s1")).toBe(true);
    legacy.failRemove(false);
    const served = await fetch(new Request("https://app.test/", { headers: { cookie: "legacy=good.s1" } }));
    expect(await served.json()).toEqual({ user: "ada" });
    expect(served.headers.getSetCookie()).toEqual([expect.stringMatching(/^__Host-session=/), CLEAR]);
    expect(await store.listUser("ada")).toHaveLength(1);
  });

  it("reads a legacy session the adopter refuses as corrupt: a 200 with no session, the legacy cookie cleared, the reason in the event", async () => {
    const { adopter, calls } = mapAdopter(new Map());
    const refused = "adoptExpressSession userIdOf threw (TypeError) on a legacy session; make it return null for a session without a user.";
    const { sessions, events, store } = setup<Data>({ adopt: adoptLegacySessions({ ...adopter, read: async () => ({ refused }) }) });
    const fetch = withSession(sessions, async (_request, session) => Response.json({ user: session.userId, invalid: session.invalidReason }));
    const response = await fetch(new Request("https://app.test/", { headers: { cookie: "legacy=good.s1" } }));
    expect([response.status, await response.json()]).toEqual([200, { user: null, invalid: "corrupt" }]);
    expect(response.headers.getSetCookie()).toEqual([CLEAR]);
    expect(events.filter((event) => event.type === "invalid")).toEqual([{ type: "invalid", reason: "corrupt", detail: refused }]);
    expect(events.some((event) => event.type === "store-error")).toBe(false);
    expect([store.total(), calls.remove]).toEqual([0, 0]);
  });

  it("works behind Hono: both cookies on the response", async () => {
    const { sessions } = world();
    const app = new Hono<SessionEnv<Data>>();
    app.use(sessionMiddleware(sessions));
    app.get("/", (c) => c.json({ user: c.get("session").userId }));
    const response = await app.request("/", { headers: { cookie: "legacy=good.s1" } });
    expect(await response.json()).toEqual({ user: "ada" });
    expect(response.headers.getSetCookie()).toEqual([expect.stringMatching(/^__Host-session=/), CLEAR]);
  });

  it("is refused at start-up when it reads cloakroom's own cookie", () => {
    const { adopter } = mapAdopter(new Map());
    expect(() => setup({ adopt: adoptLegacySessions({ ...adopter, cookieName: "__Host-session" }) })).toThrow(/cloakroom's own cookie.name/);
    expect(() => setup({ adopt: {} as SessionAdoption })).toThrow(/adopt must be an adoption/);
    expect(() => adoptLegacySessions({} as SessionAdopter)).toThrow(/needs an adopter/);
  });
});

describe("adopting with renew on: the adopted id is retired like any (store rule 10)", () => {
  const renew = { every: 10, grace: 5 };

  it("does not renew on the adopting response, so requests still carrying the legacy cookie join the session", async () => {
    const { sessions, other, clock, events } = world({ renew });
    const first = await sessions.read("legacy=good.s1");
    const [ticket] = await sessions.commitCookies(first);
    expect(events.filter((event) => event.type === "renewed")).toEqual([]);
    expect((await sessions.read(cookieFrom(ticket!))).handle).toBe(first.handle);
    clock.advance(500);
    const late = await other.read("legacy=good.s1");
    expect([late.handle, late.userId, late.get("cart")]).toEqual([first.handle, "ada", ["tea"]]);
  });

  it("reads a legacy cookie as no session after a sign-out through the new ticket", async () => {
    const { sessions, clock } = world({ renew });
    const first = await sessions.read("legacy=good.s1");
    const [ticket] = await sessions.commitCookies(first);
    clock.advance(1000);
    const signedIn = await sessions.read(cookieFrom(ticket!));
    signedIn.destroy();
    await sessions.commitCookies(signedIn);
    clock.advance(1000);
    const late = await sessions.read("legacy=good.s1");
    expect([late.invalidReason, late.userId, late.get("cart")]).toEqual(["not-found", null, undefined]);
  });

  it("follows renewals of the adopted id to the live session, which the joining request changes without setting a ticket", async () => {
    const { sessions, other, clock, store } = world({ renew });
    const first = await sessions.read("legacy=good.s1");
    const [ticket] = await sessions.commitCookies(first);
    clock.advance(11_000);
    const renewing = await sessions.read(cookieFrom(ticket!));
    const [renewed] = await sessions.commitCookies(renewing);
    expect(renewing.handle).not.toBe(first.handle);
    clock.advance(1000);
    const late = await other.read("legacy=good.s1");
    expect([late.handle, late.userId, late.get("cart")]).toEqual([renewing.handle, "ada", ["tea"]]);
    late.update("cart", (cart = []) => [...cart, "jam"]);
    expect(await other.commitCookies(late)).toEqual([CLEAR]);
    expect((await sessions.read(cookieFrom(renewed!))).get("cart")).toEqual(["tea", "jam"]);
    expect(await store.listUser("ada")).toHaveLength(1);
  });

  it("reads a legacy cookie as no session once the adopted id was regenerated (a sign-out, a sign-in)", async () => {
    for (const next of [null, "bob"]) {
      const { sessions, clock } = world({ renew });
      const first = await sessions.read("legacy=good.s1");
      const [ticket] = await sessions.commitCookies(first);
      const signingOut = await sessions.read(cookieFrom(ticket!));
      signingOut.userId = next;
      await sessions.commitCookies(signingOut);
      clock.advance(1000);
      const late = await sessions.read("legacy=good.s1");
      expect([late.invalidReason, late.userId, late.get("cart")], String(next)).toEqual(["not-found", null, undefined]);
    }
  });

  it("never takes a marker for the session when the legacy record is read back after its deletion (a lagging replica)", async () => {
    const records = new Map<string, LegacyRecord>([["s1", { cart: ["tea"], user: "ada" }]]);
    const { adopter } = mapAdopter(records);
    const { sessions } = setup<Data>({ renew, adopt: adoptLegacySessions({ ...adopter, remove: async () => {} }) });
    const first = await sessions.read("legacy=good.s1");
    const [ticket] = await sessions.commitCookies(first);
    const signingOut = await sessions.read(cookieFrom(ticket!));
    signingOut.userId = null;
    await sessions.commitCookies(signingOut);
    expect(records.has("s1")).toBe(true);
    const late = await sessions.read("legacy=good.s1");
    expect([late.invalidReason, late.userId, late.get("cart")]).toEqual(["not-found", null, undefined]);
  });
});
