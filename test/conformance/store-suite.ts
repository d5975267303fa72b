/**
 * The store conformance suite: every rule of src/store.ts as a test. Each adapter's test file
 * calls `storeConformance` with a real backend and a way to read that backend directly, so
 * the suite checks what was written, not only what the adapter says it wrote.
 *
 * Runtime-agnostic (it runs under Node, Bun and workerd): describe/it/expect only.
 */
import { describe, expect, it } from "vitest";
import { base64url } from "jose";
import { userTag } from "../../src/session-id.ts";
import type { SessionRecord, SessionStore } from "../../src/store.ts";

export interface ConformanceTarget<S extends SessionStore = SessionStore> {
  /** A fresh store whose keys do not collide with another test's (new instance or prefix). */
  create(): S | Promise<S>;
  /** Reads the backend directly, bypassing the adapter. */
  backend: {
    /** Epoch ms at which the backend drops the handle's record; null when it never will; undefined when absent. */
    expiryOf(store: S, handle: string): Promise<number | null | undefined>;
    /**
     * Every key or row the adapter holds, with the backend's expiry of each (null: none). A key
     * names what it holds: a counter's key contains the counter's name.
     */
    everything(store: S): Promise<Array<{ key: string; expiresAt: number | null }>>;
    /** Puts something that is not a record cloakroom wrote under the handle. */
    corrupt(store: S, handle: string): Promise<void>;
  };
  /** Releases the store after a test (close connections the test made). */
  dispose?(store: S): Promise<void>;
}

/**
 * A handle shaped like the core's: `<tag>.<43 base64url characters>`, under the user's tag
 * when it is for a user's session (store rule 8).
 */
export function testHandle(userId: string | null = null): string {
  const random = base64url.encode(crypto.getRandomValues(new Uint8Array(35)));
  return `${userId === null ? random.slice(43, 47) : userTag(userId)}.${random.slice(0, 43)}`;
}

export function testRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return {
    userId: null,
    data: { count: 1, nested: { list: [1, "two", null], flag: true } },
    version: 1,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + 60_000,
    absoluteExpiresAt: now + 3_600_000,
    idleTimeout: 60_000,
    ...overrides,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Backends round expiries to their own units (Redis ms, Postgres µs); allow a little slack. */
const SLACK_MS = 1_000;

export function storeConformance<S extends SessionStore>(name: string, target: ConformanceTarget<S>): void {
  async function withStore(run: (store: S) => Promise<void>): Promise<void> {
    const store = await target.create();
    try {
      await run(store);
    } finally {
      await target.dispose?.(store);
    }
  }

  describe(`store conformance: ${name}`, () => {
    describe("read and write", () => {
      it("reads a missing handle as null", () =>
        withStore(async (store) => {
          expect(await store.read(testHandle())).toBeNull();
        }));

      it("creates with expected version 0 and reads back the same record", () =>
        withStore(async (store) => {
          const handle = testHandle("ann");
          const record = testRecord({ userId: "ann" });
          expect(await store.write(handle, record, 0)).toBe(true);
          const result = await store.read(handle);
          expect(result).toEqual({ record, touched: false });
        }));

      it("refuses to create over an existing record", () =>
        withStore(async (store) => {
          const handle = testHandle();
          expect(await store.write(handle, testRecord(), 0)).toBe(true);
          expect(await store.write(handle, testRecord({ data: { other: 1 } }), 0)).toBe(false);
          expect((await store.read(handle))?.record.data).toEqual(testRecord().data);
        }));

      it("compare-and-set: writes on the expected version, refuses a stale one", () =>
        withStore(async (store) => {
          const handle = testHandle();
          await store.write(handle, testRecord(), 0);
          expect(await store.write(handle, testRecord({ version: 2, data: { count: 2 } }), 1)).toBe(true);
          expect(await store.write(handle, testRecord({ version: 2, data: { count: 99 } }), 1)).toBe(false);
          expect(await store.write(handle, testRecord({ version: 4, data: { count: 99 } }), 3)).toBe(false);
          const result = await store.read(handle);
          expect(result?.record.version).toBe(2);
          expect(result?.record.data).toEqual({ count: 2 });
        }));

      it("lets exactly one of many parallel writers of one version win", () =>
        withStore(async (store) => {
          const handle = testHandle();
          await store.write(handle, testRecord(), 0);
          const outcomes = await Promise.all(
            Array.from({ length: 20 }, (_, i) => store.write(handle, testRecord({ version: 2, data: { writer: i } }), 1)),
          );
          expect(outcomes.filter(Boolean)).toHaveLength(1);
          const winner = outcomes.indexOf(true);
          expect((await store.read(handle))?.record.data).toEqual({ writer: winner });
        }));

      it("keeps the version it is given, as a cache filled from another store needs", () =>
        withStore(async (store) => {
          const handle = testHandle();
          expect(await store.write(handle, testRecord({ version: 7 }), 0)).toBe(true);
          expect((await store.read(handle))?.record.version).toBe(7);
          expect(await store.write(handle, testRecord({ version: 8 }), 7)).toBe(true);
          expect(await store.write(handle, testRecord({ version: 9 }), 7)).toBe(false);
        }));

      it("retires a record by a write whose expiresAt has come, compare-and-set like any write", () =>
        withStore(async (store) => {
          const user = `ret-${testHandle()}`;
          const handle = testHandle(user);
          await store.write(handle, testRecord({ userId: user }), 0);
          const now = Date.now();
          expect(await store.write(handle, testRecord({ userId: user, version: 2, lastSeenAt: now, expiresAt: now }), 2)).toBe(false);
          expect(await store.write(handle, testRecord({ userId: user, version: 2, lastSeenAt: now, expiresAt: now }), 1)).toBe(true);
          expect(await store.read(handle)).toBeNull();
          expect(await store.read(handle, { now: Date.now(), interval: 0 })).toBeNull();
          expect(await store.write(handle, testRecord({ userId: user, version: 3 }), 2)).toBe(false);
          expect((await store.listUser?.(user))?.map((s) => s.handle) ?? []).toEqual([]);
        }));

      it("does not create when expecting a version that is absent", () =>
        withStore(async (store) => {
          const handle = testHandle();
          expect(await store.write(handle, testRecord({ version: 3 }), 2)).toBe(false);
          expect(await store.read(handle)).toBeNull();
        }));

      it("returns records that do not alias what is stored", () =>
        withStore(async (store) => {
          const handle = testHandle();
          await store.write(handle, testRecord(), 0);
          const first = await store.read(handle);
          (first!.record.data as { count: number }).count = 42;
          expect((await store.read(handle))?.record.data).toEqual(testRecord().data);
        }));

      it("keeps no reference to the record it is given (rule 2)", () =>
        withStore(async (store) => {
          const handle = testHandle();
          const record = testRecord();
          const copy = structuredClone(record);
          await store.write(handle, record, 0);
          (record.data as { count: number }).count = 99;
          record.version = 7;
          expect((await store.read(handle))?.record).toEqual(copy);
        }));

      it("keeps unicode and JSON types intact", () =>
        withStore(async (store) => {
          const handle = testHandle();
          const data = { text: "Grüße, 世界 🎉 \"quoted\" \\ back", zero: 0, neg: -1.5, empty: "", arr: [], obj: {}, nil: null };
          await store.write(handle, testRecord({ data }), 0);
          expect((await store.read(handle))?.record.data).toEqual(data);
        }));

      it("deletes, and deleting a missing record succeeds", () =>
        withStore(async (store) => {
          const handle = testHandle();
          await store.write(handle, testRecord(), 0);
          await store.delete(handle);
          expect(await store.read(handle)).toBeNull();
          await expect(store.delete(handle)).resolves.toBeUndefined();
          await expect(store.delete(testHandle())).resolves.toBeUndefined();
        }));

      it("treats a deleted record as version 0 again", () =>
        withStore(async (store) => {
          const handle = testHandle();
          await store.write(handle, testRecord(), 0);
          await store.delete(handle);
          expect(await store.write(handle, testRecord({ version: 2 }), 1)).toBe(false);
          expect(await store.write(handle, testRecord(), 0)).toBe(true);
        }));

      it("reads something that is not a record as no record, without throwing", () =>
        withStore(async (store) => {
          const handle = testHandle();
          await store.write(handle, testRecord(), 0);
          await target.backend.corrupt(store, handle);
          // Rule 1: malformed reads as nothing, with or without a touch, and never throws.
          expect(await store.read(handle, { now: Date.now(), interval: 0 })).toBeNull();
          expect(await store.read(handle)).toBeNull();
        }));
    });

    describe("expiry", () => {
      it("gives the backend the record's expiresAt as its expiry", () =>
        withStore(async (store) => {
          const handle = testHandle();
          const record = testRecord();
          await store.write(handle, record, 0);
          const expiry = await target.backend.expiryOf(store, handle);
          expect(expiry).not.toBeNull();
          expect(Math.abs((expiry as number) - record.expiresAt)).toBeLessThan(SLACK_MS);
        }));

      it("reads a record past its absolute expiry as null, even before its idle expiry", () =>
        withStore(async (store) => {
          const handle = testHandle();
          const now = Date.now();
          await store.write(handle, testRecord({ expiresAt: now + 60_000, absoluteExpiresAt: now + 150 }), 0);
          expect(await store.read(handle)).not.toBeNull();
          await sleep(400);
          expect(await store.read(handle)).toBeNull();
          expect(await store.read(handle, { now: Date.now(), interval: 0 })).toBeNull();
        }));

      it("reads an expired record as null", () =>
        withStore(async (store) => {
          const handle = testHandle();
          const now = Date.now();
          await store.write(handle, testRecord({ expiresAt: now + 150 }), 0);
          expect(await store.read(handle)).not.toBeNull();
          await sleep(400);
          expect(await store.read(handle)).toBeNull();
          expect(await store.read(handle, { now: Date.now(), interval: 0 })).toBeNull();
        }));

      it("lets a new record replace an expired one (expired counts as version 0)", () =>
        withStore(async (store) => {
          const handle = testHandle();
          await store.write(handle, testRecord({ expiresAt: Date.now() + 150 }), 0);
          await sleep(400);
          expect(await store.write(handle, testRecord({ version: 2 }), 1)).toBe(false);
          expect(await store.write(handle, testRecord(), 0)).toBe(true);
        }));

      it("leaves nothing in the backend without an expiry", () =>
        withStore(async (store) => {
          await store.write(testHandle("ann"), testRecord({ userId: "ann" }), 0);
          await store.write(testHandle("bob"), testRecord({ userId: "bob" }), 0);
          const handle = testHandle("ann");
          await store.write(handle, testRecord({ userId: "ann" }), 0);
          await store.write(handle, testRecord({ userId: null, version: 2 }), 1);
          await store.read(handle, { now: Date.now(), interval: 0 });
          await store.increment?.(`counter-${testHandle()}`, 60_000);
          // What a revocation leaves (Redis: a mark) and what a retirement leaves (a tombstone).
          await store.revokeUser?.("bob");
          const retired = testHandle("cy");
          await store.write(retired, testRecord({ userId: "cy" }), 0);
          await store.write(retired, testRecord({ userId: "cy", version: 2, expiresAt: Date.now() }), 1);
          const everything = await target.backend.everything(store);
          expect(everything.length).toBeGreaterThan(0);
          expect(everything.filter((entry) => entry.expiresAt === null)).toEqual([]);
        }));
    });

    describe("touch", () => {
      it("moves the idle expiry forward when due, without a new version", () =>
        withStore(async (store) => {
          const handle = testHandle();
          const past = Date.now() - 10_000;
          const record = testRecord({ lastSeenAt: past, expiresAt: past + 60_000 });
          await store.write(handle, record, 0);
          const now = Date.now();
          const result = await store.read(handle, { now, interval: 5_000 });
          expect(result?.touched).toBe(true);
          expect(result?.record).toEqual({ ...record, lastSeenAt: now, expiresAt: now + record.idleTimeout });
          const again = await store.read(handle);
          expect(again?.record).toEqual(result?.record);
          const expiry = await target.backend.expiryOf(store, handle);
          expect(Math.abs((expiry as number) - (now + record.idleTimeout))).toBeLessThan(SLACK_MS);
        }));

      it("touches a session with a short idle timeout of its own at half of it at the latest", () =>
        withStore(async (store) => {
          const handle = testHandle();
          const now = Date.now();
          const record = testRecord({ idleTimeout: 20_000, lastSeenAt: now - 11_000, expiresAt: now + 9_000 });
          await store.write(handle, record, 0);
          const result = await store.read(handle, { now, interval: 300_000 });
          expect(result?.touched).toBe(true);
          expect(result?.record.expiresAt).toBe(now + 20_000);
          expect((await store.read(handle, { now: now + 5_000, interval: 300_000 }))?.touched).toBe(false);
        }));

      it("writes nothing when the touch is not due", () =>
        withStore(async (store) => {
          const handle = testHandle();
          const record = testRecord();
          await store.write(handle, record, 0);
          const before = await target.backend.expiryOf(store, handle);
          const result = await store.read(handle, { now: Date.now() + 1_000, interval: 60_000 });
          expect(result).toEqual({ record, touched: false });
          expect(await target.backend.expiryOf(store, handle)).toBe(before);
        }));

      it("never extends past the absolute expiry", () =>
        withStore(async (store) => {
          const handle = testHandle();
          const now = Date.now();
          const record = testRecord({ lastSeenAt: now - 10_000, expiresAt: now + 5_000, absoluteExpiresAt: now + 8_000 });
          await store.write(handle, record, 0);
          const result = await store.read(handle, { now, interval: 1_000 });
          expect(result?.touched).toBe(true);
          expect(result?.record.expiresAt).toBe(record.absoluteExpiresAt);
          const expiry = await target.backend.expiryOf(store, handle);
          expect(expiry as number).toBeLessThanOrEqual(record.absoluteExpiresAt + SLACK_MS);
        }));

      it("does not let a touch undo a concurrent write's version", () =>
        withStore(async (store) => {
          const handle = testHandle();
          await store.write(handle, testRecord({ lastSeenAt: Date.now() - 10_000 }), 0);
          await Promise.all([
            store.read(handle, { now: Date.now(), interval: 1_000 }),
            store.write(handle, testRecord({ version: 2, data: { count: 2 } }), 1),
          ]);
          const result = await store.read(handle);
          expect(result?.record.version).toBe(2);
          expect(result?.record.data).toEqual({ count: 2 });
        }));
    });

    describe("user index", () => {
      it("lists a user's live sessions and follows userId changes", () =>
        withStore(async (store) => {
          if (!store.listUser) throw new Error(`${name} must implement listUser`);
          const ann = `ann-${testHandle()}`;
          const bob = `bob-${testHandle()}`;
          const [a, b, c] = [testHandle(ann), testHandle(ann), testHandle(bob)];
          await store.write(a, testRecord({ userId: ann }), 0);
          await store.write(b, testRecord({ userId: ann }), 0);
          await store.write(c, testRecord({ userId: bob }), 0);
          const handles = async (user: string) => (await store.listUser!(user)).map((s) => s.handle).sort();
          expect(await handles(ann)).toEqual([a, b].sort());
          expect((await store.listUser(bob))[0]?.record.userId).toBe(bob);

          await store.write(a, testRecord({ userId: null, version: 2 }), 1);
          expect(await handles(ann)).toEqual([b]);
          await store.write(a, testRecord({ userId: ann, version: 3 }), 2);
          expect(await handles(ann)).toEqual([a, b].sort());

          await store.delete(b);
          expect(await handles(ann)).toEqual([a]);
          await store.delete(c);
          expect(await handles(bob)).toEqual([]);
          expect(await store.listUser(`nobody-${testHandle()}`)).toEqual([]);
        }));

      it("does not list expired sessions", () =>
        withStore(async (store) => {
          const user = `exp-${testHandle()}`;
          const live = testHandle(user);
          await store.write(testHandle(user), testRecord({ userId: user, expiresAt: Date.now() + 150 }), 0);
          await store.write(live, testRecord({ userId: user }), 0);
          await sleep(400);
          expect((await store.listUser!(user)).map((s) => s.handle)).toEqual([live]);
        }));

      it("revokes every session of a user but the exception, and only that user's", () =>
        withStore(async (store) => {
          if (!store.revokeUser) throw new Error(`${name} must implement revokeUser`);
          const user = `rev-${testHandle()}`;
          const other = `oth-${testHandle()}`;
          const handles = [testHandle(user), testHandle(user), testHandle(user)];
          const keep = testHandle(user);
          const foreign = testHandle(other);
          for (const handle of [...handles, keep]) await store.write(handle, testRecord({ userId: user }), 0);
          await store.write(foreign, testRecord({ userId: other }), 0);
          expect(await store.revokeUser(user, { except: keep })).toBe(3);
          for (const handle of handles) expect(await store.read(handle)).toBeNull();
          expect(await store.read(keep)).not.toBeNull();
          expect(await store.read(foreign)).not.toBeNull();
          expect((await store.listUser!(user)).map((s) => s.handle)).toEqual([keep]);
          expect(await store.revokeUser(user)).toBe(1);
          expect(await store.read(keep)).toBeNull();
          expect(await store.revokeUser(`none-${testHandle()}`)).toBe(0);
        }));

      it("revokes every session whose write completed before revokeUser returned, racing or not", () =>
        withStore(async (store) => {
          const user = `race-${testHandle()}`;
          const handles = Array.from({ length: 20 }, () => testHandle(user));
          // Writes and the revocation go out together; the order they complete in is what counts.
          const completed: string[] = [];
          let completedBeforeRevoke: string[] | undefined;
          const writes = handles.map((handle) => store.write(handle, testRecord({ userId: user }), 0).then(() => completed.push(handle)));
          const revoked = store.revokeUser!(user).then(() => (completedBeforeRevoke = [...completed]));
          await Promise.all([...writes, revoked]);
          expect(completedBeforeRevoke!.length).toBeGreaterThan(0);
          for (const handle of completedBeforeRevoke!) expect(await store.read(handle)).toBeNull();
        }));

    });

    describe("counters", () => {
      it("counts atomically within a window and starts again after it", () =>
        withStore(async (store) => {
          if (!store.increment) throw new Error(`${name} must implement increment`);
          const key = `c-${testHandle()}`;
          const before = Date.now();
          const results = await Promise.all(Array.from({ length: 10 }, () => store.increment!(key, 300)));
          expect(results.map((r) => r.count).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
          for (const result of results) {
            expect(result.resetAt).toBeGreaterThanOrEqual(before + 300 - SLACK_MS);
            expect(result.resetAt).toBeLessThanOrEqual(Date.now() + 300 + SLACK_MS);
          }
          await sleep(500);
          expect((await store.increment(key, 300)).count).toBe(1);
          expect((await store.increment(`other-${key}`, 300)).count).toBe(1);
        }));

      it("adds an amount, and reads without changing or creating with amount 0", () =>
        withStore(async (store) => {
          const key = `g-${testHandle()}`;
          expect((await store.increment!(key, 60_000, 0)).count).toBe(0);
          expect((await store.increment!(key, 60_000, 0)).count).toBe(0);
          // Reading an absent counter left nothing behind in the backend.
          expect((await target.backend.everything(store)).filter((entry) => entry.key.includes(key))).toEqual([]);
          expect((await store.increment!(key, 60_000, 5)).count).toBe(5);
          const read = await store.increment!(key, 60_000, 0);
          expect(read.count).toBe(5);
          expect((await store.increment!(key, 60_000)).count).toBe(6);
          expect(read.resetAt).toBeGreaterThan(Date.now());
        }));
    });

    describe("health", () => {
      it("reports ok with a latency", () =>
        withStore(async (store) => {
          if (!store.health) throw new Error(`${name} must implement health`);
          const health = await store.health();
          expect(health.ok).toBe(true);
          expect(health.latencyMs).toBeGreaterThanOrEqual(0);
        }));
    });
  });
}
