/**
 * The conformance suite's `backend` for a store on Redis: reads the server directly, not
 * through the adapter. Works for every store built on adapters/redis (ioredis, Upstash), since
 * they share the key layout the store exposes as `store.keys`.
 *
 * Test harness only; not part of the package.
 */
import type { Cluster, Redis } from "ioredis";
import type { RedisSessionStore } from "../../adapters/redis/store.ts";
import type { ConformanceBackend } from "cloakroom/testing";
import { prefixPattern } from "./redis-server.ts";
import { editStored } from "./stored-record.ts";

export interface DirectAccess {
  /** A client that reaches any key (a Cluster client routes by slot). */
  client: Redis | Cluster;
  /** Every server holding keys, for SCAN (a Cluster's masters; one server otherwise). */
  servers(): Redis[];
}

/** PEXPIRETIME: -2 when the key is missing, -1 when it never expires. */
function expiry(value: number): number | null | undefined {
  if (value === -2) return undefined;
  return value === -1 ? null : value;
}

export async function keysUnder(servers: readonly Redis[], prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (const server of servers) {
    let cursor = "0";
    do {
      const [next, keys] = await server.scan(cursor, "MATCH", prefixPattern(prefix), "COUNT", 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== "0");
  }
  return found;
}

export function redisBackend<S extends RedisSessionStore>(direct: DirectAccess): ConformanceBackend<S> {
  return {
    async expiryOf(store, handle) {
      return expiry(Number(await direct.client.pexpiretime(store.keys.session(handle))));
    },
    async everything(store) {
      // SCAN, not KEYS: KEYS blocks the server while it walks every key.
      const keys = await keysUnder(direct.servers(), store.keys.prefix);
      const found = await Promise.all(keys.map(async (key) => ({ key, expiresAt: expiry(Number(await direct.client.pexpiretime(key))) })));
      // A key that expired between SCAN and PEXPIRETIME (-2, undefined here) is gone, not "no expiry".
      return found.flatMap(({ key, expiresAt }) => (expiresAt === undefined ? [] : [{ key, expiresAt }]));
    },
    async corrupt(store, handle) {
      // The string keeps its shape and expiry; only the data stops being JSON.
      await editStored((...command) => direct.client.call(...command), store.keys.session(handle), "data", "{not json");
    },
  };
}
