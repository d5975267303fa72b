/**
 * revokeUser against sign-ins that race it, through createSessions, for any Redis deployment:
 * "a session created before revokeUser returns does not survive it" (issue 3), in the precise
 * form the store documents (adapters/redis/store.ts, `revokeUser`): once revokeUser returns, a
 * session of the user is alive exactly when it was issued (its creating write stamped) no
 * earlier than the revocation mark T (ms), and T is taken after the first of the revocation's
 * two scripts returned.
 */
import type { Cluster, Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { IoredisStore } from "../../adapters/ioredis/index.ts";
import { createSessions, generateKey } from "../../src/index.ts";
import type { SessionRecord, SessionStore } from "../../src/store.ts";
import { cookieFrom } from "../shared/helpers.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The store, with the stamp of every create remembered by handle, and creates that can be held back. */
function watched(store: IoredisStore) {
  const issuedAt = new Map<string, number>();
  let gate: Promise<void> | undefined;
  let arrived: () => void = () => {};
  const wrapped: SessionStore = new Proxy(store, {
    get(target, property, receiver) {
      if (property !== "write") return Reflect.get(target, property, receiver);
      return async (handle: string, record: SessionRecord, expected: number) => {
        if (expected === 0) {
          issuedAt.set(handle, record.lastSeenAt);
          if (gate) {
            arrived();
            await gate;
          }
        }
        return target.write(handle, record, expected);
      };
    },
  });
  return {
    store: wrapped,
    issuedAt,
    /** Holds every create from now on until the returned release is called; `reached` resolves when one is held. */
    hold() {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      const reached = new Promise<void>((resolve) => (arrived = resolve));
      return {
        reached,
        release: () => {
          gate = undefined;
          release();
        },
      };
    },
  };
}

export function describeRevokeRaces(label: string, target: () => { client: Redis | Cluster; store: () => IoredisStore }): void {
  describe(`revokeUser racing sign-ins: ${label}`, () => {
    it("ends a sign-in stamped before the revocation whose write lands after it", async () => {
      const { client, store: makeStore } = target();
      const base = makeStore();
      const { store, hold } = watched(base);
      const sessions = createSessions({ store, keys: generateKey("k1") });
      const user = `late-${Math.random()}`;
      const signIn = async () => {
        const session = await sessions.read(null);
        session.userId = user;
        session.set("n", 1);
        return cookieFrom(await sessions.commit(session));
      };

      const kept = await signIn();
      const held = hold();
      const late = signIn();
      await held.reached; // it is stamped, its write not sent
      await sleep(2); // stamped in an earlier millisecond than the revocation's mark
      const revoked = await sessions.revokeUser(user);
      held.release();
      const lateCookie = await late; // the write is accepted, and revoked on arrival

      expect(revoked).toBe(1);
      expect((await sessions.read(kept)).isNew).toBe(true);
      expect((await sessions.read(lateCookie)).isNew).toBe(true);
      expect(await sessions.listUser(user)).toEqual([]);
      // The mark is a key of the user's slot, and it expires.
      expect(Number(await client.pttl(base.keys.revocation(user)))).toBeGreaterThan(0);

      // A sign-in after revokeUser returned is not touched by the mark.
      const after = await signIn();
      expect((await sessions.read(after)).get("n")).toBe(1);
    });

    it("keeps the spared session signed in when it regenerates right after (a password change)", async () => {
      const { store: makeStore } = target();
      const sessions = createSessions({ store: makeStore(), keys: generateKey("k1") });
      const user = `spared-${Math.random()}`;
      const signIn = async () => {
        const session = await sessions.read(null);
        session.userId = user;
        return cookieFrom(await sessions.commit(session));
      };
      const [mine, other] = [await signIn(), await signIn()];
      const current = await sessions.read(mine);
      expect(await sessions.revokeUser(user, { except: current })).toBe(1);
      // The new id keeps the old createdAt (the absolute lifetime carries over), so the mark
      // must judge it by when it was issued, which is now.
      await current.regenerate();
      current.set("after", true);
      const renewed = cookieFrom(await sessions.commit(current));
      const again = await sessions.read(renewed);
      expect(again.userId).toBe(user);
      expect(again.get("after")).toBe(true);
      expect((await sessions.read(other)).isNew).toBe(true);
      expect((await sessions.listUser(user)).map((s) => s.handle)).toEqual([again.handle]);
    });

    it("leaves alive exactly the sessions issued after the mark, with many sign-ins racing", async () => {
      const { client, store: makeStore } = target();
      const base = makeStore();
      const { store, issuedAt } = watched(base);
      const sessions = createSessions({ store, keys: generateKey("k1") });
      const user = `race-${Math.random()}`;
      const handles: string[] = [];
      let stop = false;
      // Sign-ins keep arriving before, during and after the revocation.
      const signingIn = Array.from({ length: 8 }, async () => {
        while (!stop) {
          const session = await sessions.read(null);
          session.userId = user;
          await sessions.commit(session);
          handles.push(session.handle!);
        }
      });
      await sleep(30);
      const revoked = await sessions.revokeUser(user);
      await sleep(30);
      stop = true;
      await Promise.all(signingIn);

      const mark = Number(await client.hget(base.keys.revocation(user), "at"));
      expect(mark).toBeGreaterThan(0);
      let before = 0;
      let afterMark = 0;
      for (const handle of handles) {
        const stamped = issuedAt.get(handle)!;
        const alive = (await base.read(handle)) !== null;
        expect({ handle, alive }).toEqual({ handle, alive: stamped >= mark });
        if (stamped >= mark) afterMark++;
        else before++;
      }
      // The race really happened on both sides of the mark.
      expect(before).toBeGreaterThan(0);
      expect(afterMark).toBeGreaterThan(0);
      expect(revoked).toBeGreaterThan(0);
    });
  });
}
