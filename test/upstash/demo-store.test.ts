/**
 * storeFromEnv's Upstash branch (cloakroom/env, which the demo uses): UPSTASH_REDIS_REST_URL +
 * _TOKEN give the Upstash store, preferred over REDIS_URL, and two processes on one database
 * share sessions. Runs against the REST bridge and a real redis-server.
 */
import { createSessions, generateKey, SessionError } from "cloakroom";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFromEnv } from "cloakroom/env";
import { startStandaloneRedis, type RedisProcess } from "../support/redis-server.ts";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.ts";

process.env.UPSTASH_DISABLE_TELEMETRY = "1";

let server: RedisProcess;
let bridge: UpstashBridge;

beforeAll(async () => {
  server = await startStandaloneRedis();
  bridge = await startUpstashBridge({ redisPort: server.port });
});

afterAll(async () => {
  await bridge?.close();
  await server?.stop();
});

const upstashEnv = () => ({ UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token });

async function configError(env: Record<string, string>): Promise<string> {
  const error = await storeFromEnv(env, { log: false }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SessionError);
  expect((error as SessionError).code).toBe("ERR_SESSION_CONFIG");
  return (error as Error).message;
}

describe("demo store from the environment: Upstash", () => {
  it("shares sessions between two demo processes on one database, without a warning", async () => {
    const keys = generateKey("k1");
    const [one, two] = [await storeFromEnv(upstashEnv(), { log: false }), await storeFromEnv(upstashEnv(), { log: false })];
    expect(one.store.name).toBe("upstash");
    expect(one.warnings).toEqual([]);
    const first = createSessions({ store: one.store, keys });
    const session = await first.read(null);
    session.set("visits", 3);
    const cookie = (await first.commit(session))!.split(";")[0]!;
    const before = bridge.requests.length;
    expect((await createSessions({ store: two.store, keys }).read(cookie)).get("visits")).toBe(3);
    expect(bridge.requests.length).toBeGreaterThan(before);
    await one.close();
    await two.close();
  });

  it("prefers Upstash over REDIS_URL when both are set, says so, and never prints the token", async () => {
    const choice = await storeFromEnv({ ...upstashEnv(), REDIS_URL: "redis://:hunter2@cache.internal:6379" }, { log: false });
    expect(choice.store.name).toBe("upstash");
    const text = choice.warnings.join("\n");
    expect(text).toMatch(/REDIS_URL ignored/);
    expect(text).not.toContain(bridge.token);
    expect(text).not.toContain("hunter2");
  });

  it("refuses half a configuration or a URL that is not the REST URL, naming the variable and not the value", async () => {
    const token = "secret-token-value";
    expect(await configError({ UPSTASH_REDIS_REST_URL: bridge.url })).toMatch(/UPSTASH_REDIS_REST_TOKEN is not/);
    expect(await configError({ UPSTASH_REDIS_REST_TOKEN: token })).toMatch(/UPSTASH_REDIS_REST_URL is not/);
    for (const url of ["redis://default:pw@x.upstash.io:6379", "not a url", "https://default:pw@x.upstash.io"]) {
      const message = await configError({ UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token });
      expect(message).toMatch(/^cloakroom: UPSTASH_REDIS_REST_URL /);
      expect(message).not.toContain("pw");
      expect(message).not.toContain(token);
    }
  });
});
