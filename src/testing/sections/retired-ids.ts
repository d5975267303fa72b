/**
 * Rule 10 of src/store.ts: retired markers (what `renew` and `regenerate` leave under an old id),
 * and the core's renewal on top of the store: parallel requests across a renewal trip nothing,
 * a replay after the grace does.
 */
import { describe, expect, it } from "vitest";
import { generateKey } from "../../keyring.ts";
import { createSessions } from "../../manager.ts";
import type { SessionEvent } from "../../events.ts";
import type { SessionRecord, SessionStore } from "../../store.ts";
import { SLACK_MS, testHandle, testRecord } from "../fixtures.ts";
import type { Capabilities, Suite } from "../suite.ts";

/** A marker as the core writes it over `base`, pointing at `successor`. */
function marker(base: SessionRecord, successor: string, now: number): SessionRecord {
  const { device: _device, ...rest } = base;
  return {
    ...rest,
    data: { retired: "renew" },
    version: base.version + 1,
    lastSeenAt: now,
    expiresAt: base.absoluteExpiresAt,
    successor,
  };
}

export function retiredIds<S extends SessionStore>({ name, withStore, backend }: Suite<S>, capabilities: Capabilities): void {
  describe("retired ids", () => {
    it("declares retiredIds, and keeps successor and device exactly as given", () =>
      withStore(async (store) => {
        expect(store.retiredIds, `${name}.retiredIds`).toBe(true);
        const user = `dev-${testHandle()}`;
        const handle = testHandle(user);
        const device = JSON.stringify({ id: "browser session 1", jwk: { kty: "EC", crv: "P-256", x: "a b", y: "ü" } });
        const live = testRecord({ userId: user, device });
        await store.write(handle, live, 0);
        const read = (await store.read(handle))!.record;
        expect(read).toEqual(live);
        expect("successor" in read).toBe(false);

        const successor = testHandle(user);
        const retired = marker(live, successor, Date.now());
        expect(await store.write(handle, retired, 1)).toBe(true);
        const back = (await store.read(handle))!.record;
        expect(back).toEqual(retired);
        expect("device" in back).toBe(false);
        // A stale writer of the live version loses to the marker (rule 3).
        expect(await store.write(handle, testRecord({ userId: user, version: 2 }), 1)).toBe(false);
      }));

    it("never touches a marker, and keeps it until the absolute expiry", () =>
      withStore(async (store) => {
        const now = Date.now();
        const handle = testHandle();
        const base = testRecord({ lastSeenAt: now - 60_000, expiresAt: now + 60_000, absoluteExpiresAt: now + 3_600_000 });
        await store.write(handle, base, 0);
        const retired = marker(base, testHandle(), now - 30_000);
        await store.write(handle, retired, 1);
        const read = await store.read(handle, { now, interval: 0 });
        expect(read).toEqual({ record: retired, touched: false });
        expect((await store.read(handle, { now: now + 1, interval: 0 }))?.record.lastSeenAt).toBe(now - 30_000);
        if (backend) {
          const expiry = await backend.expiryOf(store, handle);
          expect(Math.abs((expiry as number) - retired.absoluteExpiresAt)).toBeLessThan(SLACK_MS);
        }
      }));

    if (capabilities.userIndex) {
      it("leaves markers out of listUser, and revokeUser ends them without counting them", () =>
        withStore(async (store) => {
          const user = `mark-${testHandle()}`;
          const [old, older, live] = [testHandle(user), testHandle(user), testHandle(user)];
          const now = Date.now();
          for (const handle of [old, older, live]) await store.write(handle, testRecord({ userId: user }), 0);
          await store.write(older, marker(testRecord({ userId: user }), old, now), 1);
          await store.write(old, marker(testRecord({ userId: user }), live, now), 1);
          expect((await store.listUser!(user)).map((s) => s.handle)).toEqual([live]);
          // Sparing the live session still ends the markers.
          expect(await store.revokeUser!(user, { except: live })).toBe(0);
          expect(await store.read(old)).toBeNull();
          expect(await store.read(older)).toBeNull();
          expect(await store.read(live)).not.toBeNull();
          await store.write(old, testRecord({ userId: user }), 0);
          await store.write(old, marker(testRecord({ userId: user }), live, now), 1);
          expect(await store.revokeUser!(user)).toBe(1);
          expect(await store.read(old)).toBeNull();
          expect(await store.read(live)).toBeNull();
        }));
    }

    it("under renew: parallel requests across a renewal trip nothing, a replay after the grace does", () =>
      withStore(async (store) => {
        // The manager's clock runs ahead of the store's by hand: no sleeping through the grace,
        // and every record stays live by the store's own clock.
        let ahead = 0;
        const events: SessionEvent[] = [];
        const sessions = createSessions<{ count: number }>({
          store,
          keys: generateKey("conformance"),
          clock: () => Date.now() + ahead,
          renew: { every: 60, grace: 5, onReuse: "revoke" },
          onEvent: (event) => events.push(event),
        });
        const user = `renew-${testHandle()}`;
        const signedIn = await sessions.read(null);
        signedIn.userId = user;
        const cookieOf = (setCookie: string | null) => setCookie!.split(";")[0]!;
        const old = cookieOf(await sessions.commit(signedIn));

        ahead += 61_000;
        const [renewing, counting, reading] = await Promise.all([sessions.read(old), sessions.read(old), sessions.read(old)]);
        const fresh = cookieOf(await sessions.commit(renewing!));
        counting!.update("count", (n = 0) => n + 1);
        expect(await sessions.commit(counting!)).toBeNull();
        expect(await sessions.commit(reading!)).toBeNull();
        ahead += 2_000;
        const late = await sessions.read(old);
        expect(late.userId).toBe(user);
        late.update("count", (n = 0) => n + 1);
        await sessions.commit(late);

        const current = await sessions.read(fresh);
        expect([current.userId, current.get("count")]).toEqual([user, 2]);
        expect(events.filter((e) => e.type === "ticket-reused")).toEqual([]);
        if (capabilities.userIndex) expect((await sessions.listUser(user)).map((s) => s.handle)).toEqual([current.handle]);

        ahead += 4_000;
        const replay = await sessions.read(old);
        expect(replay.invalidReason).toBe("reused");
        expect(events.filter((e) => e.type === "ticket-reused")).toEqual([
          { type: "ticket-reused", handle: expect.any(String), successor: current.handle, live: true, userId: user, revoked: true },
        ]);
        expect((await sessions.read(fresh)).invalidReason).toBe("not-found");
      }));
  });
}
