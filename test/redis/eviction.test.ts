/**
 * Eviction: every key the store writes has a TTL, so under a volatile-* policy (and an
 * allkeys-* one) Redis may evict a user index or a revocation mark while the sessions stay, and
 * revokeUser then misses them. Only `noeviction` is safe; the ioredis store's health says which
 * policy the server runs and how many keys it has evicted, and reports "degraded" otherwise.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ioredisStore } from "../../adapters/ioredis/index.ts";
import { createSessions, generateKey } from "../../src/index.ts";
import { userTag } from "../../src/session-id.ts";
import { testHandle, testRecord } from "cloakroom/testing";
import { startRedisProcess, type RedisProcess } from "../support/redis-server.ts";

const servers: Record<string, RedisProcess> = {};
const clients: Redis[] = [];

beforeAll(async () => {
  const policies = { noeviction: "noeviction", volatile: "volatile-lru", allkeys: "allkeys-lru" };
  await Promise.all(
    Object.entries(policies).map(async ([name, policy]) => {
      servers[name] = await startRedisProcess({ args: () => ["--maxmemory", "4mb", "--maxmemory-policy", policy] });
    }),
  );
});

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await Promise.all(Object.values(servers).map((server) => server.stop()));
});

function clientOf(name: string): Redis {
  const client = new Redis(servers[name]!.url);
  clients.push(client);
  return client;
}

describe("ioredis store: health reports the eviction policy", () => {
  it("noeviction: eviction-safe, status ok", async () => {
    const store = ioredisStore({ client: clientOf("noeviction") });
    const health = await store.health();
    expect(health.ok).toBe(true);
    expect(health.details).toMatchObject({ maxmemoryPolicy: "noeviction", evictedKeys: 0, evictionSafe: true });
    expect(health.details?.status).toBeUndefined();
    expect((await createSessions({ store, keys: generateKey("k1") }).health()).status).toBe("ok");
  });

  it("allkeys-lru: not eviction-safe, degraded", async () => {
    const store = ioredisStore({ client: clientOf("allkeys") });
    expect((await store.health()).details).toMatchObject({ maxmemoryPolicy: "allkeys-lru", evictionSafe: false, status: "degraded" });
  });

  it("volatile-lru: not eviction-safe, degraded, and counts the keys evicted, which revokeUser then misses", async () => {
    const client = clientOf("volatile");
    const store = ioredisStore({ client, keyPrefix: "ev:" });
    const sessions = createSessions({ store, keys: generateKey("k1") });
    const before = await store.health();
    expect(before.ok).toBe(true);
    expect(before.details).toMatchObject({ maxmemoryPolicy: "volatile-lru", evictedKeys: 0, evictionSafe: false, status: "degraded" });
    expect((await sessions.health()).status).toBe("degraded");

    // Fill the 4 MB: two sessions per user, 6 KB each.
    const users = Array.from({ length: 300 }, (_, i) => `user${i}`);
    const handles = new Map<string, string[]>();
    for (const user of users) {
      const mine = [0, 1].map(() => `${userTag(user)}.${testHandle().slice(5)}`);
      handles.set(user, mine);
      for (const handle of mine) await store.write(handle, testRecord({ userId: user, data: { pad: "x".repeat(6000) } }), 0);
    }
    const after = await store.health();
    expect(after.details?.evictedKeys).toBeGreaterThan(0);
    expect(after.details?.evictedKeys).toBe(Number(/evicted_keys:(\d+)/.exec(String(await client.info("stats")))![1]));
    // What the report warns of: sessions that outlive their user's revocation.
    let survivors = 0;
    for (const user of users) {
      await store.revokeUser(user);
      for (const handle of handles.get(user)!) if (await store.read(handle)) survivors++;
    }
    expect(survivors).toBeGreaterThan(0);
  });
});
