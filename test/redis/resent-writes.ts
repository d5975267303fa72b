/**
 * A write whose reply is lost is sent again by the client: ioredis resends the commands a
 * dropped connection left unanswered once it reconnects, @upstash/redis retries a fetch that
 * failed. Redis ran the first copy; the second must find that work done and report it done, not
 * as a version conflict (the core would replay the session's operations a second time, report
 * a create as refused, or drop a sign-in whose retirement it took as lost).
 *
 * These cases send every write script twice through one runner, so each holds for any client;
 * the test files also cut real connections (lost-replies.test.ts, upstash/lost-replies.test.ts).
 */
import { describe, expect, it } from "vitest";
import { redisSessionStore, type RedisSessionStore } from "../../adapters/redis/store.ts";
import type { ScriptRunner } from "../../adapters/redis/script-runner.ts";
import { createSessions, generateKey } from "../../src/index.ts";
import { testHandle, testRecord } from "cloakroom/testing";
import { cookieFrom } from "../shared/helpers.ts";

/**
 * Runs every write script twice with the same keys and arguments and answers with the second
 * reply; `between`, when set, runs once between the two (what other clients do meanwhile).
 */
export function resendingWrites(runner: ScriptRunner) {
  const wrapped = {
    resent: 0,
    between: undefined as (() => Promise<unknown>) | undefined,
    ping: () => runner.ping(),
    async run(script: Parameters<ScriptRunner["run"]>[0], keys: readonly string[], args: readonly (string | number)[]) {
      const first = await runner.run(script, keys, args);
      if (script.name !== "write") return first;
      wrapped.resent++;
      const between = wrapped.between;
      wrapped.between = undefined;
      await between?.();
      return runner.run(script, keys, args);
    },
  };
  return wrapped;
}

export interface ResentWritesTarget {
  runner(): ScriptRunner;
  keyPrefix(): string;
  /** PTTL of a key on the server, read directly (-2: no such key). */
  pttl(key: string): Promise<number>;
}

export function describeResentWrites(label: string, target: () => ResentWritesTarget): void {
  describe(`${label}: a write sent twice because its reply was lost is done once and reported done`, () => {
    function store(): RedisSessionStore & { runner: ReturnType<typeof resendingWrites> } {
      const runner = resendingWrites(target().runner());
      return Object.assign(redisSessionStore(runner, { name: label, keyPrefix: target().keyPrefix() }), { runner });
    }

    it("a create", async () => {
      const s = store();
      const handle = testHandle("ann");
      const record = testRecord({ userId: "ann", data: { mine: true } });
      expect(await s.write(handle, record, 0)).toBe(true);
      expect(s.runner.resent).toBe(1);
      expect(await s.read(handle)).toEqual({ record, touched: false });
      expect((await s.listUser("ann")).map((entry) => entry.handle)).toEqual([handle]);
    });

    it("an update, also after a touch moved the record meanwhile", async () => {
      const s = store();
      const handle = testHandle();
      const now = Date.now();
      await s.write(handle, testRecord(), 0);
      // A read that touches the record lands between the two copies.
      s.runner.between = async () => expect((await s.read(handle, { now: now + 40_000, interval: 1_000 }))?.touched).toBe(true);
      expect(await s.write(handle, testRecord({ version: 2, data: { n: 2 }, lastSeenAt: now, expiresAt: now + 60_000 }), 1)).toBe(true);
      expect((await s.read(handle))?.record).toMatchObject({ version: 2, data: { n: 2 }, lastSeenAt: now + 40_000 });
      // Another writer's version after it is a real conflict.
      expect(await s.write(handle, testRecord({ version: 3, data: { n: 3 } }), 1)).toBe(false);
    });

    it("a retirement, and the tombstone it leaves stops nothing else", async () => {
      const s = store();
      const user = `ret-${testHandle()}`;
      const handle = testHandle(user);
      await s.write(handle, testRecord({ userId: user }), 0);
      const now = Date.now();
      expect(await s.write(handle, testRecord({ userId: user, version: 2, lastSeenAt: now, expiresAt: now }), 1)).toBe(true);
      expect(await s.read(handle)).toBeNull();
      expect(await s.read(handle, { now: Date.now(), interval: 0 })).toBeNull();
      expect(await s.listUser(user)).toEqual([]);
      // The tombstone is short-lived, and is not a record: a write of another nonce still sees version 0.
      const ttl = await target().pttl(s.keys.tombstone(handle));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
      expect(await s.write(handle, testRecord({ userId: user, version: 3 }), 2)).toBe(false);
      expect(await s.write(handle, testRecord({ userId: user, data: { again: 1 } }), 0)).toBe(true);
      expect((await s.read(handle))?.record.data).toEqual({ again: 1 });
    });

    it("a sign-in issued before a revocation, refused on arrival both times", async () => {
      const s = store();
      const user = `rev-${testHandle()}`;
      const issued = Date.now() - 1000;
      await s.revokeUser(user);
      const handle = testHandle(user);
      expect(await s.write(handle, testRecord({ userId: user, createdAt: issued, lastSeenAt: issued }), 0)).toBe(true);
      expect(await s.read(handle)).toBeNull();
    });

    it("through createSessions: one change counts once, and a sign-in keeps its session", async () => {
      const sessions = createSessions<{ count: number }>({ store: store(), keys: generateKey("k1") });
      const first = await sessions.read(null);
      first.set("count", 0);
      const anonymous = cookieFrom(await sessions.commit(first));
      const again = await sessions.read(anonymous);
      again.update("count", (n = 0) => n + 1);
      await sessions.commit(again);
      expect((await sessions.read(anonymous)).get("count")).toBe(1);

      const signingIn = await sessions.read(anonymous);
      signingIn.userId = "bob";
      const signedIn = cookieFrom(await sessions.commit(signingIn));
      const bob = await sessions.read(signedIn);
      expect(bob.userId).toBe("bob");
      expect(bob.get("count")).toBe(1);
      expect((await sessions.read(anonymous)).isNew).toBe(true);
    });
  });
}
