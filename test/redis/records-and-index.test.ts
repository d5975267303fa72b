/**
 * What a read does with a session string cloakroom did not write (nothing: no touch, no delete), a record
 * whose user id does not carry its handle's tag (reads as no record), and how the user index is
 * kept from growing with sessions that idled out.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ioredisStore } from "../../adapters/ioredis/index.ts";
import { decodeRecord } from "../../adapters/redis/record-codec.ts";
import { testHandle, testRecord } from "cloakroom/testing";
import { startRedisProcess, uniqueKeyPrefix, type RedisProcess } from "../support/redis-server.ts";
import { editStored, type RawCommand, type StoredField } from "../support/stored-record.ts";

let server: RedisProcess;
let client: Redis;

beforeAll(async () => {
  server = await startRedisProcess();
  client = new Redis(server.url);
});

afterAll(async () => {
  client?.disconnect();
  await server?.stop();
});

const raw: RawCommand = (...command) => client.call(...command);
const store = () => ioredisStore({ client, keyPrefix: uniqueKeyPrefix("records") });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("ioredis store: a read never touches what it cannot read", () => {
  const malformed: Array<[string, StoredField, string]> = [
    ["data that is not JSON", "data", "{not json"],
    ["data that is not an object", "data", "[1,2]"],
    ["data broken by a line break", "data", '{"a":\n1}'],
    ["an idle timeout below zero", "idleTimeout", "-5"],
    ["an idle timeout of zero", "idleTimeout", "0"],
    ["version 0", "version", "0"],
    ["a fractional version", "version", "1.5"],
  ];
  for (const [what, field, value] of malformed) {
    it(`with ${what}: no touch, no new expiry, not deleted`, async () => {
      const s = store();
      const handle = testHandle();
      const past = Date.now() - 50_000;
      await s.write(handle, testRecord({ lastSeenAt: past, expiresAt: past + 60_000 }), 0);
      const key = s.keys.session(handle);
      await editStored(raw, key, field, value);
      const before = { value: await client.get(key), expiry: await client.pexpiretime(key) };
      expect(await s.read(handle, { now: Date.now(), interval: 1_000 })).toBeNull();
      expect({ value: await client.get(key), expiry: await client.pexpiretime(key) }).toEqual(before);
    });
  }

  it("still touches a well-formed record that is due", async () => {
    const s = store();
    const handle = testHandle();
    const past = Date.now() - 50_000;
    await s.write(handle, testRecord({ lastSeenAt: past, expiresAt: past + 60_000 }), 0);
    expect((await s.read(handle, { now: Date.now(), interval: 1_000 }))?.touched).toBe(true);
  });
});

describe("ioredis store: a record is read only under its user's tag", () => {
  it("reads data edited to hold a line break, which would name another user, as no record", async () => {
    const s = store();
    const handle = testHandle("alice");
    await s.write(handle, testRecord({ userId: "alice" }), 0);
    // The string is "<head>\n<data>\n<userId>": the tail of the data would lead the user id.
    await editStored(raw, s.keys.session(handle), "data", "{}\nmallory");
    expect(await s.read(handle)).toBeNull();
    expect(await s.listUser("alice")).toEqual([]);
  });

  it("decodes a record only when userTag(userId) is the handle's tag", () => {
    const reply = (userId: string) => `0 1 1 1 9999999999999 9999999999999 60000 1 n0\n{}\n${userId}`;
    const handle = testHandle("alice");
    expect(decodeRecord(reply("alice"), handle)?.record?.userId).toBe("alice");
    expect(decodeRecord(reply("mallory\nalice"), handle)?.record).toBeNull();
    expect(decodeRecord(reply("bob"), handle)?.record).toBeNull();
    // In a list the handle leads the record.
    expect(decodeRecord(`${handle} 1 1 1 9999999999999 9999999999999 60000 1 n0\n{}\nalice`)?.record?.userId).toBe("alice");
    expect(decodeRecord(`${testHandle("bob")} 1 1 1 9999999999999 9999999999999 60000 1 n0\n{}\nalice`)?.record).toBeNull();
  });
});

describe("ioredis store: the user index does not keep sessions that idled out", () => {
  it("a sign-in drops the entries of the user's sessions that are gone", async () => {
    const s = store();
    const user = `idle-${testHandle()}`;
    const idled = Array.from({ length: 5 }, () => testHandle(user));
    for (const handle of idled) await s.write(handle, testRecord({ userId: user, expiresAt: Date.now() + 100 }), 0);
    const live = testHandle(user);
    await s.write(live, testRecord({ userId: user }), 0);
    const index = s.keys.userIndex(user);
    expect(await client.zcard(index)).toBe(6);
    await sleep(300); // Redis drops the idled-out keys; their entries stay until their absolute expiry
    expect(await client.zcard(index)).toBe(6);
    const signIn = testHandle(user);
    await s.write(signIn, testRecord({ userId: user }), 0);
    expect((await client.zrange(index, "0", "-1")).sort()).toEqual([live, signIn].sort());
  });

  it("looks at a bounded part of a large index per sign-in, and still empties it over a few", async () => {
    const s = store();
    const user = `many-${testHandle()}`;
    const index = s.keys.userIndex(user);
    // 150 entries whose sessions are gone, as if they had idled out.
    const stale = Array.from({ length: 150 }, () => testHandle(user));
    await client.zadd(index, ...stale.flatMap((handle) => [String(Date.now() + 3_600_000), handle]));
    await client.pexpire(index, 3_600_000);
    await s.write(testHandle(user), testRecord({ userId: user }), 0);
    const afterOne = await client.zcard(index);
    expect(afterOne).toBeLessThanOrEqual(151 - 64);
    expect(afterOne).toBeGreaterThan(1);
    for (let i = 0; i < 10 && (await client.zcard(index)) > 11; i++) await s.write(testHandle(user), testRecord({ userId: user }), 0);
    expect(await client.zcard(index)).toBeLessThanOrEqual(11);
  });
});
