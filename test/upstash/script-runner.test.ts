/**
 * The Upstash script runner against real Redis through the bridge, with the real client in
 * each of the configurations an application may have built it with. What is at stake: a reply
 * the client reshaped, or a fault read as a nil, would read as "no session" and log people out.
 */
import { Redis, type RedisConfigNodejs } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { armoredLua, upstashRunner } from "../../adapters/upstash/script-runner.ts";
import { SessionError } from "../../src/errors.ts";
import { connectResp, type RespClient } from "../support/resp-client.ts";
import { startStandaloneRedis, type RedisProcess } from "../support/redis-server.ts";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.ts";

process.env.UPSTASH_DISABLE_TELEMETRY = "1";

let server: RedisProcess;
let bridge: UpstashBridge;
let direct: RespClient;

beforeAll(async () => {
  server = await startStandaloneRedis();
  bridge = await startUpstashBridge({ redisPort: server.port });
  direct = await connectResp(server.port);
});

afterAll(async () => {
  direct?.close();
  await bridge?.close();
  await server?.stop();
});

type ClientOptions = Omit<RedisConfigNodejs, "url" | "token">;
const client = (options: ClientOptions = {}) =>
  new Redis({ url: bridge.url, token: bridge.token, enableTelemetry: false, retry: false, ...options });

let scripts = 0;
/** A script no other case has run, so its first call meets NOSCRIPT. */
const script = (lua: string) => ({ name: `test-${++scripts}`, lua: `-- ${crypto.randomUUID()}\n${lua}` });

/** Every string type a session record or index entry can look like, plus the other reply kinds. */
const SHAPES = `return {'{"userId":null,"v":1}', "null", "42", "true", "test", "OK", "", 42, false, {"~x", {7}}, redis.status_reply("PONG")}`;
const EXPECTED = ['{"userId":null,"v":1}', "null", "42", "true", "test", "OK", "", 42, null, ["~x", [7]], "PONG"];

const CONFIGURATIONS: Array<[string, ClientOptions]> = [
  ["the default client (auto-pipelining, JSON deserialization, base64)", {}],
  ["automaticDeserialization: false", { automaticDeserialization: false }],
  ["enableAutoPipelining: false", { enableAutoPipelining: false }],
  ["responseEncoding: false", { responseEncoding: false }],
];

describe("upstash runner: replies", () => {
  for (const [label, options] of CONFIGURATIONS) {
    it(`returns the raw reply with ${label}`, async () => {
      const runner = upstashRunner(client(options));
      expect(await runner.run(script(SHAPES), [], [])).toEqual(EXPECTED);
      expect(await runner.run(script("return nil"), [], [])).toBeNull();
      expect(await runner.run(script("return false"), [], [])).toBeNull();
      expect(await runner.run(script("return 0"), [], [])).toBe(0);
      expect(await runner.run(script("return {}"), [], [])).toEqual([]);
      expect(await runner.run(script("return '[1,2]'"), [], [])).toBe("[1,2]");
    });
  }

  it("passes KEYS and ARGV, numbers as decimal strings", async () => {
    const runner = upstashRunner(client());
    const reply = await runner.run(script("return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], type(ARGV[2])}"), ["a", "b"], ["x", 1764000000123]);
    expect(reply).toEqual(["a", "b", "x", "1764000000123", "string"]);
  });

  it("keeps a Redis 7 shebang line first, where Redis reads the script's flags", async () => {
    const lua = "#!lua flags=no-writes\nreturn redis.call('PING')";
    expect(armoredLua(lua).startsWith("#!lua flags=no-writes\n")).toBe(true);
    expect(await upstashRunner(client()).run({ name: "shebang", lua }, [], [])).toBe("PONG");
  });
});

describe("upstash runner: round trips", () => {
  it("sends EVALSHA, falls back to EVAL once on NOSCRIPT, then stays on EVALSHA: one request per call", async () => {
    const runner = upstashRunner(client());
    const lua = script("return ARGV[1]");
    await direct.send([["SCRIPT", "FLUSH"]]);
    const before = bridge.requests.length;
    expect(await runner.run(lua, [], ["first"])).toBe("first");
    const first = bridge.requests.slice(before).map((r) => r.commands.map((c) => c[0]));
    expect(first).toEqual([["evalsha"], ["eval"]]);
    for (const n of [1, 2, 3]) {
      const at = bridge.requests.length;
      expect(await runner.run(lua, [], [`call ${n}`])).toBe(`call ${n}`);
      expect(bridge.requests.slice(at).map((r) => r.commands.map((c) => c[0]))).toEqual([["evalsha"]]);
    }
  });

  it("shares one request between the calls of one tick (auto-pipelining)", async () => {
    const runner = upstashRunner(client());
    const lua = script("return ARGV[1]");
    await runner.run(lua, [], ["warm"]);
    const before = bridge.requests.length;
    const replies = await Promise.all(["a", "b", "c"].map((arg) => runner.run(lua, [], [arg])));
    expect(replies).toEqual(["a", "b", "c"]);
    expect(bridge.requests.length - before).toBe(1);
  });

  it("reports the PING round trip in ms", async () => {
    const before = bridge.requests.length;
    const latency = await upstashRunner(client()).ping();
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(bridge.requests.slice(before).map((r) => r.commands)).toEqual([[["ping"]]]);
  });
});

describe("upstash runner: faults throw, and say nothing of the data", () => {
  const secret = "oauth-refresh-token-do-not-log";

  function expectStoreError(error: unknown, pattern: RegExp) {
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).code).toBe("ERR_SESSION_STORE");
    expect((error as Error).message).toMatch(/^cloakroom: the Upstash request for /);
    expect((error as Error).message).toMatch(pattern);
    let text = "";
    for (let e: unknown = error; e instanceof Error; e = e.cause) text += `${e.message}\n${e.stack}\n`;
    expect(text).not.toContain(secret);
    expect(text).not.toContain(bridge.token);
  }

  for (const [label, options] of CONFIGURATIONS) {
    it(`turns a script error into ERR_SESSION_STORE without echoing the arguments, with ${label}`, async () => {
      const runner = upstashRunner(client(options));
      const failing = script("return redis.error_reply('ERR refused by the script')");
      const error = await runner.run(failing, ["k"], [secret]).catch((e: unknown) => e);
      expectStoreError(error, /ERR refused by the script/);
      expect((error as Error).message).toContain(failing.name);
    });
  }

  it("throws when the server is gone, for scripts and for PING", async () => {
    const lonely = await startUpstashBridge({ redisPort: server.port });
    const runner = upstashRunner(new Redis({ url: lonely.url, token: lonely.token, enableTelemetry: false, retry: false }));
    expect(await runner.run(script("return 1"), [], [])).toBe(1);
    await lonely.close();
    expectStoreError(await runner.run(script("return 1"), ["k"], [secret]).catch((e: unknown) => e), /fetch failed/);
    expectStoreError(await runner.ping().catch((e: unknown) => e), /PING/);
  });

  it("throws on a wrong token instead of reading nothing", async () => {
    const runner = upstashRunner(new Redis({ url: bridge.url, token: "wrong", enableTelemetry: false, retry: false }));
    expectStoreError(await runner.run(script("return nil"), ["k"], [secret]).catch((e: unknown) => e), /Unauthorized/);
  });

  it("throws when the client answers for the server because a fixed abort signal fired", async () => {
    // Without auto-pipelining the client then resolves with the abort reason as if it were the
    // reply: null for a DOMException, which must not read as a nil. (Through /pipeline the
    // client fails on that fake reply by itself.)
    for (const signal of [AbortSignal.abort(), AbortSignal.abort("timed out")]) {
      const runner = upstashRunner(client({ signal, enableAutoPipelining: false }));
      expectStoreError(await runner.run(script("return nil"), [], []).catch((e: unknown) => e), /abort signal/);
      expectStoreError(await runner.ping().catch((e: unknown) => e), /abort signal/);
      const pipelined = upstashRunner(client({ signal }));
      expectStoreError(await pipelined.run(script("return nil"), [], []).catch((e: unknown) => e), /failed/);
    }
  });
});
