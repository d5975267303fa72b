/** Rules 1, 2, 3 and 5 of src/store.ts: reads, compare-and-set writes, retirement, deletes, no aliasing. */
import { describe, expect, it } from "vitest";
import type { SessionStore } from "../../store.ts";
import { testHandle, testRecord } from "../fixtures.ts";
import type { Suite } from "../suite.ts";

export function readAndWrite<S extends SessionStore>({ withStore, backend }: Suite<S>): void {
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

    const direct = backend;
    if (direct) {
      it("reads something that is not a record as no record, without throwing", () =>
      withStore(async (store) => {
        const handle = testHandle();
        await store.write(handle, testRecord(), 0);
        await direct.corrupt(store, handle);
        // Rule 1: malformed reads as nothing, with or without a touch, and never throws.
        expect(await store.read(handle, { now: Date.now(), interval: 0 })).toBeNull();
        expect(await store.read(handle)).toBeNull();
      }));
    }
  });
}
