/**
 * The Redis replay backend through ioredis on the three deployments, on servers started here:
 * the replay conformance suite on a standalone server (with extra connections for the
 * concurrency test), on a three-master Cluster and behind Sentinel; then what is special to
 * Redis: one round trip per append and per read, a channel's keys in one slot, gap-free numbers
 * from several processes.
 */
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failoverSafeClusterOptions, failoverSafeOptions, redisReplay, type RedisReplay } from "../../adapters/ioredis/index.ts";
import { createReplayLog } from "../../src/replay/index.ts";
import { replayConformance } from "cloakroom/testing";
import { startRedisCluster, type RedisCluster } from "../support/redis-cluster.ts";
import { standaloneRedis, uniqueKeyPrefix, type RedisForTests } from "../support/redis-server.ts";
import { startSentinelGroup, type SentinelGroup } from "../support/redis-sentinel.ts";
import { appendFromProcesses } from "../support/replay-processes.ts";

let shared: RedisForTests;
let cluster: RedisCluster;
let group: SentinelGroup;
let client: Redis;
let clusterClient: Cluster;
let sentinelClient: Redis;
const extra: Redis[] = [];

beforeAll(async () => {
  [shared, cluster, group] = await Promise.all([standaloneRedis("replay"), startRedisCluster(), startSentinelGroup()]);
  client = new Redis(shared.url);
  clusterClient = new Cluster(cluster.startupNodes, failoverSafeClusterOptions());
  sentinelClient = new Redis({ ...failoverSafeOptions(), sentinels: group.sentinelAddresses, name: group.name });
});

afterAll(async () => {
  for (const redis of [client, sentinelClient, ...extra]) redis?.disconnect();
  clusterClient?.disconnect();
  await Promise.all([shared?.stop(), cluster?.stop(), group?.stop()]);
});

/** The ids of the channel's stream entries, read directly. */
const storedSeqs = (redis: () => Redis | Cluster) => async (backend: RedisReplay, channel: string) => {
  const entries = (await redis().xrange(backend.keys.channel(channel)[1], "-", "+")) as [string, string[]][];
  return entries.map(([id]) => Number(id.split("-")[0]));
};

replayConformance<RedisReplay>("redis via ioredis, standalone", {
  create: () => redisReplay({ client, keyPrefix: shared.keyPrefix }),
  async clients(backend, count) {
    return Array.from({ length: count }, () => {
      const own = new Redis(shared.url);
      extra.push(own);
      return redisReplay({ client: own, keyPrefix: backend.keys.prefix });
    });
  },
  direct: { storedSeqs: storedSeqs(() => client) },
});

replayConformance<RedisReplay>("redis via ioredis, Cluster", {
  create: () => redisReplay({ client: clusterClient, keyPrefix: "replay-cluster:" }),
  direct: { storedSeqs: storedSeqs(() => clusterClient) },
});

replayConformance<RedisReplay>("redis via ioredis, Sentinel", {
  create: () => redisReplay({ client: sentinelClient, keyPrefix: "replay-sentinel:" }),
  direct: { storedSeqs: storedSeqs(() => sentinelClient) },
});

describe("redis replay backend", () => {
  it("appends and reads in one round trip each: one EVALSHA", async () => {
    const redis = new Redis(shared.url);
    extra.push(redis);
    const log = createReplayLog({ backend: redisReplay({ client: redis, keyPrefix: uniqueKeyPrefix("trips") }) });
    await log.append("room", "warm");
    await log.since("room", 0);
    const sent: string[] = [];
    const original = redis.sendCommand;
    redis.sendCommand = function (this: Redis, command, stream) {
      sent.push(command.name);
      return original.call(this, command, stream);
    } as Redis["sendCommand"];
    await log.append("room", { n: 1 });
    expect(sent.splice(0)).toEqual(["evalsha"]);
    const read = await log.since("room", 0);
    expect(sent.splice(0)).toEqual(["evalsha"]);
    redis.sendCommand = original;
    expect(read.gap === false && read.events.map((e) => e.event)).toEqual(["warm", { n: 1 }]);
  });

  it("keeps every key of a channel in one Cluster slot, and spreads channels over the masters", async () => {
    const backend = redisReplay({ client: clusterClient, keyPrefix: "replay-slots:" });
    const log = createReplayLog({ backend });
    const channels = Array.from({ length: 12 }, (_, i) => `room:${i}`);
    for (const channel of channels) {
      await log.append(channel, 1);
      await log.heartbeat(channel, "m");
      await backend.window.mergeWindow(channel, [{ seq: 1, at: Date.now(), payload: "1" }], { size: 10, now: Date.now(), ttlMs: 60_000, fresh: true });
    }
    const slots = new Set<number>();
    for (const channel of channels) {
      const keys = [...backend.keys.channel(channel), backend.keys.window(channel)];
      const owners = await Promise.all(keys.map((key) => clusterClient.cluster("KEYSLOT", key) as Promise<number>));
      expect(new Set(owners).size).toBe(1);
      slots.add(owners[0]!);
    }
    expect(slots.size).toBeGreaterThan(6);
  });

  it("numbers appends from several processes at once without a gap or a duplicate", async () => {
    const keyPrefix = uniqueKeyPrefix("processes");
    const seqs = await appendFromProcesses({ kind: "redis", url: shared.url, namespace: keyPrefix, channel: "race", processes: 3, each: 100 });
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    const log = createReplayLog({ backend: redisReplay({ client, keyPrefix }) });
    const read = await log.since("race", 0, { limit: 1000 });
    expect(read.gap === false && read.events.map((e) => e.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it("takes a clock with fractions of a millisecond (performance.timeOrigin + now()): times are whole ms", async () => {
    const log = createReplayLog({ backend: redisReplay({ client, keyPrefix: uniqueKeyPrefix("fraction") }), clock: () => Date.now() + 0.25 });
    await log.append("room", 1);
    await log.heartbeat("room", "m", { ttl: 10 });
    await log.ack("room", "m", 1);
    const [member] = await log.members("room");
    expect(member).toMatchObject({ member: "m", seq: 1 });
    expect(Number.isInteger(member!.heartbeatAt)).toBe(true);
  });

  it("refuses a client that is not ioredis, and a prefix with braces", () => {
    expect(() => redisReplay({ client: {} as never })).toThrow(/redisReplay needs `client`/);
    expect(() => redisReplay({ client, keyPrefix: "a{b}" })).toThrow(/keyPrefix must be a string without/);
  });
});

describe("redis replay backend: a head lost while the stream stayed", () => {
  it("goes on after the stream's last number: never one used twice", async () => {
    const backend = redisReplay({ client, keyPrefix: uniqueKeyPrefix("lost-head") });
    const log = createReplayLog({ backend });
    for (let i = 1; i <= 3; i++) await log.append("room", i);
    await client.del(backend.keys.channel("room")[0]);
    expect(await log.append("room", 4)).toEqual({ seq: 4 });
    const read = await log.since("room", 0);
    expect(read.gap === false && read.events.map((e) => [e.seq, e.event])).toEqual([[1, 1], [2, 2], [3, 3], [4, 4]]);
  });
});
