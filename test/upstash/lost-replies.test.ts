/**
 * Writes whose HTTP response is lost, with @upstash/redis: an HTTP proxy in front of the REST
 * bridge forwards a request, lets Redis run it, then drops the connection instead of answering.
 * The client retries the failed fetch (its default `retry`), so the script runs twice; the store
 * must report the first run's success, once. Then every kind of write sent twice
 * (../redis/resent-writes.ts).
 */
import http from "node:http";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upstashStore } from "../../adapters/upstash/index.ts";
import { upstashRunner } from "../../adapters/upstash/script-runner.ts";
import { createSessions, generateKey } from "../../src/index.ts";
import { testHandle, testRecord } from "cloakroom/testing";
import { connectResp, type RespClient } from "../support/resp-client.ts";
import { startStandaloneRedis, type RedisProcess } from "../support/redis-server.ts";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.ts";
import { cookieFrom } from "../shared/helpers.ts";
import { describeResentWrites } from "../redis/resent-writes.ts";

process.env.UPSTASH_DISABLE_TELEMETRY = "1";

let server: RedisProcess;
let bridge: UpstashBridge;
let direct: RespClient;
let proxy: http.Server;
let proxyUrl = "";
/** When set: the first request whose body holds it is run, and its response dropped. */
let dropAfter: string | undefined;
/** Requests the proxy forwarded, and responses it dropped. */
let forwarded = 0;
let dropped = 0;

beforeAll(async () => {
  server = await startStandaloneRedis();
  bridge = await startUpstashBridge({ redisPort: server.port });
  direct = await connectResp(server.port);
  proxy = http.createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    const headers: Record<string, string> = { "content-type": "application/json" };
    for (const name of ["authorization", "upstash-encoding"]) {
      const value = request.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    forwarded++;
    const upstream = await fetch(bridge.url + request.url, { method: "POST", headers, body });
    const text = await upstream.text();
    if (dropAfter && body.includes(dropAfter)) {
      // Redis has run the command; the client never hears back.
      dropAfter = undefined;
      dropped++;
      request.socket.destroy();
      return;
    }
    response.writeHead(upstream.status, { "content-type": "application/json" });
    response.end(text);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
});

afterAll(async () => {
  proxy?.closeAllConnections();
  proxy?.close();
  direct?.close();
  await bridge?.close();
  await server?.stop();
});

const freshPrefix = () => `cr-lost:${crypto.randomUUID()}:`;

/** A client through the proxy, with the client's default retries. */
const proxiedClient = () => new Redis({ url: proxyUrl, token: bridge.token, enableTelemetry: false, enableAutoPipelining: false });

describe("upstash: a write whose HTTP response is lost", () => {
  it("a create is reported as done, not as refused", async () => {
    const store = upstashStore({ client: proxiedClient(), keyPrefix: freshPrefix() });
    await store.write(testHandle(), testRecord(), 0); // the script is loaded: one EVALSHA from here
    const handle = testHandle();
    const [forwardedBefore, droppedBefore] = [forwarded, dropped];
    dropAfter = handle;
    expect(await store.write(handle, testRecord({ data: { mine: true } }), 0)).toBe(true);
    expect([forwarded - forwardedBefore, dropped - droppedBefore]).toEqual([2, 1]);
    expect((await store.read(handle))?.record.data).toEqual({ mine: true });
  });

  it("an update is applied once, not replayed on top of itself", async () => {
    const sessions = createSessions<{ count: number }>({
      store: upstashStore({ client: proxiedClient(), keyPrefix: freshPrefix() }),
      keys: generateKey("k1"),
    });
    const first = await sessions.read(null);
    first.set("count", 0);
    const cookie = cookieFrom(await sessions.commit(first));
    const session = await sessions.read(cookie);
    session.update("count", (n = 0) => n + 1);
    const droppedBefore = dropped;
    dropAfter = session.handle!;
    await sessions.commit(session);
    expect(dropped).toBe(droppedBefore + 1);
    expect((await sessions.read(cookie)).get("count")).toBe(1);
  });

  it("a sign-in whose retirement's response is lost still signs in", async () => {
    const sessions = createSessions({ store: upstashStore({ client: proxiedClient(), keyPrefix: freshPrefix() }), keys: generateKey("k1") });
    const anonymous = await sessions.read(null);
    anonymous.set("cart", 1);
    const cookie = cookieFrom(await sessions.commit(anonymous));
    const session = await sessions.read(cookie);
    session.userId = "alice";
    const droppedBefore = dropped;
    dropAfter = session.handle!;
    const signedIn = cookieFrom(await sessions.commit(session));
    expect(dropped).toBe(droppedBefore + 1);
    expect((await sessions.read(signedIn)).userId).toBe("alice");
    expect((await sessions.read(cookie)).isNew).toBe(true);
  });
});

describeResentWrites("upstash", () => ({
  runner: () => upstashRunner(new Redis({ url: bridge.url, token: bridge.token, enableTelemetry: false })),
  keyPrefix: freshPrefix,
  pttl: async (key) => Number((await direct.send([["PTTL", key]]))[0]),
}));
