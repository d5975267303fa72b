/**
 * The ioredis store on a standalone redis-server: the conformance suite (on REDIS_URL's server
 * when it is set), then what is special to Redis. Tests that change or read server-wide state
 * (SCRIPT FLUSH, command statistics) run on a server this file started, never on REDIS_URL's.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ioredisStore, type IoredisStore } from "../../adapters/ioredis/index.ts";
import { ioredisRunner } from "../../adapters/ioredis/runner.ts";
import { redisSessionStore } from "../../adapters/redis/store.ts";
import { createSessions, generateKey, SessionError } from "../../src/index.ts";
import { storeConformance, testHandle, testRecord } from "cloakroom/testing";
import { keysUnder, redisBackend } from "../support/redis-backend.ts";
import { standaloneRedis, startRedisProcess, uniqueKeyPrefix, type RedisProcess, type RedisForTests } from "../support/redis-server.ts";
import { cookieFrom, manualClock } from "../shared/helpers.ts";
import { editStored, type RawCommand } from "../support/stored-record.ts";
import { describeRevokeRaces } from "./revoke-races.ts";

let shared: RedisForTests;
let own: RedisProcess;
/** On `shared`: REDIS_URL's server or one started here. */
let client: Redis;
/** On `own`, always a server this file started. */
let ownClient: Redis;
let stores = 0;

beforeAll(async () => {
  [shared, own] = await Promise.all([standaloneRedis("standalone"), startRedisProcess()]);
  client = new Redis(shared.url);
  ownClient = new Redis(own.url);
});

afterAll(async () => {
  client?.disconnect();
  ownClient?.disconnect();
  await Promise.all([shared?.stop(), own?.stop()]);
});

const nextPrefix = () => `${shared.keyPrefix}${++stores}:`;
const raw: RawCommand = (...command) => client.call(...command);

storeConformance<IoredisStore>("ioredis on standalone Redis", {
  create: () => ioredisStore({ client, keyPrefix: nextPrefix() }),
  backend: redisBackend({ get client() { return client; }, servers: () => [client] }),
});

describeRevokeRaces("standalone", () => ({ client, store: () => ioredisStore({ client, keyPrefix: nextPrefix() }) }));

/** Every command the client sends, by name, from now on (ioredis funnels each through sendCommand). */
function recordCommands(redis: Redis) {
  const names: string[] = [];
  const original = redis.sendCommand;
  redis.sendCommand = function (this: Redis, command, stream) {
    names.push(command.name);
    return original.call(this, command, stream);
  } as Redis["sendCommand"];
  return { names, stop: () => (redis.sendCommand = original), clear: () => names.splice(0) };
}

/** What the server itself counted: calls per command from INFO commandstats. */
async function serverCalls(redis: Redis): Promise<Record<string, number>> {
  const calls: Record<string, number> = {};
  for (const match of String(await redis.info("commandstats")).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
  return calls;
}

describe("ioredis store: round trips", () => {
  it("reads a live session in one round trip, touch included, through createSessions: a GET, or one EVALSHA when the touch is due", async () => {
    const redis = new Redis(own.url);
    const clock = manualClock(Date.now());
    const store = ioredisStore({ client: redis, keyPrefix: uniqueKeyPrefix("trips"), clock });
    const sessions = createSessions({ store, keys: generateKey("k1"), clock, idleTimeout: 600, touchInterval: 60 });
    const first = await sessions.read(null);
    first.set("n", 1);
    const cookie = cookieFrom(await sessions.commit(first));
    // The ticket is now cached; a read with interval 0 (always due) loads the READ script.
    await store.read((await sessions.read(cookie)).handle!, { now: clock(), interval: 0 });
    const sent = recordCommands(redis);
    // monitor() opens a connection of its own; the one it was called on must be closed too.
    const monitorParent = new Redis(own.url);
    const monitor = await monitorParent.monitor();
    const seen: string[] = [];
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      if (!source.startsWith("lua")) seen.push(String(args[0]).toLowerCase());
    });

    const plain = await sessions.read(cookie);
    expect(sent.clear()).toEqual(["get"]);
    clock.advance(61_000);
    const touchedEvents = await sessions.read(cookie);
    expect(sent.clear()).toEqual(["evalsha"]);
    expect(touchedEvents.get("n")).toBe(1);
    expect(touchedEvents.lastSeenAt).toBe(clock());
    expect(plain.lastSeenAt).toBeLessThan(clock());
    // Touched: the next reads within the interval are plain GETs again.
    clock.advance(59_000);
    expect((await sessions.read(cookie)).lastSeenAt).toBe(clock() - 59_000);
    expect(sent.clear()).toEqual(["get"]);

    // Server side: each read arrived as one command, nothing else from a client.
    await redis.ping();
    sent.stop();
    expect(seen.filter((name) => name !== "ping")).toEqual(["get", "evalsha", "get"]);
    monitor.disconnect();
    monitorParent.disconnect();
    redis.disconnect();
  });

  it("reads a retired marker with a GET however long ago it was retired: a marker is never touched", async () => {
    const redis = new Redis(own.url);
    const clock = manualClock(Date.now());
    const store = ioredisStore({ client: redis, keyPrefix: uniqueKeyPrefix("marker"), clock });
    const handle = testHandle();
    const now = clock();
    const marker = testRecord({ data: {}, lastSeenAt: now, expiresAt: now + 7_200_000, absoluteExpiresAt: now + 7_200_000, idleTimeout: 600_000, successor: testHandle() });
    expect(await store.write(handle, marker, 0)).toBe(true);
    const sent = recordCommands(redis);
    for (let i = 0; i < 3; i++) {
      clock.advance(600_000); // a touch interval and more each time
      expect((await store.read(handle, { now: clock(), interval: 60_000 }))?.record).toEqual(marker);
    }
    expect(sent.names).toEqual(["get", "get", "get"]);
    sent.stop();
    redis.disconnect();
  });

  it("makes one round trip per write, delete, listUser and increment, and two per revokeUser", async () => {
    const redis = new Redis(own.url);
    const store = ioredisStore({ client: redis, keyPrefix: uniqueKeyPrefix("trips") });
    const handle = testHandle("ann");
    // Loads every script on the server: what follows is the steady state.
    await store.write(testHandle("ann"), testRecord({ userId: "ann" }), 0);
    await Promise.all([store.delete(testHandle()), store.listUser("x"), store.increment("c", 1000), store.revokeUser("x")]);
    const before = await serverCalls(ownClient);
    const sent = recordCommands(redis);
    const counts: Record<string, number> = {};
    const count = async (label: string, work: () => Promise<unknown>) => {
      sent.clear();
      await work();
      counts[label] = sent.clear().length;
    };
    await count("write", () => store.write(handle, testRecord({ userId: "ann" }), 0));
    await count("update", () => store.write(handle, testRecord({ userId: "ann", version: 2 }), 1));
    await count("listUser", () => store.listUser("ann"));
    await count("delete", () => store.delete(handle));
    await count("increment", () => store.increment("c", 1000));
    await count("revokeUser", () => store.revokeUser("ann"));
    sent.stop();
    expect(counts).toEqual({ write: 1, update: 1, listUser: 1, delete: 1, increment: 1, revokeUser: 2 });
    const after = await serverCalls(ownClient);
    // The server agrees: seven EVALSHA, no EVAL.
    expect({ evalsha: (after.evalsha ?? 0) - (before.evalsha ?? 0), eval: (after.eval ?? 0) - (before.eval ?? 0) }).toEqual({ evalsha: 7, eval: 0 });
    redis.disconnect();
  });

  it("reloads its scripts after SCRIPT FLUSH, then is back to one EVALSHA", async () => {
    const redis = new Redis(own.url);
    const store = ioredisStore({ client: redis, keyPrefix: uniqueKeyPrefix("flush") });
    const handle = testHandle();
    await store.write(handle, testRecord(), 0);
    await store.read(handle, { now: Date.now(), interval: 0 });
    await ownClient.script("FLUSH");
    const sent = recordCommands(redis);
    // Interval 0: a touch is always due, so every read runs the READ script.
    expect((await store.read(handle, { now: Date.now(), interval: 0 }))?.record.version).toBe(1);
    expect(sent.clear()).toEqual(["evalsha", "eval"]);
    expect((await store.read(handle, { now: Date.now(), interval: 0 }))?.record.version).toBe(1);
    expect(sent.clear()).toEqual(["evalsha"]);
    sent.stop();
    redis.disconnect();
  });
});

describe("ioredis store: the plain GET of a read whose touch is not due", () => {
  it("still touches a record whose last write came from a server with a clock behind this one's", async () => {
    const prefix = nextPrefix();
    const here = manualClock(Date.now());
    const behind = manualClock(here() - 100_000);
    const store = ioredisStore({ client, keyPrefix: prefix, clock: here });
    const other = ioredisStore({ client, keyPrefix: prefix, clock: behind });
    const handle = testHandle();
    const record = testRecord({ lastSeenAt: here(), expiresAt: here() + 600_000, idleTimeout: 600_000 });
    await store.write(handle, record, 0);
    // This store saw lastSeenAt = now, so a read within 60 s would be a GET...
    const older = { ...record, version: 2, lastSeenAt: behind(), expiresAt: behind() + 600_000 };
    expect(await other.write(handle, older, 1)).toBe(true);
    // ...but the record says the touch is due: the store touches it (the READ script) all the same.
    const sent = recordCommands(client);
    const read = await store.read(handle, { now: here(), interval: 60_000 });
    sent.stop();
    expect(read).toEqual({ record: { ...older, lastSeenAt: here(), expiresAt: here() + 600_000 }, touched: true });
    // (An EVAL too when this server has not seen the script yet.)
    expect(sent.clear().filter((name) => name !== "eval")).toEqual(["get", "evalsha"]);
  });

  it("reads an expired record as nothing on the GET path, and a missing one too", async () => {
    const clock = manualClock(Date.now());
    const store = ioredisStore({ client, keyPrefix: nextPrefix(), clock });
    const handle = testHandle();
    await store.write(handle, testRecord({ lastSeenAt: clock(), expiresAt: clock() + 60_000, idleTimeout: 60_000 }), 0);
    expect(await store.read(handle, { now: clock() + 10_000, interval: 30_000 })).not.toBeNull();
    expect(await store.read(handle, { now: clock() + 60_000, interval: 120_000 })).toBeNull();
    expect(await store.read(testHandle(), { now: clock(), interval: 30_000 })).toBeNull();
  });
});

describe("ioredis store: the revocation mark", () => {
  it("ends a sign-in stamped while the revocation's first script was in flight", async () => {
    // The second script is what covers this one: its mark is taken after the first returned.
    const clock = manualClock(Date.now());
    const runner = ioredisRunner(client);
    let duringFirst: (() => Promise<void>) | undefined;
    const store = redisSessionStore(
      {
        ping: () => runner.ping(),
        async run(script, keys, args) {
          const reply = await runner.run(script, keys, args);
          if (script.name === "revoke-user" && args[3] === "all" && duringFirst) await duringFirst();
          return reply;
        },
      },
      { name: "ioredis", keyPrefix: nextPrefix(), clock },
    );
    const sessions = createSessions({ store, keys: generateKey("k1"), clock });
    const user = "in-flight@example.com";
    let cookie = "";
    duringFirst = async () => {
      duringFirst = undefined;
      clock.advance(1); // stamped after the first script's mark, before the second's
      const session = await sessions.read(null);
      session.userId = user;
      cookie = cookieFrom(await sessions.commit(session));
      clock.advance(1);
    };
    expect(await sessions.revokeUser(user)).toBe(1);
    expect(cookie).not.toBe("");
    expect((await sessions.read(cookie)).isNew).toBe(true);
  });

  it("spares the exception, also when its write arrives after the revocation", async () => {
    const store = ioredisStore({ client, keyPrefix: nextPrefix() });
    const [keep, drop] = [testHandle("bea"), testHandle("bea")];
    const created = Date.now() - 1000;
    await store.write(keep, testRecord({ userId: "bea", createdAt: created }), 0);
    expect(await store.revokeUser("bea", { except: keep })).toBe(0);
    // Both were issued before the mark; only the exception may still be written.
    expect(await store.write(keep, testRecord({ userId: "bea", createdAt: created, version: 2, data: { n: 2 } }), 1)).toBe(true);
    expect(await store.write(drop, testRecord({ userId: "bea", createdAt: created, lastSeenAt: created }), 0)).toBe(true);
    expect((await store.read(keep))?.record.data).toEqual({ n: 2 });
    expect(await store.read(drop)).toBeNull();
    expect((await store.listUser("bea")).map((s) => s.handle)).toEqual([keep]);
  });

  it("gives the mark the configured lifetime", async () => {
    const store = ioredisStore({ client, keyPrefix: nextPrefix(), revocationWindowMs: 120_000 });
    await store.revokeUser("cy");
    const ttl = await client.pttl(store.keys.revocation("cy"));
    expect(ttl).toBeGreaterThan(110_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
  });
});

describe("ioredis store: what the server holds", () => {
  it("keeps data exactly, large integers, small floats and fractional times included", async () => {
    const store = ioredisStore({ client, keyPrefix: nextPrefix() });
    const handle = testHandle();
    const now = Date.now();
    const data = { max: Number.MAX_SAFE_INTEGER, tiny: 5e-324, third: 1 / 3, sum: 0.1 + 0.2, list: [], nested: { empty: {} } };
    const record = testRecord({ data, lastSeenAt: now - 10_000.25, idleTimeout: 60_000.125, expiresAt: now + 50_000 });
    await store.write(handle, record, 0);
    const touchAt = now + 0.5;
    const touched = await store.read(handle, { now: touchAt, interval: 1000 });
    expect(touched?.record).toEqual({ ...record, lastSeenAt: touchAt, expiresAt: touchAt + 60_000.125 });
    expect((await store.read(handle))?.record).toEqual(touched?.record);
  });

  it("keeps any user id, line breaks and non-ASCII included, and reads data broken by a line break as nothing", async () => {
    const store = ioredisStore({ client, keyPrefix: nextPrefix() });
    const user = "Zoë\nsecond line 用户 ✓";
    const handle = testHandle(user);
    await store.write(handle, testRecord({ userId: user }), 0);
    expect((await store.read(handle))?.record.userId).toBe(user);
    expect((await store.listUser(user)).map((s) => s.record.userId)).toEqual([user]);
    await editStored(raw, store.keys.session(handle), "data", '{"a":\n1}');
    expect(await store.read(handle)).toBeNull();
    expect(await store.listUser(user)).toEqual([]);
  });

  it("reads anything it did not write as no session, and never overwrites it", async () => {
    const store = ioredisStore({ client, keyPrefix: nextPrefix() });
    const wrongType = testHandle();
    await client.hset(store.keys.session(wrongType), "version", "1");
    await client.pexpire(store.keys.session(wrongType), 60_000);
    const otherShape = testHandle();
    await client.set(store.keys.session(otherShape), "a string, not a session", "PX", 60_000);
    const badVersion = testHandle();
    await store.write(badVersion, testRecord(), 0);
    await editStored(raw, store.keys.session(badVersion), "version", "one");
    const missingField = testHandle();
    await store.write(missingField, testRecord(), 0);
    await editStored(raw, store.keys.session(missingField), "absoluteExpiresAt", "");
    const blank = testHandle();
    await store.write(blank, testRecord(), 0);
    await editStored(raw, store.keys.session(blank), "createdAt", " 1");
    for (const handle of [wrongType, otherShape, badVersion, missingField, blank]) {
      // Both paths: a plain GET (no touch wanted) and the READ script (a touch may be due).
      expect(await store.read(handle)).toBeNull();
      expect(await store.read(handle, { now: Date.now(), interval: 0 })).toBeNull();
      expect(await store.write(handle, testRecord(), 0)).toBe(false);
    }
    expect(await client.hgetall(store.keys.session(wrongType))).toEqual({ version: "1" });
    expect(await client.get(store.keys.session(otherShape))).toBe("a string, not a session");
  });

  it("reads a string that is not a handle as nothing, and refuses to write under one", async () => {
    const store = ioredisStore({ client, keyPrefix: nextPrefix() });
    expect(await store.read("}{not a handle")).toBeNull();
    await expect(store.delete("nope")).resolves.toBeUndefined();
    await expect(store.write("x}y.z", testRecord(), 0)).rejects.toThrow(/^cloakroom: .*not a session handle/);
  });

  it("accepts a key derived from a handle that keeps its tag, as the tiered store's cache uses", async () => {
    const store = ioredisStore({ client, keyPrefix: nextPrefix() });
    const handle = `${testHandle("dee")}.g7`;
    await store.write(handle, testRecord({ userId: "dee" }), 0);
    expect((await store.listUser("dee")).map((s) => s.handle)).toEqual([handle]);
    expect(await store.revokeUser("dee", { except: handle })).toBe(0);
    expect(await store.read(handle)).not.toBeNull();
  });

  it("works under a client's own keyPrefix: every key carries both prefixes and expires", async () => {
    const prefixed = new Redis(shared.url, { keyPrefix: `${shared.keyPrefix}client:` });
    const store = ioredisStore({ client: prefixed, keyPrefix: "app:" });
    const sessions = createSessions({ store, keys: generateKey("k1") });
    const cookies: string[] = [];
    for (let i = 0; i < 3; i++) {
      const session = await sessions.read(null);
      session.userId = "eve";
      cookies.push(cookieFrom(await sessions.commit(session)));
    }
    expect(await sessions.listUser("eve")).toHaveLength(3);
    expect(await store.increment("hits", 60_000)).toMatchObject({ count: 1 });
    expect(await sessions.revokeUser("eve", { except: cookies[0] && (await sessions.read(cookies[0])).handle! })).toBe(2);
    expect((await sessions.read(cookies[1]!)).isNew).toBe(true);
    const keys = await keysUnder([client], `${shared.keyPrefix}client:app:`);
    expect(keys.length).toBe(4); // the kept session, the index, the mark, the counter
    for (const key of keys) expect(await client.pttl(key), key).toBeGreaterThan(0);
    prefixed.disconnect();
  });
});

describe("ioredis store: errors", () => {
  it("throws a store error that names the fix and carries none of the session's data", async () => {
    const store = ioredisStore({ client, keyPrefix: nextPrefix() });
    // A revocation mark of the wrong type makes the write script fail on the server.
    await client.set(store.keys.revocation("fay"), "not a hash", "PX", 60_000);
    const failure = await store.write(testHandle("fay"), testRecord({ userId: "fay", data: { secret: "s3cr3t-data" } }), 0).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SessionError);
    const error = failure as SessionError;
    expect(error.code).toBe("ERR_SESSION_STORE");
    expect(error.message).toMatch(/^cloakroom: the ioredis store could not run the write script \(ReplyError: .*WRONGTYPE.*\)\. Check that Redis is reachable/);
    const cause = error.cause as Error & { command?: unknown };
    expect(cause.command).toBeUndefined();
    const everything = JSON.stringify({ message: error.message, cause: { ...cause, message: cause.message, stack: cause.stack } });
    expect(everything).not.toContain("s3cr3t");
  });

  it("fails, not reads as no session, when Redis cannot be reached", async () => {
    const down = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    down.on("error", () => {});
    const store = ioredisStore({ client: down });
    await expect(store.read(testHandle())).rejects.toMatchObject({ code: "ERR_SESSION_STORE" });
    await expect(store.health()).rejects.toMatchObject({ code: "ERR_SESSION_STORE" });
    down.disconnect();
  });

  it("refuses bad options at creation, saying which and how to fix them", () => {
    expect(() => ioredisStore({} as never)).toThrow(/^cloakroom: ioredisStore needs `client`/);
    expect(() => ioredisStore({ client, keyPrefix: "app:{x}:" })).toThrow(/^cloakroom: keyPrefix must be a string without "\{" or "\}"/);
    expect(() => ioredisStore({ client, revocationWindowMs: 0 })).toThrow(/revocationWindowMs must be a positive whole number/);
    const store = ioredisStore({ client });
    return Promise.all([
      expect(store.increment("k", 1000, 1.5)).rejects.toThrow(/amount must be a whole number/),
      expect(store.increment("k", 0)).rejects.toThrow(/window of more than 0 ms/),
    ]);
  });
});

describe("ioredis store: health", () => {
  it("reports PING latency and the node's replication facts", async () => {
    // The server this file started: one REDIS_URL names may well have replicas.
    const health = await ioredisStore({ client: ownClient }).health();
    expect(health.ok).toBe(true);
    expect(health.latencyMs).toBeGreaterThanOrEqual(0);
    expect(health.details).toMatchObject({ deployment: "standalone", role: "master", replicasOnline: 0 });
  });
});
