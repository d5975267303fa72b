/**
 * Cases that run inside workerd (nodejs_compat off) and under Deno: the Upstash adapter with the
 * client from "@upstash/redis/cloudflare" (fetch only), talking to the REST bridge on 127.0.0.1
 * that workerd.test.ts (or test/deno/run.ts) started. The conformance suite runs whole; its
 * backend reads Redis through the bridge with a second, raw client, since a Worker has no TCP
 * socket to Redis.
 *
 * describe/it/expect only: test/runtimes/vitest-shim.ts stands in for vitest here.
 */
import { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, it } from "vitest";
import { upstashStore, type UpstashStore } from "../../adapters/upstash/index.ts";
import { createSessions, generateKey } from "../../src/index.ts";
import { storeConformance } from "cloakroom/testing";
import { editStored } from "../support/stored-record.ts";

export interface BridgeEnv {
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
}

let env: BridgeEnv | undefined;
/** The Worker's entry hands over its bindings before any case runs. */
export function useEnv(bindings: BridgeEnv): void {
  env ??= bindings;
}

// Module scope, once per isolate: how a Worker should hold its client (the sync token lives in it).
let client: Redis | undefined;
let raw: Redis | undefined;
function clients(): { client: Redis; raw: Redis } {
  if (!env) throw new Error("workerd-cases: the Worker's env was not handed over (see upstash-worker.ts)");
  const config = { url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN, enableTelemetry: false };
  client ??= new Redis(config);
  raw ??= new Redis({ ...config, automaticDeserialization: false, enableAutoPipelining: false });
  return { client, raw };
}

const exec = <T>(...command: [string, ...string[]]) => clients().raw.exec<T>(command);

async function expiryOfKey(key: string): Promise<number | null | undefined> {
  const at = await exec<number>("PEXPIRETIME", key);
  return at === -2 ? undefined : at === -1 ? null : at;
}

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await exec<[string, string[]]>("SCAN", cursor, "MATCH", `${prefix}*`, "COUNT", "1000");
    cursor = String(next);
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

const freshPrefix = () => `cr-workerd:${crypto.randomUUID()}:`;

/** For the cases' names: "workerd" in a Worker, "Deno" under Deno. */
const runtime = navigator.userAgent === "Cloudflare-Workers" ? "workerd" : navigator.userAgent.split("/")[0];

storeConformance<UpstashStore>(`upstash in ${runtime}`, {
  create: () => upstashStore({ client: clients().client, keyPrefix: freshPrefix() }),
  backend: {
    expiryOf: (store, handle) => expiryOfKey(store.keys.session(handle)),
    // A key that expired between SCAN and PEXPIRETIME is gone (undefined), not "no expiry" (null).
    everything: async (store) =>
      (await Promise.all((await keysUnder(store.keys.prefix)).map(async (key) => ({ key, expiresAt: await expiryOfKey(key) }))))
        .flatMap(({ key, expiresAt }) => (expiresAt === undefined ? [] : [{ key, expiresAt }])),
    corrupt: (store, handle) => editStored(exec, store.keys.session(handle), "data", "{not json"),
  },
});

describe(`upstash in ${runtime}: sessions end to end`, () => {
  it("signs in, counts, reads back, lists and signs out everywhere", async () => {
    const sessions = createSessions<{ count: number }>({
      store: upstashStore({ client: clients().client, keyPrefix: freshPrefix() }),
      keys: generateKey("k1"),
    });
    const cookieOf = (setCookie: string | null) => setCookie!.split(";")[0]!;
    const session = await sessions.read(null);
    session.userId = "ann";
    session.update("count", (n = 0) => n + 1);
    const cookie = cookieOf(await sessions.commit(session));

    const again = await sessions.read(new Request("https://app.test/", { headers: { cookie } }));
    expect(again.userId).toBe("ann");
    expect(again.get("count")).toBe(1);
    again.update("count", (n = 0) => n + 1);
    expect(await sessions.commit(again)).toBeNull();
    expect((await sessions.read(cookie)).get("count")).toBe(2);

    expect((await sessions.listUser("ann")).map((s) => s.handle)).toEqual([session.handle]);
    expect(await sessions.revokeUser("ann")).toBe(1);
    expect((await sessions.read(cookie)).userId).toBeNull();
    expect((await sessions.health()).status).toBe("ok");
  });
});
