/**
 * The ioredis store on a three-master Redis Cluster made here: the conformance suite through a
 * Cluster client, then the slot layout that keeps a user's operations atomic (store rule 8).
 */
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failoverSafeClusterOptions, ioredisStore, type IoredisStore } from "../../adapters/ioredis/index.ts";
import { createSessions, generateKey } from "../../src/index.ts";
import { userTag } from "../../src/session-id.ts";
import { storeConformance, testHandle, testRecord } from "cloakroom/testing";
import { keysUnder, redisBackend } from "../support/redis-backend.ts";
import { startRedisCluster, type RedisCluster } from "../support/redis-cluster.ts";
import { uniqueKeyPrefix } from "../support/redis-server.ts";
import { demoInstances } from "./demo-instance.ts";
import { describeRevokeRaces } from "./revoke-races.ts";

let cluster: RedisCluster;
let client: Cluster;
let stores = 0;
const prefix = uniqueKeyPrefix("cluster");

beforeAll(async () => {
  cluster = await startRedisCluster();
  client = new Cluster(cluster.startupNodes, failoverSafeClusterOptions());
});

const demos = demoInstances();

afterAll(async () => {
  await demos.closeAll();
  client?.disconnect();
  await cluster?.stop();
});

const direct = { get client() { return client; }, servers: () => client.nodes("master") };

storeConformance<IoredisStore>("ioredis on Redis Cluster", {
  create: () => ioredisStore({ client, keyPrefix: `${prefix}${++stores}:` }),
  backend: redisBackend(direct),
});

describe("ioredis store on Cluster: slots", () => {
  it("keeps every key of a user in the slot of the user's tag, and spreads users over the masters", async () => {
    const keyPrefix = `${prefix}slots:`;
    const store = ioredisStore({ client, keyPrefix });
    const sessions = createSessions({ store, keys: generateKey("k1") });
    const users = Array.from({ length: 24 }, (_, i) => `user-${i}@example.com`);
    for (const user of users) {
      for (let device = 0; device < 2; device++) {
        const session = await sessions.read(null);
        session.userId = user;
        session.set("device", device);
        await sessions.commit(session);
      }
      await sessions.revokeUser(user, { except: (await sessions.listUser(user))[0]!.handle });
    }

    const keys = await keysUnder(client.nodes("master"), keyPrefix);
    for (const user of users) {
      const own = keys.filter((key) => key.startsWith(`${keyPrefix}{${userTag(user)}}:`));
      // The surviving session, the index and the revocation mark.
      expect(own.length, user).toBe(3);
      const slots = new Set(await Promise.all(own.map((key) => client.cluster("KEYSLOT", key))));
      expect(slots.size, user).toBe(1);
    }
    // Different users land on different nodes: the layout does not pile everything on one.
    const perNode = await Promise.all(client.nodes("master").map(async (node) => (await keysUnder([node], keyPrefix)).length));
    expect(perNode.filter((n) => n > 0).length).toBe(3);
  });

  it("refuses a user's session under a handle of another slot, naming store rule 8", async () => {
    const store = ioredisStore({ client, keyPrefix: `${prefix}rule8:` });
    const foreign = testHandle("someone-else");
    await expect(store.write(foreign, testRecord({ userId: "ann" }), 0)).rejects.toThrow(/cloakroom: .*store rule 8/);
  });
});

describe("the demo on REDIS_CLUSTER_NODES", () => {
  it("signs in and counts on two instances, and reports the cluster in /health", async () => {
    const env = {
      // One node is enough to find the others.
      REDIS_CLUSTER_NODES: `${cluster.startupNodes[0]!.host}:${cluster.startupNodes[0]!.port}`,
      REDIS_KEY_PREFIX: `${prefix}demo:`,
      SESSION_KEYS: generateKey("demo"),
    };
    const [a, b] = [await demos.demoInstance(env), await demos.demoInstance(env)];
    expect(a.logged).toEqual([`cloakroom: sessions in Redis Cluster via ${env.REDIS_CLUSTER_NODES} (REDIS_CLUSTER_NODES)`]);
    const cookie = await a.login("cleo");
    expect(await b.call("POST", "/count", cookie)).toMatchObject({ status: 200, body: { count: 1 } });
    expect(await a.call("GET", "/me", cookie)).toMatchObject({ status: 200, body: { user: "cleo", count: 1 } });
    expect(await a.call("GET", "/health")).toMatchObject({
      status: 200,
      body: { status: "ok", store: { details: { deployment: "cluster", state: "ok", masters: 3, slotsOk: 16384 } } },
    });
  });
});

describeRevokeRaces("Cluster", () => ({ client, store: () => ioredisStore({ client, keyPrefix: `${prefix}races${++stores}:` }) }));
