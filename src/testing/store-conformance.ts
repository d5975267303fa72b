/**
 * The store conformance suite: every rule of src/store.ts as a test, in sections (one file
 * each under sections/). Runtime-agnostic: it uses describe/it/expect from vitest only, so it
 * runs under vitest, under `bun test` (which provides those) and in workerd bundles.
 */
import { describe, expect, it } from "vitest";
import type { SessionStore } from "../store.ts";
import { counters } from "./sections/counters.ts";
import { expiry } from "./sections/expiry.ts";
import { health } from "./sections/health.ts";
import { readAndWrite } from "./sections/read-write.ts";
import { retiredIds } from "./sections/retired-ids.ts";
import { scan } from "./sections/scan.ts";
import { touch } from "./sections/touch.ts";
import { userIndex } from "./sections/user-index.ts";
import type { Capabilities, ConformanceTarget, Suite } from "./suite.ts";

const CAPABILITY_METHODS: Record<keyof Capabilities, Array<keyof SessionStore>> = {
  userIndex: ["listUser", "revokeUser"],
  counters: ["increment"],
  health: ["health"],
  scan: ["scan"],
  retiredIds: ["retiredIds"],
};

/**
 * Registers the conformance suite for a store under vitest (or `bun test`). Pass a factory
 * that makes a fresh store for each test, or a target that can also read the backend
 * directly, so what the adapter wrote is checked, not only what it says it wrote.
 *
 * @example
 * // my-store.test.ts, run by vitest
 * import { storeConformance } from "cloakroom/testing";
 * storeConformance("my store", () => myStore({ client, keyPrefix: `t${crypto.randomUUID()}:` }));
 */
export function storeConformance<S extends SessionStore>(name: string, target: ConformanceTarget<S> | (() => S | Promise<S>)): void {
  const resolved: ConformanceTarget<S> = typeof target === "function" ? { create: target } : target;
  if (typeof resolved?.create !== "function") {
    throw new TypeError(`storeConformance("${name}", ...) needs a function that returns a fresh store, or { create, backend?, dispose? }.`);
  }
  const capabilities: Capabilities = { userIndex: true, counters: true, health: true, scan: true, retiredIds: true, ...resolved.capabilities };

  const suite: Suite<S> = {
    name,
    backend: resolved.backend,
    async withStore(run) {
      const store = await resolved.create();
      try {
        await run(store);
      } finally {
        await resolved.dispose?.(store);
      }
    },
  };

  describe(`store conformance: ${name}`, () => {
    readAndWrite(suite);
    expiry(suite);
    touch(suite);
    if (capabilities.userIndex) userIndex(suite);
    if (capabilities.counters) counters(suite);
    if (capabilities.health) health(suite);
    if (capabilities.scan) scan(suite);
    if (capabilities.retiredIds) retiredIds(suite, capabilities);
    const declaredMissing = (Object.keys(CAPABILITY_METHODS) as Array<keyof Capabilities>).filter((c) => !capabilities[c]);
    if (declaredMissing.length > 0) {
      it(`lacks what it declares it lacks: ${declaredMissing.join(", ")}`, () =>
        suite.withStore(async (store) => {
          for (const capability of declaredMissing) {
            for (const method of CAPABILITY_METHODS[capability]) expect(store[method], `${name}.${method}`).toBeUndefined();
          }
        }));
    }
  });
}
