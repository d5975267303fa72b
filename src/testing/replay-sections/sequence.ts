/** Rules 1 and 2 of src/replay/backend.ts: numbering without gaps, also concurrently; time never goes back. */
import { describe, expect, it } from "vitest";
import type { ReplayBackend } from "../../replay/backend.ts";
import { testChannel, testLog, type ReplaySuite } from "../replay-suite.ts";

export function sequence<B extends ReplayBackend>({ target, withBackend }: ReplaySuite<B>): void {
  describe("sequence numbers", () => {
    it("numbers each channel's events 1, 2, 3, ... independently of other channels", () =>
      withBackend(async (backend) => {
        const { log } = testLog(backend);
        const [a, b] = [testChannel("a"), testChannel("b")];
        expect(await log.append(a, "a1")).toEqual({ seq: 1 });
        expect(await log.append(b, "b1")).toEqual({ seq: 1 });
        expect(await log.append(a, "a2")).toEqual({ seq: 2 });
        expect(await log.append(a, "a3")).toEqual({ seq: 3 });
        const since = await log.since(a, 0);
        expect(since).toMatchObject({ gap: false, more: false, head: 3 });
        expect(since.gap === false && since.events.map((e) => [e.seq, e.event])).toEqual([[1, "a1"], [2, "a2"], [3, "a3"]]);
      }));

    it("has no gap and no duplicate under many concurrent appends from several clients", () =>
      withBackend(async (backend) => {
        const channel = testChannel("concurrent");
        const clients = [backend, ...((await target.clients?.(backend, 3)) ?? [])];
        const perClient = 40;
        const seqs = await Promise.all(
          clients.flatMap((client, c) => {
            const { log } = testLog(client);
            return Array.from({ length: perClient }, (_, i) => log.append(channel, { c, i }).then((r) => r.seq));
          }),
        );
        const total = clients.length * perClient;
        expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        const { log } = testLog(backend);
        const since = await log.since(channel, 0, { limit: total });
        expect(since.gap === false && since.events.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        // Every client's events are there, none twice.
        for (let c = 0; c < clients.length; c++) {
          const own = since.gap === false ? since.events.filter((e) => (e.event as { c: number }).c === c).map((e) => (e.event as { i: number }).i) : [];
          expect(own).toHaveLength(perClient);
        }
      }));

    it("never lets an event's time go back, even when the appender's clock does", () =>
      withBackend(async (backend) => {
        const { log, clock } = testLog(backend);
        const channel = testChannel("time");
        await log.append(channel, 1);
        clock.advance(-60_000);
        await log.append(channel, 2);
        clock.advance(120_000);
        await log.append(channel, 3);
        const since = await log.since(channel, 0);
        const times = since.gap === false ? since.events.map((e) => e.at) : [];
        expect(times[1]).toBe(times[0]);
        expect(times[2]).toBeGreaterThan(times[1]!);
      }));
  });
}
