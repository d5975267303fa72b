/** Rule 4 of src/store.ts: a read extends the idle expiry when due, and only then. */
import { describe, expect, it } from "vitest";
import type { SessionStore } from "../../store.ts";
import { SLACK_MS, testHandle, testRecord } from "../fixtures.ts";
import type { Suite } from "../suite.ts";

export function touch<S extends SessionStore>({ withStore, backend }: Suite<S>): void {
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
        if (backend) {
          const expiry = await backend.expiryOf(store, handle);
          expect(Math.abs((expiry as number) - (now + record.idleTimeout))).toBeLessThan(SLACK_MS);
        }
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
        const before = await backend?.expiryOf(store, handle);
        const result = await store.read(handle, { now: Date.now() + 1_000, interval: 60_000 });
        expect(result).toEqual({ record, touched: false });
        if (backend) expect(await backend.expiryOf(store, handle)).toBe(before);
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
        if (backend) {
          const expiry = await backend.expiryOf(store, handle);
          expect(expiry as number).toBeLessThanOrEqual(record.absoluteExpiresAt + SLACK_MS);
        }
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
}
