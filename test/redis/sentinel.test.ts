/**
 * The ioredis store behind Sentinel (primary + replica + three sentinels, all started here):
 * the conformance suite through a Sentinel client, then what the health probe reports.
 * The failover itself is in failover.test.ts.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failoverSafeOptions, ioredisStore, type IoredisStore } from "../../adapters/ioredis/index.ts";
import { storeConformance } from "cloakroom/testing";
import { redisBackend } from "../support/redis-backend.ts";
import { uniqueKeyPrefix, waitFor } from "../support/redis-server.ts";
import { startSentinelGroup, type SentinelGroup } from "../support/redis-sentinel.ts";
import { createSessions, generateKey } from "../../src/index.ts";
import { demoInstances } from "./demo-instance.ts";

let group: SentinelGroup;
let client: Redis;
let sentinel: Redis;
let stores = 0;
const prefix = uniqueKeyPrefix("sentinel");

beforeAll(async () => {
  group = await startSentinelGroup();
  client = new Redis({ ...failoverSafeOptions(), sentinels: group.sentinelAddresses, name: group.name });
  sentinel = new Redis({ ...group.sentinelAddresses[0]!, lazyConnect: true });
});

const demos = demoInstances();

afterAll(async () => {
  await demos.closeAll();
  client?.disconnect();
  sentinel?.disconnect();
  await group?.stop();
});

storeConformance<IoredisStore>("ioredis through Sentinel", {
  create: () => ioredisStore({ client, keyPrefix: `${prefix}${++stores}:` }),
  backend: redisBackend({ get client() { return client; }, servers: () => [client] }),
});

describe("the demo on REDIS_SENTINELS", () => {
  it("signs in and counts on two instances, and reports the quorum in /health", async () => {
    const env = {
      REDIS_SENTINELS: group.sentinelAddresses.map((a) => `${a.host}:${a.port}`).join(","),
      REDIS_SENTINEL_NAME: group.name,
      REDIS_KEY_PREFIX: `${prefix}demo:`,
      SESSION_KEYS: generateKey("demo"),
    };
    const [a, b] = [await demos.demoInstance(env), await demos.demoInstance(env)];
    expect(a.description).toBe(`Redis Sentinel master "${group.name}" via 3 sentinels ${env.REDIS_SENTINELS.replaceAll(",", ", ")} (REDIS_SENTINELS)`);
    expect(a.logged).toEqual([`cloakroom: sessions in ${a.description}`]);
    const cookie = await a.login("sam");
    expect(await b.call("POST", "/count", cookie)).toMatchObject({ status: 200, body: { count: 1 } });
    expect(await a.call("GET", "/me", cookie)).toMatchObject({ status: 200, body: { user: "sam", count: 1 } });
    expect(await a.call("GET", "/health")).toMatchObject({
      status: 200,
      body: { status: "ok", store: { details: { deployment: "sentinel", replicasOnline: 1, quorum: { ok: true }, failoverReady: true } } },
    });
  });
});

describe("ioredis store behind Sentinel: health", () => {
  it("reports the primary's role, its online replica and the sentinels' quorum", async () => {
    const store = ioredisStore({ client, keyPrefix: prefix, sentinel });
    const health = await store.health();
    expect(health.ok).toBe(true);
    expect(health.latencyMs).toBeGreaterThanOrEqual(0);
    expect(health.details).toMatchObject({
      deployment: "sentinel",
      role: "master",
      replicasOnline: 1,
      quorum: { ok: true },
      failoverReady: true,
      status: "ok",
    });
    expect(String((health.details!.quorum as { message: string }).message)).toMatch(/^OK 3 usable Sentinels/);
  });

  it("refuses a sentinel option on a client that is not a Sentinel client", () => {
    const plain = new Redis({ lazyConnect: true });
    expect(() => ioredisStore({ client: plain, sentinel })).toThrow(/cloakroom: .*`sentinel` option is for Sentinel deployments/);
    plain.disconnect();
  });

  // Last: it stops part of the deployment.
  it("still serves, but says a failover is not possible, once the replica and two sentinels are gone", async () => {
    const store = ioredisStore({ client, keyPrefix: prefix, sentinel });
    await group.servers[1]!.stop();
    await Promise.all(group.sentinels.slice(1).map((s) => s.stop()));
    // Sentinels notice a peer is gone after down-after-milliseconds (1 s here).
    const health = await waitFor("health to show the failover path gone", async () => {
      const h = await store.health();
      return h.details?.failoverReady === false && (h.details.quorum as { ok: boolean }).ok === false && h.details.replicasOnline === 0 ? h : undefined;
    });
    expect(health.ok).toBe(true);
    expect(String((health.details!.quorum as { message: string }).message)).toMatch(/NOQUORUM/);
    // Served, but not as designed: the manager says "degraded" (healthHandler: 200, not 503).
    expect(health.details!.status).toBe("degraded");
    expect((await createSessions({ store, keys: generateKey("k") }).health()).status).toBe("degraded");
  });
});
