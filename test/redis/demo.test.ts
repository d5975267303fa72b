/**
 * The demo on Redis (REDIS_URL), as two app instances and across a restart, each built the
 * way server.ts builds it: configFromEnv + storeFromEnv + createDemoApp. Then the REDIS_*
 * variables' errors. (The demo on REDIS_SENTINELS and REDIS_CLUSTER_NODES is in
 * sentinel.test.ts and cluster.test.ts, next to their servers.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKey } from "../../src/index.ts";
import type { Env } from "../../examples/hono-node/config.ts";
import { storeFromEnv } from "../../env/index.ts";
import { standaloneRedis, type RedisForTests } from "../support/redis-server.ts";
import { demoInstances } from "./demo-instance.ts";

let server: RedisForTests;
const { demoInstance, closeAll } = demoInstances();

beforeAll(async () => {
  server = await standaloneRedis("demo");
});

afterAll(async () => {
  await closeAll();
  await server?.stop();
});

function redisEnv(extra: Env = {}): Env {
  return { REDIS_URL: server.url, REDIS_KEY_PREFIX: server.keyPrefix, SESSION_KEYS: generateKey("demo"), ...extra };
}

describe("the demo on REDIS_URL", () => {
  it("shares sessions between two instances on one Redis", async () => {
    const env = redisEnv();
    const [a, b] = [await demoInstance(env), await demoInstance(env)];
    expect(a.store.name).toBe("ioredis");
    const cookie = await a.login("alice");
    expect(await b.call("GET", "/me", cookie)).toMatchObject({ status: 200, body: { user: "alice", count: 0 } });
    expect(await b.call("POST", "/count", cookie)).toMatchObject({ status: 200, body: { count: 1 } });
    expect(await a.call("GET", "/me", cookie)).toMatchObject({ status: 200, body: { count: 1 } });
    const other = await b.login("alice");
    expect(((await a.call("GET", "/sessions", cookie)).body.sessions as unknown[]).length).toBe(2);
    expect(await a.call("POST", "/logout-all", cookie)).toMatchObject({ status: 200, body: { revoked: 2 } });
    expect((await b.call("GET", "/me", other)).status).toBe(401);
  });

  it("keeps a session across a restart with the same SESSION_KEYS, and not with new keys", async () => {
    const env = redisEnv();
    const first = await demoInstance(env);
    const cookie = await first.login("bob");
    await first.call("POST", "/count", cookie);
    await first.close(); // the old process is gone: its client is closed

    const restarted = await demoInstance(env);
    expect(await restarted.call("GET", "/me", cookie)).toMatchObject({ status: 200, body: { user: "bob", count: 1 } });
    // Control: the session lives in Redis, but only the keys open the cookie that names it.
    const rekeyed = await demoInstance({ ...env, SESSION_KEYS: generateKey("other") });
    expect((await rekeyed.call("GET", "/me", cookie)).status).toBe(401);
  });

  it("reports Redis in /health", async () => {
    const demo = await demoInstance(redisEnv());
    const health = await demo.call("GET", "/health");
    expect(health).toMatchObject({ status: 200, body: { status: "ok", store: { name: "ioredis", ok: true, details: { deployment: "standalone" } } } });
  });
});

describe("the demo's REDIS_* variables", () => {
  const fails = (env: Env) => storeFromEnv(env, { log: false }).then(() => "no error", (error: Error) => error.message);

  it("refuses two deployments at once", async () => {
    expect(await fails({ REDIS_URL: "redis://127.0.0.1:1", REDIS_CLUSTER_NODES: "127.0.0.1:1" })).toMatch(
      /^cloakroom: REDIS_URL and REDIS_CLUSTER_NODES are set; set only one/,
    );
  });

  it("needs REDIS_SENTINEL_NAME with REDIS_SENTINELS, and the other way round", async () => {
    expect(await fails({ REDIS_SENTINELS: "127.0.0.1:26379" })).toMatch(/^cloakroom: REDIS_SENTINELS is set but REDIS_SENTINEL_NAME is not/);
    expect(await fails({ REDIS_SENTINEL_NAME: "mymaster" })).toMatch(/^cloakroom: REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not/);
  });

  it("names a bad address list or prefix without echoing a password", async () => {
    const message = await fails({ REDIS_CLUSTER_NODES: "10.0.0.1:7000,nonsense", REDIS_PASSWORD: "hunter2" });
    expect(message).toMatch(/^cloakroom: REDIS_CLUSTER_NODES must be host:port pairs separated by commas/);
    expect(await fails({ REDIS_URL: "redis://:hunter2@127.0.0.1:1", REDIS_KEY_PREFIX: "app{1}" })).toMatch(/^cloakroom: REDIS_KEY_PREFIX must be a string without/);
    expect(await fails({ REDIS_URL: "not a url :hunter2" })).toMatch(/^cloakroom: REDIS_URL is not a URL/);
    for (const text of [message, await fails({ REDIS_URL: "not a url :hunter2" })]) expect(text).not.toContain("hunter2");
  });
});
