/** Rule 6 of src/store.ts: atomic counters in fixed windows (rate limits, the tiered store's generation). */
import { describe, expect, it } from "vitest";
import type { SessionStore } from "../../store.ts";
import { sleep, SLACK_MS, testHandle } from "../fixtures.ts";
import type { Suite } from "../suite.ts";

export function counters<S extends SessionStore>({ name, withStore, backend }: Suite<S>): void {
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
        if (backend) expect((await backend.everything(store)).filter((entry) => entry.key.includes(key))).toEqual([]);
        expect((await store.increment!(key, 60_000, 5)).count).toBe(5);
        const read = await store.increment!(key, 60_000, 0);
        expect(read.count).toBe(5);
        expect((await store.increment!(key, 60_000)).count).toBe(6);
        expect(read.resetAt).toBeGreaterThan(Date.now());
      }));
  });
}
