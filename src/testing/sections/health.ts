/** Rule 6 of src/store.ts: the health probe. */
import { describe, expect, it } from "vitest";
import type { SessionStore } from "../../store.ts";
import type { Suite } from "../suite.ts";

export function health<S extends SessionStore>({ name, withStore }: Suite<S>): void {
  describe("health", () => {
    it("reports ok with a latency", () =>
      withStore(async (store) => {
        if (!store.health) throw new Error(`${name} must implement health`);
        const health = await store.health();
        expect(health.ok).toBe(true);
        expect(health.latencyMs).toBeGreaterThanOrEqual(0);
      }));
  });
}
