/**
 * The replay backend conformance suite: every rule of src/replay/backend.ts as a test, through
 * `createReplayLog` (so the core's gap rule is held on every backend too), in sections (one
 * file each under replay-sections/). Runtime-agnostic: describe/it/expect from vitest only.
 */
import { describe } from "vitest";
import type { ReplayBackend } from "../replay/backend.ts";
import { members } from "./replay-sections/members.ts";
import { pruning } from "./replay-sections/pruning.ts";
import { sequence } from "./replay-sections/sequence.ts";
import { since } from "./replay-sections/since.ts";
import { tokens } from "./replay-sections/tokens.ts";
import type { ReplayConformanceTarget, ReplaySuite } from "./replay-suite.ts";

/**
 * Registers the replay conformance suite for a backend under vitest (or `bun test`).
 *
 * @example
 * import { replayConformance } from "cloakroom/testing";
 * replayConformance("my backend", { create: () => myReplay({ client, keyPrefix: `t${crypto.randomUUID()}:` }) });
 */
export function replayConformance<B extends ReplayBackend>(name: string, target: ReplayConformanceTarget<B> | (() => B | Promise<B>)): void {
  const resolved: ReplayConformanceTarget<B> = typeof target === "function" ? { create: target } : target;
  if (typeof resolved?.create !== "function") {
    throw new TypeError(`replayConformance("${name}", ...) needs a function that returns a backend, or { create, clients?, direct?, dispose? }.`);
  }
  const suite: ReplaySuite<B> = {
    name,
    target: resolved,
    async withBackend(test) {
      const backend = await resolved.create();
      try {
        await test(backend);
      } finally {
        await resolved.dispose?.(backend);
      }
    },
  };
  describe(`replay conformance: ${name}`, () => {
    sequence(suite);
    since(suite);
    members(suite);
    pruning(suite);
    tokens(suite);
  });
}
