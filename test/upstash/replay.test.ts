/**
 * The Redis replay backend through @upstash/redis, over the REST bridge to a real redis-server
 * started here: the replay conformance suite, then one HTTP request per append and per read.
 */
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisReplay, type RedisReplay } from "../../adapters/upstash/index.ts";
import { createReplayLog } from "../../src/replay/index.ts";
import { replayConformance } from "cloakroom/testing";
import { connectResp, type RespClient } from "../support/resp-client.ts";
import { startStandaloneRedis, type RedisProcess } from "../support/redis-server.ts";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.ts";

process.env.UPSTASH_DISABLE_TELEMETRY = "1";

let server: RedisProcess;
let bridge: UpstashBridge;
let direct: RespClient;
let client: Redis;

beforeAll(async () => {
  server = await startStandaloneRedis();
  bridge = await startUpstashBridge({ redisPort: server.port });
  direct = await connectResp(server.port);
  client = new Redis({ url: bridge.url, token: bridge.token, enableTelemetry: false });
});

afterAll(async () => {
  direct?.close();
  await bridge?.close();
  await server?.stop();
});

replayConformance<RedisReplay>("redis via @upstash/redis (REST bridge)", {
  create: () => redisReplay({ client, keyPrefix: "upstash-replay:" }),
  direct: {
    async storedSeqs(backend, channel) {
      const [reply] = await direct.send([["XRANGE", backend.keys.channel(channel)[1], "-", "+"]]);
      return (reply as [Buffer, Buffer[]][]).map(([id]) => Number(String(id).split("-")[0]));
    },
  },
});

describe("redis replay backend over Upstash", () => {
  it("makes one HTTP request per append and per read", async () => {
    const log = createReplayLog({ backend: redisReplay({ client, keyPrefix: "upstash-trips:" }) });
    await log.append("room", "warm");
    await log.since("room", 0);
    const before = bridge.requests.length;
    await log.append("room", { text: "hé" });
    expect(bridge.requests.length - before).toBe(1);
    const read = await log.since("room", 0);
    expect(bridge.requests.length - before).toBe(2);
    expect(read.gap === false && read.events.map((e) => e.event)).toEqual(["warm", { text: "hé" }]);
    expect(() => redisReplay({ client: {} as never })).toThrow(/redisReplay needs `client`/);
  });
});
