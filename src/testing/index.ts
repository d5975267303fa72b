/**
 * `cloakroom/testing`: the store conformance suite every cloakroom adapter passes, for your
 * own adapter. Run it under vitest (an optional peer dependency; `bun test` works too).
 *
 * @example
 * import { storeConformance } from "cloakroom/testing";
 * import { myStore } from "./my-store.ts";
 *
 * storeConformance("my store", () => myStore({ prefix: `test-${crypto.randomUUID()}:` }));
 *
 * @module
 */
export { storeConformance } from "./store-conformance.ts";
export { testHandle, testRecord } from "./fixtures.ts";
export type { Capabilities, ConformanceBackend, ConformanceTarget } from "./suite.ts";
export { replayConformance } from "./replay-conformance.ts";
export type { ReplayConformanceTarget, ReplayDirect } from "./replay-suite.ts";
