/** Rule 2 of src/store.ts: every record and index entry has an expiry, and expired reads as gone. */
import { describe, expect, it } from "vitest";
import type { SessionStore } from "../../store.ts";
import { sleep, SLACK_MS, testHandle, testRecord } from "../fixtures.ts";
import type { Suite } from "../suite.ts";

export function expiry<S extends SessionStore>({ withStore, backend }: Suite<S>): void {
  describe("expiry", () => {
    const direct = backend;
    if (direct) it("gives the backend the record's expiresAt as its expiry", () =>
      withStore(async (store) => {
        const handle = testHandle();
        const record = testRecord();
        await store.write(handle, record, 0);
        const expiry = await direct.expiryOf(store, handle);
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

    if (direct) it("leaves nothing in the backend without an expiry", () =>
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
        const everything = await direct.everything(store);
        expect(everything.length).toBeGreaterThan(0);
        expect(everything.filter((entry) => entry.expiresAt === null)).toEqual([]);
      }));
  });
}
