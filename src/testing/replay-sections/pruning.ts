/** Rule 5 of src/replay/backend.ts: pruning by acknowledgement, count and age, in bounded batches, never a hole. */
import { describe, expect, it } from "vitest";
import type { ReplayBackend } from "../../replay/backend.ts";
import type { SinceResult } from "../../replay/log.ts";
import { testChannel, testLog, type ReplaySuite } from "../replay-suite.ts";

const seqsOf = (result: SinceResult) => (result.gap ? result : result.events.map((e) => e.seq));

export function pruning<B extends ReplayBackend>({ target, withBackend }: ReplaySuite<B>): void {
  describe("pruning", () => {
    it("prunes what every live member acknowledged; a member whose heartbeats stopped holds nothing back", () =>
      withBackend(async (backend) => {
        const { log, clock } = testLog(backend);
        const channel = testChannel("acked");
        await log.heartbeat(channel, "a", { ttl: 60 });
        await log.heartbeat(channel, "b", { ttl: 60 });
        await log.heartbeat(channel, "gone", { ttl: 5 });
        for (let i = 1; i <= 6; i++) await log.append(channel, i);
        await log.ack(channel, "a", 5);
        await log.ack(channel, "b", 3);
        expect(await log.prune(channel)).toEqual({ events: 0 }); // "gone" is still live, at 0
        clock.advance(6_000);
        expect(await log.prune(channel)).toEqual({ events: 3 });
        // What every member has is no promise to anyone else: a reader at 2 may get a gap now
        // (or, from a cache window, the events still held there).
        expect(seqsOf(await log.since(channel, 3))).toEqual([4, 5, 6]);
        if (target.direct) expect(await target.direct.storedSeqs(backend, channel)).toEqual([4, 5, 6]);
      }));

    it("keeps every event when no member is live (only retention and maxEvents prune then)", () =>
      withBackend(async (backend) => {
        const { log, clock } = testLog(backend);
        const channel = testChannel("nobody");
        for (let i = 1; i <= 3; i++) await log.append(channel, i);
        await log.ack(channel, "once", 3);
        clock.advance(31_000);
        expect(await log.prune(channel)).toEqual({ events: 0 });
        expect(seqsOf(await log.since(channel, 0))).toEqual([1, 2, 3]);
      }));

    it("deletes at most pruneBatch events per prune, oldest first, so pruning never opens a hole", () =>
      withBackend(async (backend) => {
        const { log } = testLog(backend, { pruneBatch: 3 });
        const channel = testChannel("batch");
        await log.heartbeat(channel, "m", { ttl: 60 });
        for (let i = 1; i <= 10; i++) await log.append(channel, i);
        await log.ack(channel, "m", 8);
        expect(await log.prune(channel)).toEqual({ events: 3 });
        if (target.direct) expect(await target.direct.storedSeqs(backend, channel)).toEqual([4, 5, 6, 7, 8, 9, 10]);
        expect(await log.since(channel, 2)).toEqual({ gap: true, oldest: 4, head: 10 });
        expect(seqsOf(await log.since(channel, 3))).toEqual([4, 5, 6, 7, 8, 9, 10]);
        expect(await log.prune(channel)).toEqual({ events: 3 });
        expect(await log.prune(channel)).toEqual({ events: 2 });
        expect(await log.prune(channel)).toEqual({ events: 0 });
        if (target.direct) expect(await target.direct.storedSeqs(backend, channel)).toEqual([9, 10]);
        expect(seqsOf(await log.since(channel, 8))).toEqual([9, 10]);
      }));

    it("prunes as part of acks (and appends), every pruneEvery calls, with no timer", () =>
      withBackend(async (backend) => {
        const { log } = testLog(backend, { pruneEvery: 1 });
        const channel = testChannel("amortised");
        await log.heartbeat(channel, "m", { ttl: 60 });
        for (let i = 1; i <= 6; i++) await log.append(channel, i);
        await log.ack(channel, "m", 4);
        expect(await log.prune(channel)).toEqual({ events: 0 });
        if (target.direct) expect(await target.direct.storedSeqs(backend, channel)).toEqual([5, 6]);
      }));
  });
}
