/**
 * The Upstash adapter: the real @upstash/redis client, through the REST bridge, on a real
 * redis-server this file starts. The conformance suite checks what was written by reading
 * Redis directly (PEXPIRETIME, SCAN), not through the adapter.
 */
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upstashStore, type UpstashStore } from "../../adapters/upstash/index.ts";
import { createSessions, generateKey, SessionError } from "../../src/index.ts";
import { storeConformance, testHandle, testRecord } from "cloakroom/testing";
import { connectResp, RespError, type RespClient, type RespReply } from "../support/resp-client.ts";
import { startStandaloneRedis, type RedisProcess } from "../support/redis-server.ts";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.ts";
import { editStored } from "../support/stored-record.ts";

process.env.UPSTASH_DISABLE_TELEMETRY = "1";

let server: RedisProcess;
let bridge: UpstashBridge;
let direct: RespClient;
/** One client for the whole file, as an application holds one (its sync token lives in it). */
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

/** One command straight to Redis, bypassing the bridge and the adapter. */
async function redis(...command: string[]): Promise<RespReply> {
  const [reply] = await direct.send([command]);
  if (reply instanceof RespError) throw new Error(`redis ${command[0]}: ${reply.message}`);
  return reply!;
}

/** Epoch ms at which Redis drops `key`; null when never; undefined when there is no such key. */
async function expiryOfKey(key: string): Promise<number | null | undefined> {
  const at = (await redis("PEXPIRETIME", key)) as number;
  return at === -2 ? undefined : at === -1 ? null : at;
}

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  // SCAN, not KEYS: it does not block the server, the habit to keep with a shared Redis.
  do {
    const [next, batch] = (await redis("SCAN", cursor, "MATCH", `${prefix}*`, "COUNT", "1000")) as [Buffer, Buffer[]];
    cursor = next.toString();
    keys.push(...batch.map(String));
  } while (cursor !== "0");
  return keys;
}

/** A key prefix no other test uses (no glob characters, so it is safe in SCAN MATCH). */
const freshPrefix = () => `cr-test:${crypto.randomUUID()}:`;

storeConformance<UpstashStore>("upstash (REST bridge to redis-server)", {
  create: () => upstashStore({ client, keyPrefix: freshPrefix() }),
  backend: {
    expiryOf: (store, handle) => expiryOfKey(store.keys.session(handle)),
    // A key that expired between SCAN and PEXPIRETIME is gone (undefined), not "no expiry" (null).
    everything: async (store) =>
      (await Promise.all((await keysUnder(store.keys.prefix)).map(async (key) => ({ key, expiresAt: await expiryOfKey(key) }))))
        .flatMap(({ key, expiresAt }) => (expiresAt === undefined ? [] : [{ key, expiresAt }])),
    // The string keeps its shape and expiry; only the data stops being JSON.
    corrupt: (store, handle) => editStored(redis, store.keys.session(handle), "data", "{not json"),
  },
});

describe("upstash store: what is special to it", () => {
  /** HTTP requests the bridge served while `run` ran. */
  async function requestsDuring(run: () => Promise<unknown>): Promise<number> {
    const before = bridge.requests.length;
    await run();
    return bridge.requests.length - before;
  }

  it("reads a session in one HTTP request, touch included, once the script is loaded", async () => {
    const store = upstashStore({ client, keyPrefix: freshPrefix() });
    const handle = testHandle("ann");
    const past = Date.now() - 60_000;
    await store.write(handle, testRecord({ userId: "ann", lastSeenAt: past, expiresAt: past + 120_000 }), 0);
    await redis("SCRIPT", "FLUSH");
    // The first read after a flush meets NOSCRIPT and sends the script: two requests, once.
    expect(await requestsDuring(() => store.read(handle))).toBe(2);
    for (let i = 0; i < 5; i++) expect(await requestsDuring(() => store.read(handle))).toBe(1);
    let touched: boolean | undefined;
    expect(await requestsDuring(async () => (touched = (await store.read(handle, { now: Date.now(), interval: 1_000 }))?.touched))).toBe(1);
    expect(touched).toBe(true);
    expect(await requestsDuring(() => store.read(testHandle()))).toBe(1);
    expect(bridge.requests.at(-1)!.commands.map((command) => command[0])).toEqual(["evalsha"]);
  });

  it("serves a request with a live session in one HTTP request through createSessions, and a forged one in none", async () => {
    const sessions = createSessions({ store: upstashStore({ client, keyPrefix: freshPrefix() }), keys: generateKey("k1") });
    const first = await sessions.read(null);
    first.set("visits", 1);
    const cookie = (await sessions.commit(first))!.split(";")[0]!;
    await sessions.read(cookie); // warm: the read script is loaded and the ticket remembered
    let visits: unknown;
    expect(await requestsDuring(async () => (visits = (await sessions.read(cookie)).get("visits")))).toBe(1);
    expect(visits).toBe(1);
    const forged = `${cookie.slice(0, -4)}AAAA`;
    expect(await requestsDuring(() => sessions.read(forged))).toBe(0);
  });

  it("keeps strings that look like JSON or base64 as strings: user ids, data, handles", async () => {
    // The client JSON-parses every string it receives and decodes base64; a userId "42" that
    // came back as the number 42 would fail the shape check and read as no session.
    const store = upstashStore({ client, keyPrefix: freshPrefix() });
    for (const userId of ["42", "null", "true", "test", "[1]", '{"a":1}', "OK"]) {
      const handle = testHandle(userId);
      const record = testRecord({ userId, data: { value: userId, b64: "dGVzdA==" } });
      expect(await store.write(handle, record, 0), userId).toBe(true);
      expect(await store.read(handle), userId).toEqual({ record, touched: false });
      expect(await store.listUser(userId), userId).toEqual([{ handle, record }]);
    }
  });

  it("reads a key of the wrong type where a session should be as no session", async () => {
    const store = upstashStore({ client, keyPrefix: freshPrefix() });
    const handle = testHandle();
    await redis("RPUSH", store.keys.session(handle), "not a session");
    await redis("PEXPIRE", store.keys.session(handle), "60000");
    expect(await store.read(handle)).toBeNull();
    expect(await store.read(handle, { now: Date.now(), interval: 0 })).toBeNull();
  });

  it("reports health as the PING round trip", async () => {
    const store = upstashStore({ client, keyPrefix: freshPrefix() });
    const health = await store.health();
    expect(health.ok).toBe(true);
    expect(health.latencyMs).toBeGreaterThanOrEqual(0);
    expect(bridge.requests.at(-1)!.commands).toEqual([["ping"]]);
  });

  it("throws when the server is down, never reads it as no session; through createSessions it is ERR_SESSION_STORE", async () => {
    const lonely = await startUpstashBridge({ redisPort: server.port });
    const downClient = new Redis({ url: lonely.url, token: lonely.token, enableTelemetry: false, retry: false });
    const store = upstashStore({ client: downClient, keyPrefix: freshPrefix() });
    const events: string[] = [];
    const sessions = createSessions({ store, keys: generateKey("k1"), onEvent: (event) => void events.push(event.type) });
    const session = await sessions.read(null);
    session.set("n", 1);
    const cookie = (await sessions.commit(session))!.split(";")[0]!;
    const handle = testHandle();
    await store.write(handle, testRecord(), 0);

    await lonely.close();
    await expect(store.read(handle)).rejects.toMatchObject({ code: "ERR_SESSION_STORE" });
    await expect(store.write(testHandle(), testRecord(), 0)).rejects.toBeInstanceOf(SessionError);
    await expect(store.health()).rejects.toBeInstanceOf(SessionError);
    const error = await sessions.read(cookie).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).code).toBe("ERR_SESSION_STORE");
    expect((error as Error).message).toMatch(/^cloakroom: /);
    expect(events).toContain("store-error");
    // Nothing that opens a session may be in the error or its causes.
    let text = "";
    for (let e: unknown = error; e instanceof Error; e = e.cause) text += `${e.message}\n${e.stack}\n`;
    expect(text).not.toContain(cookie.slice(cookie.indexOf("=") + 1));
    expect(text).not.toContain(lonely.token);
  });

  it("refuses a missing client, a client that is not one, and unknown options", () => {
    const config = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(SessionError);
        expect((error as SessionError).code).toBe("ERR_SESSION_CONFIG");
        return (error as Error).message;
      }
      throw new Error("expected ERR_SESSION_CONFIG");
    };
    expect(config(() => upstashStore(undefined as never))).toMatch(/^cloakroom: upstashStore needs an options object/);
    expect(config(() => upstashStore({} as never))).toMatch(/needs `client`: an @upstash\/redis Redis/);
    expect(config(() => upstashStore({ client: { url: "https://x" } } as never))).toMatch(/needs `client`/);
    expect(config(() => upstashStore({ client, keyprefix: "x:" } as never))).toMatch(/unknown option\(s\) "keyprefix"/);
    expect(config(() => upstashStore({ client, keyPrefix: "{x}:" }))).toMatch(/keyPrefix/);
  });

  it("never closes the application's client", async () => {
    const store = upstashStore({ client, keyPrefix: freshPrefix() });
    await store.close();
    expect(await client.ping()).toBe("PONG");
  });
});
