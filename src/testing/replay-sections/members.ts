/** Rule 4 of src/replay/backend.ts: heartbeats keep members live, acks move their position. */
import { describe, expect, it } from "vitest";
import type { ReplayBackend } from "../../replay/backend.ts";
import { testChannel, testLog, type ReplaySuite } from "../replay-suite.ts";

export function members<B extends ReplayBackend>({ withBackend }: ReplaySuite<B>): void {
  describe("members", () => {
    it("lists a member from its first heartbeat, at the head, with when it beat", () =>
      withBackend(async (backend) => {
        const { log, clock } = testLog(backend);
        const channel = testChannel("join");
        await log.append(channel, 1);
        await log.append(channel, 2);
        await log.heartbeat(channel, "tab-b", { ttl: 10 });
        await log.heartbeat(channel, "tab-a", { ttl: 10 });
        expect(await log.members(channel)).toEqual([
          { member: "tab-a", seq: 2, heartbeatAt: clock(), expiresAt: clock() + 10_000 },
          { member: "tab-b", seq: 2, heartbeatAt: clock(), expiresAt: clock() + 10_000 },
        ]);
        expect(await log.members(testChannel("empty"))).toEqual([]);
      }));

    it("moves a position forward on ack, never back and never past the head", () =>
      withBackend(async (backend) => {
        const { log } = testLog(backend);
        const channel = testChannel("ack");
        for (let i = 0; i < 5; i++) await log.append(channel, i);
        await log.heartbeat(channel, "m", { ttl: 60 });
        await log.ack(channel, "m", 3);
        expect((await log.members(channel))[0]?.seq).toBe(5);
        const other = testChannel("ack2");
        await log.append(other, 0);
        await log.heartbeat(other, "m", { ttl: 60 });
        await log.ack(other, "m", 1);
        for (let i = 0; i < 4; i++) await log.append(other, i);
        await log.ack(other, "m", 4);
        await log.ack(other, "m", 2);
        expect((await log.members(other))[0]?.seq).toBe(4);
        await log.ack(other, "m", 99);
        expect((await log.members(other))[0]?.seq).toBe(5);
      }));

    it("drops a member whose heartbeats stop after its ttl; an ack keeps it live like a beat", () =>
      withBackend(async (backend) => {
        const { log, clock } = testLog(backend);
        const channel = testChannel("ttl");
        await log.append(channel, 1);
        await log.heartbeat(channel, "short", { ttl: 5 });
        await log.heartbeat(channel, "long", { ttl: 20 });
        clock.advance(4_000);
        await log.ack(channel, "short", 1);
        clock.advance(4_000);
        expect((await log.members(channel)).map((m) => m.member)).toEqual(["long", "short"]);
        clock.advance(2_000);
        expect((await log.members(channel)).map((m) => m.member)).toEqual(["long"]);
        await log.heartbeat(channel, "short", { ttl: 5 });
        expect((await log.members(channel)).map((m) => [m.member, m.seq])).toEqual([["long", 1], ["short", 1]]);
      }));

    it("makes a member that only acks live for the default member ttl", () =>
      withBackend(async (backend) => {
        const { log, clock } = testLog(backend);
        const channel = testChannel("ack-only");
        await log.append(channel, 1);
        await log.ack(channel, "quiet", 1);
        expect(await log.members(channel)).toEqual([{ member: "quiet", seq: 1, heartbeatAt: clock(), expiresAt: clock() + 30_000 }]);
        clock.advance(30_000);
        expect(await log.members(channel)).toEqual([]);
      }));
  });
}
