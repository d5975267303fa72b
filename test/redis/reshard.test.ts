/**
 * Adding a shard with no code change: a three-master Redis Cluster gains a fourth
 * master and 1500 slots move to it with `redis-cli --cluster reshard`, while the application
 * keeps serving on the same ioredis Cluster client (failoverSafeClusterOptions) and the same
 * session manager. Judged per request (cli/drill/figures.ts): no request failed (ioredis follows
 * MOVED and ASK, and retries TRYAGAIN, by itself), nobody was signed out, no count went back;
 * afterwards a new client reads every session, and the user index and revocations hold for the
 * users whose slot moved. INFO commandstats per master, before and after, shows the traffic
 * spreading to the new master. RESHARD_FIGURES=1 prints the figures (docs/operations.md).
 */
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failoverSafeClusterOptions, ioredisStore } from "../../adapters/ioredis/index.ts";
import { createSessions, generateKey, userTag } from "../../src/index.ts";
import { signIn, startLoad, verify, type Visitor } from "../../cli/drill/visitors.ts";
import { addClusterMaster, run, startRedisCluster, type RedisCluster } from "../support/redis-cluster.ts";
import { command, LOOPBACK, sleep, uniqueKeyPrefix } from "../support/redis-server.ts";

const SLOTS = 1500;
const WINDOW_MS = 1500;

let cluster: RedisCluster;
let client: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
  client = new Cluster(cluster.startupNodes, failoverSafeClusterOptions());
});

afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

/** Slot ranges per master port, from CLUSTER SLOTS. */
async function slotOwners(): Promise<Array<{ from: number; to: number; port: number }>> {
  const reply = (await command(cluster.nodes[0]!.port, ["CLUSTER", "SLOTS"])) as Array<[number, number, [string, number]]>;
  return reply.map(([from, to, [, port]]) => ({ from: Number(from), to: Number(to), port: Number(port) }));
}

const ownerOf = (owners: Awaited<ReturnType<typeof slotOwners>>, slot: number) => owners.find((r) => slot >= r.from && slot <= r.to)?.port;

/** Data commands each master served since its last CONFIG RESETSTAT (INFO commandstats). */
async function commandsPerMaster(ports: number[]): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const port of ports) {
    const stats = String(await command(port, ["INFO", "commandstats"]));
    const calls = [...stats.matchAll(/^cmdstat_(get|evalsha|eval|asking):calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[2]), 0);
    counts.set(port, calls);
  }
  return counts;
}

async function resetStats(ports: number[]): Promise<void> {
  for (const port of ports) await command(port, ["CONFIG", "RESETSTAT"]);
}

describe("adding a Redis Cluster shard under load", () => {
  it("moves slots holding signed-in users with no failed request, no sign-out, and the index and revocations intact", async () => {
    const keyPrefix = uniqueKeyPrefix("reshard");
    const keys = generateKey("shard");
    const store = ioredisStore({ client, keyPrefix });
    const sessions = createSessions<{ count: number }>({ store, keys });

    // redis-cli reshard --cluster-from all takes each master's lowest slots: some users are picked
    // there, so slots that move hold users whatever the random spread gives.
    const before = await slotOwners();
    const masters = [...new Set(before.map((r) => r.port))];
    const lowest = masters.map((port) => Math.min(...before.filter((r) => r.port === port).map((r) => r.from)));
    const predicted = (slot: number) => lowest.some((low) => slot >= low && slot < low + SLOTS / masters.length - 50);
    const candidates = Array.from({ length: 2500 }, (_, i) => `shard-user-${i}`);
    const slots = await Promise.all(candidates.map((user) => client.cluster("KEYSLOT", `{${userTag(user)}}`) as Promise<number>));
    const slotOf = new Map(candidates.map((user, i) => [user, Number(slots[i])]));
    const inMoving = candidates.filter((user) => predicted(slotOf.get(user)!));
    const elsewhere = candidates.filter((user) => !predicted(slotOf.get(user)!));
    const liveUsers = [...inMoving.slice(0, 20), ...elsewhere.slice(0, 100)];
    const revokedUsers = [...inMoving.slice(20, 30), ...elsewhere.slice(100, 110)];

    const live: Visitor[] = [];
    for (const user of liveUsers) live.push(await signIn(sessions, user));
    // Signed out everywhere before the move: two devices each, and the revocation mark in their slot.
    const revoked: Visitor[] = [];
    for (const user of revokedUsers) {
      revoked.push(await signIn(sessions, user), await signIn(sessions, user));
      await sessions.revokeUser(user);
    }

    const load = startLoad(sessions, live, 4);
    await resetStats(masters);
    await sleep(WINDOW_MS);
    const spreadBefore = await commandsPerMaster(masters);

    const cursor = (await store.scan(null, { limit: 5 })).next;
    expect(cursor).not.toBeNull();
    const added = await addClusterMaster(cluster);
    const id = String(await command(added.port, ["CLUSTER", "MYID"]));
    const reshardAt = performance.now();
    const reshard = await run("redis-cli", [
      "--cluster", "reshard", `${LOOPBACK}:${masters[0]}`, "--cluster-from", "all", "--cluster-to", id, "--cluster-slots", String(SLOTS), "--cluster-yes",
    ]);
    const reshardEnd = performance.now();
    expect(reshard.code, reshard.output.slice(-2000)).toBe(0);

    const allMasters = [...masters, added.port];
    await resetStats(allMasters);
    await sleep(WINDOW_MS);
    const spreadAfter = await commandsPerMaster(allMasters);
    await load.stop();

    // Every request of the whole run, the reshard included, was served as designed.
    const during = load.ops.filter((op) => op.endedAt >= reshardAt && op.startedAt <= reshardEnd);
    const judged = (outcome: string) => load.ops.filter((op) => op.outcome === outcome).length;
    const figures = {
      requests: load.ops.length,
      duringReshard: during.length,
      failed: judged("failed"),
      logouts: judged("logout"),
      stale: judged("stale"),
      longestStallMs: Math.round(Math.max(...during.map((op) => op.endedAt - op.startedAt))),
      reshardS: Number(((reshardEnd - reshardAt) / 1000).toFixed(2)),
      before: Object.fromEntries(spreadBefore),
      after: Object.fromEntries(spreadAfter),
    };
    if (process.env.RESHARD_FIGURES) console.log(JSON.stringify(figures));
    expect(during.length).toBeGreaterThan(100);
    expect(figures).toMatchObject({ failed: 0, logouts: 0, stale: 0 });

    // Slots that moved held users: live ones and revoked ones.
    const after = await slotOwners();
    const moved = (user: string) => ownerOf(after, slotOf.get(user)!) === added.port;
    const liveMovers = live.filter((visitor) => moved(visitor.user));
    const revokedMovers = revoked.filter((visitor) => moved(visitor.user));
    expect(liveMovers.length).toBeGreaterThanOrEqual(15);
    expect(revokedMovers.length).toBeGreaterThanOrEqual(10);

    // A new client (new slot map) reads every live session with its acknowledged count.
    const fresh = new Cluster(cluster.startupNodes, failoverSafeClusterOptions());
    try {
      const freshSessions = createSessions<{ count: number }>({ store: ioredisStore({ client: fresh, keyPrefix }), keys });
      expect(await verify(freshSessions, live, [])).toMatchObject({ sessionsLost: 0 });
      // Revoked before the move, still signed out after it.
      for (const visitor of revokedMovers) {
        expect((await freshSessions.read(visitor.cookie)).userId, visitor.user).toBeNull();
        expect(await freshSessions.listUser(visitor.user)).toEqual([]);
      }
      // The user index moved with the user: list, then sign out everywhere, on the new master.
      for (const visitor of liveMovers.slice(0, 8)) {
        const session = await freshSessions.read(visitor.cookie);
        expect((await freshSessions.listUser(visitor.user)).map((info) => info.handle)).toEqual([session.handle]);
        expect(await freshSessions.revokeUser(visitor.user)).toBe(1);
        expect((await freshSessions.read(visitor.cookie)).userId).toBeNull();
        expect(await freshSessions.listUser(visitor.user)).toEqual([]);
      }
    } finally {
      fresh.disconnect();
    }

    // A scan begun on three masters is not resumed on four: its places mean other keys now.
    await expect(store.scan(cursor)).rejects.toThrow(/masters changed since this scan started/);

    // The traffic spread: nothing on the new master before, its share of the users after.
    expect(spreadBefore.has(added.port)).toBe(false);
    const total = [...spreadAfter.values()].reduce((a, b) => a + b, 0);
    expect(spreadAfter.get(added.port)! / total).toBeGreaterThan(0.05);
    for (const port of masters) expect(spreadAfter.get(port)!).toBeGreaterThan(0);
  }, 90_000);
});
