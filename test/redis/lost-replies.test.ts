/**
 * Writes whose reply is lost, with ioredis: a TCP proxy between the client and redis-server cuts
 * the connection right after Redis has run a write script, before its reply reaches the client.
 * ioredis reconnects and sends the unanswered command again (autoResendUnfulfilledCommands, on
 * by default), so the script runs twice; the store must report the first run's success, once.
 * Then the same for every kind of write, by sending each script twice (resent-writes.ts).
 */
import net from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ioredisStore } from "../../adapters/ioredis/index.ts";
import { ioredisRunner } from "../../adapters/ioredis/runner.ts";
import { createSessions, generateKey } from "../../src/index.ts";
import { testHandle, testRecord } from "cloakroom/testing";
import { startRedisProcess, uniqueKeyPrefix, type RedisProcess } from "../support/redis-server.ts";
import { cookieFrom } from "../shared/helpers.ts";
import { describeResentWrites } from "./resent-writes.ts";

let server: RedisProcess;
let direct: Redis;
let proxy: net.Server;
let proxyPort = 0;
const sockets = new Set<net.Socket>();
/** When set: the first client chunk holding it arms the cut, and the next reply from Redis is dropped with the connection. */
let cutAfter: string | undefined;
/** Connections the proxy accepted, and how many it cut. */
let accepted = 0;
let cut = 0;

beforeAll(async () => {
  server = await startRedisProcess();
  direct = new Redis(server.url);
  proxy = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(server.port, server.host);
    sockets.add(client).add(upstream);
    let armed = false;
    client.on("data", (chunk) => {
      if (cutAfter && chunk.includes(cutAfter)) {
        armed = true;
        cutAfter = undefined;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (armed) {
        // Redis has run the command; its reply never arrives.
        cut++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.on("error", () => {});
    upstream.on("error", () => {});
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, server.host, resolve));
  proxyPort = (proxy.address() as net.AddressInfo).port;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  proxy?.close();
  direct?.disconnect();
  await server?.stop();
});

/** A client through the proxy that reconnects at once and resends what was unanswered (ioredis's default). */
function proxiedClient(): Redis {
  const client = new Redis({ host: server.host, port: proxyPort, retryStrategy: () => 20 });
  client.on("error", () => {});
  return client;
}

describe("ioredis: a write whose reply is lost on a dropped connection", () => {
  it("a create is reported as done, not as refused", async () => {
    const client = proxiedClient();
    const store = ioredisStore({ client, keyPrefix: uniqueKeyPrefix("lost") });
    await store.write(testHandle(), testRecord(), 0); // the script is loaded: one EVALSHA from here
    const handle = testHandle();
    const cutBefore = cut;
    cutAfter = handle;
    expect(await store.write(handle, testRecord({ data: { mine: true } }), 0)).toBe(true);
    expect(cut).toBe(cutBefore + 1);
    expect((await store.read(handle))?.record.data).toEqual({ mine: true });
    client.disconnect();
  });

  it("an update is applied once, not replayed on top of itself", async () => {
    const client = proxiedClient();
    const sessions = createSessions<{ count: number }>({ store: ioredisStore({ client, keyPrefix: uniqueKeyPrefix("lost") }), keys: generateKey("k1") });
    const first = await sessions.read(null);
    first.set("count", 0);
    const cookie = cookieFrom(await sessions.commit(first));
    const session = await sessions.read(cookie);
    session.update("count", (n = 0) => n + 1);
    const [acceptedBefore, cutBefore] = [accepted, cut];
    cutAfter = session.handle!;
    await sessions.commit(session);
    expect([accepted - acceptedBefore, cut - cutBefore]).toEqual([1, 1]);
    expect((await sessions.read(cookie)).get("count")).toBe(1);
    client.disconnect();
  });

  it("a sign-in whose retirement's reply is lost still signs in", async () => {
    const client = proxiedClient();
    const sessions = createSessions({ store: ioredisStore({ client, keyPrefix: uniqueKeyPrefix("lost") }), keys: generateKey("k1") });
    const anonymous = await sessions.read(null);
    anonymous.set("cart", 1);
    const cookie = cookieFrom(await sessions.commit(anonymous));
    const session = await sessions.read(cookie);
    session.userId = "alice";
    const cutBefore = cut;
    cutAfter = session.handle!; // the retirement is the first write that names the old handle
    const signedIn = cookieFrom(await sessions.commit(session));
    expect(cut).toBe(cutBefore + 1);
    const alice = await sessions.read(signedIn);
    expect(alice.userId).toBe("alice");
    expect(alice.get("cart")).toBe(1);
    expect((await sessions.read(cookie)).isNew).toBe(true);
    client.disconnect();
  });
});

describeResentWrites("ioredis", () => ({
  runner: () => ioredisRunner(direct),
  keyPrefix: () => uniqueKeyPrefix("resent"),
  pttl: (key) => direct.pttl(key),
}));
