/**
 * The REST bridge speaks Upstash's protocol to the real @upstash/redis client. If the bridge
 * were lax (raw values under base64, a pipeline run as a transaction, errors swallowed), the
 * Upstash adapter tests would pass against something Upstash is not; these cases pin it down.
 */
import { Redis, type RedisConfigNodejs } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
  new Redis({ url: bridge.url, token: bridge.token, enableTelemetry: false, ...options });
/** Sees replies as the bridge sent them, without the client's JSON.parse of every string. */
const raw = (options: ClientOptions = {}) => client({ automaticDeserialization: false, ...options });
const unique = (name: string) => `bridge:${name}:${crypto.randomUUID()}`;

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${bridge.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${bridge.token}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

describe("upstash bridge: authentication", () => {
  it("refuses a wrong token with 401 and forwards nothing", async () => {
    const key = unique("auth");
    const before = { refused: bridge.refused, requests: bridge.requests.length };
    const intruder = new Redis({ url: bridge.url, token: "not-the-token", enableTelemetry: false, retry: false });
    await expect(intruder.set(key, "x")).rejects.toThrow(/Unauthorized/);
    expect(bridge.refused).toBe(before.refused + 1);
    expect(bridge.requests.length).toBe(before.requests);
    expect(await direct.send([["EXISTS", key]])).toEqual([0]);
  });

  it("refuses a request without a token, and one with the token but not as a bearer", async () => {
    for (const authorization of [undefined, bridge.token, `Bearer ${bridge.token}x`, `bearer  ${bridge.token}`]) {
      const response = await fetch(bridge.url, {
        method: "POST",
        headers: authorization === undefined ? {} : { authorization },
        body: JSON.stringify(["PING"]),
      });
      expect(response.status, String(authorization)).toBe(401);
      expect(await response.json()).toEqual({ error: expect.stringMatching(/Unauthorized/) });
    }
  });
});

describe("upstash bridge: encoding", () => {
  it("round-trips values that are themselves valid base64, so the header is honoured", async () => {
    // "test" is valid base64: a bridge that ignored Upstash-Encoding would hand the client
    // "test", which it would decode to three bytes of garbage.
    const redis = raw();
    for (const value of ["test", "QUJD", "OK", "Grüße, 世界 🎉", "", "{\"a\":1}"]) {
      const key = unique("b64");
      await redis.set(key, value);
      expect(await redis.get(key), value).toBe(value);
    }
  });

  it("sends bulk strings as base64 only when asked, and a status OK raw", async () => {
    const key = unique("wire");
    expect(await post("/", ["SET", key, "test"], { "upstash-encoding": "base64" })).toEqual({ status: 200, body: { result: "OK" } });
    expect(await post("/", ["GET", key], { "upstash-encoding": "base64" })).toEqual({ status: 200, body: { result: "dGVzdA==" } });
    expect(await post("/", ["GET", key])).toEqual({ status: 200, body: { result: "test" } });
    // Any status other than OK is encoded: a raw "PONG" is valid base64 too.
    expect(await post("/", ["PING"], { "upstash-encoding": "base64" })).toEqual({ status: 200, body: { result: "UE9ORw==" } });
    expect(await client().ping()).toBe("PONG");
  });

  it("turns JSON numbers and booleans into the strings Redis expects", async () => {
    const reply = await raw().eval("return {ARGV[1], type(ARGV[1]), ARGV[2], ARGV[3]}", [], [60, true, 1.5]);
    expect(reply).toEqual(["60", "string", "true", "1.5"]);
    expect(await post("/", ["ECHO", 7])).toEqual({ status: 200, body: { result: "7" } });
  });

  it("returns integers as numbers, nil as null, and nested arrays as nested arrays", async () => {
    const key = unique("shapes");
    const redis = raw();
    expect(await redis.incr(key)).toBe(1);
    expect(await redis.get(unique("missing"))).toBeNull();
    // Lua false becomes a nil element; nesting survives; every string is decoded at every depth.
    const nested = await redis.eval(`return {1, "test", {2, {"dGVzdA==", "x"}}, false, ""}`, [], []);
    expect(nested).toEqual([1, "test", [2, ["dGVzdA==", "x"]], null, ""]);
    expect(await post("/", ["EVAL", "return {}", "0"])).toEqual({ status: 200, body: { result: [] } });
  });

  it("rejects a body that is not a command with 400", async () => {
    expect((await post("/", { not: "a command" })).status).toBe(400);
    expect((await post("/pipeline", [])).status).toBe(400);
    expect((await post("/", ["SET", "k", null])).status).toBe(400);
  });
});

describe("upstash bridge: pipeline and multi-exec", () => {
  it("sends a lone command of the default client to /pipeline (auto-pipelining)", async () => {
    const key = unique("auto");
    const before = bridge.requests.length;
    await client().get(key);
    expect(bridge.requests.slice(before)).toEqual([{ path: "/pipeline", commands: [["get", key]] }]);
  });

  it("runs a pipeline in order and reports an error in place without stopping the rest", async () => {
    const key = unique("pipe");
    const results = await raw()
      .pipeline()
      .set(key, "a")
      .append(key, "b")
      .incr(key)
      .get(key)
      .exec({ keepErrors: true });
    expect(results).toEqual([
      { result: "OK", error: undefined },
      { result: 2, error: undefined },
      { result: undefined, error: "ERR value is not an integer or out of range" },
      { result: "ab", error: undefined },
    ]);
  });

  it("runs multi-exec as one MULTI/EXEC: a runtime error stays in place, a queueing error runs nothing", async () => {
    const key = unique("multi");
    const redis = raw();
    const results = await redis.multi().set(key, "1").incr(key).lpush(key, "x").incr(key).exec({ keepErrors: true });
    expect(results.map((r) => r.result)).toEqual(["OK", 2, undefined, 3]);
    expect(results[2]!.error).toMatch(/^WRONGTYPE/);

    // An unknown command is refused while queueing: EXECABORT, and the SET before it never ran.
    const aborted = unique("aborted");
    const response = await post("/multi-exec", [["SET", aborted, "1"], ["NOSUCHCOMMAND"]]);
    expect(response).toEqual({ status: 400, body: { error: expect.stringMatching(/^EXECABORT/) } });
    expect(await direct.send([["EXISTS", aborted]])).toEqual([0]);
    // The same body as a plain pipeline is not atomic: the SET runs.
    expect((await post("/pipeline", [["SET", aborted, "1"], ["NOSUCHCOMMAND"]])).status).toBe(200);
    expect(await direct.send([["EXISTS", aborted]])).toEqual([1]);
  });

  it("keeps each transaction's commands together under concurrency", async () => {
    const key = unique("atomic");
    const redis = raw();
    const runs = await Promise.all(Array.from({ length: 20 }, () => redis.multi().incr(key).incr(key).exec()));
    for (const [first, second] of runs as [number, number][]) expect(second).toBe(first + 1);
    expect(runs.map(([first]) => first).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i + 1));
  });

  it("echoes a sync token that the client keeps per instance", async () => {
    const redis = client();
    await redis.get(unique("sync"));
    const first = redis.readYourWritesSyncToken;
    await redis.get(unique("sync"));
    expect(first).toMatch(/^\d+$/);
    expect(Number(redis.readYourWritesSyncToken)).toBeGreaterThan(Number(first));
  });
});

describe("upstash bridge: scripts and errors", () => {
  const lua = `return {KEYS[1], ARGV[1]}`;

  for (const [label, options] of [["/pipeline", {}], ["/", { enableAutoPipelining: false }]] as const) {
    it(`propagates EVAL, EVALSHA and NOSCRIPT through ${label}`, async () => {
      const redis = raw(options);
      const before = bridge.requests.length;
      const sha = await redis.scriptLoad(lua);
      expect(await redis.eval(lua, ["k"], ["v"])).toEqual(["k", "v"]);
      expect(await redis.evalsha(sha, ["k"], ["v"])).toEqual(["k", "v"]);
      await expect(redis.evalsha("0".repeat(40), ["k"], ["v"])).rejects.toThrow(/NOSCRIPT/);
      await expect(redis.eval(`return redis.error_reply("BOOM from lua")`, [], [])).rejects.toThrow(/BOOM from lua/);
      await expect(redis.eval(`return redis.call("INCR", KEYS[1])`, [unique("str")], [])).resolves.toBe(1);
      await expect(redis.eval(`redis.call("SET", KEYS[1], "x"); return redis.call("INCR", KEYS[1])`, [unique("str")], [])).rejects.toThrow(
        /not an integer/,
      );
      expect(new Set(bridge.requests.slice(before).map((r) => r.path))).toEqual(new Set([label]));
    });
  }

  it("answers 500 with the cause when redis is unreachable", async () => {
    const other = await startStandaloneRedis();
    const lonely = await startUpstashBridge({ redisPort: other.port });
    try {
      const redis = new Redis({ url: lonely.url, token: lonely.token, enableTelemetry: false, retry: false });
      expect(await redis.ping()).toBe("PONG");
      await other.stop();
      await expect(redis.ping()).rejects.toThrow(/could not reach redis/);
    } finally {
      await lonely.close();
      await other.stop();
    }
  });
});
