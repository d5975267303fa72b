/** Rule 3 of src/replay/backend.ts and the core's gap rule: exact catch-up, or a plain gap. */
import { describe, expect, it } from "vitest";
import type { ReplayBackend } from "../../replay/backend.ts";
import type { SinceResult } from "../../replay/log.ts";
import { testChannel, testLog, type ReplaySuite } from "../replay-suite.ts";

const seqsOf = (result: SinceResult) => (result.gap ? result : result.events.map((e) => e.seq));

export function since<B extends ReplayBackend>({ withBackend }: ReplaySuite<B>): void {
  describe("since", () => {
    it("gives back each event exactly as appended, in order, paged by limit with `more`", () =>
      withBackend(async (backend) => {
        const { log } = testLog(backend);
        const channel = testChannel("values");
        const values = [{ text: "hé 😀", n: 1.5, list: [null, true, "x"], nested: { a: { b: [] } } }, "plain", 42, null, false, ["a", 1]];
        for (const value of values) await log.append(channel, value);
        const all = await log.since(channel, 0);
        expect(all.gap === false && all.events.map((e) => e.event)).toEqual(values);
        const first = await log.since(channel, 0, { limit: 4 });
        expect(first).toMatchObject({ gap: false, more: true, head: 6 });
        expect(seqsOf(first)).toEqual([1, 2, 3, 4]);
        const rest = await log.since(channel, 4, { limit: 4 });
        expect(rest).toMatchObject({ gap: false, more: false });
        expect(seqsOf(rest)).toEqual([5, 6]);
        expect(await log.since(channel, 6)).toEqual({ gap: false, events: [], more: false, head: 6 });
      }));

    it("reads a channel it never saw as empty, and a position beyond the head as a gap", () =>
      withBackend(async (backend) => {
        const { log } = testLog(backend);
        const channel = testChannel("unknown");
        expect(await log.since(channel, 0)).toEqual({ gap: false, events: [], more: false, head: 0 });
        expect(await log.since(channel, 3)).toEqual({ gap: true, oldest: 1, head: 0 });
        await log.append(channel, "x");
        expect(await log.since(channel, 5)).toEqual({ gap: true, oldest: 1, head: 1 });
      }));

    it("answers a gap, never a shortened list, for events past maxEvents, pruned or not", () =>
      withBackend(async (backend) => {
        const { log } = testLog(backend, { maxEvents: 3 });
        const channel = testChannel("max");
        for (let i = 1; i <= 5; i++) await log.append(channel, i);
        expect(await log.since(channel, 0)).toEqual({ gap: true, oldest: 3, head: 5 });
        expect(await log.since(channel, 1)).toEqual({ gap: true, oldest: 3, head: 5 });
        expect(seqsOf(await log.since(channel, 2))).toEqual([3, 4, 5]);
        await log.prune(channel);
        expect(await log.since(channel, 1)).toEqual({ gap: true, oldest: 3, head: 5 });
        expect(seqsOf(await log.since(channel, 2))).toEqual([3, 4, 5]);
      }));

    it("answers a gap for events older than the retention, pruned or not", () =>
      withBackend(async (backend) => {
        const { log, clock } = testLog(backend, { retention: 3600 });
        const channel = testChannel("retention");
        for (let i = 1; i <= 3; i++) await log.append(channel, i);
        clock.advance(1800_000);
        for (let i = 4; i <= 5; i++) await log.append(channel, i);
        clock.advance(1800_001);
        expect(await log.since(channel, 0)).toEqual({ gap: true, oldest: 4, head: 5 });
        expect(seqsOf(await log.since(channel, 3))).toEqual([4, 5]);
        await log.prune(channel);
        expect(await log.since(channel, 2)).toEqual({ gap: true, oldest: 4, head: 5 });
        expect(seqsOf(await log.since(channel, 3))).toEqual([4, 5]);
        // Numbering goes on after a prune (a channel idle for the whole retention may be forgotten instead).
        expect(await log.append(channel, 6)).toEqual({ seq: 6 });
      }));
  });
}
