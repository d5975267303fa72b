/**
 * Sessions on Upstash Redis, over HTTP: for Cloudflare Workers, Vercel Edge, Deno Deploy and
 * anywhere a TCP connection is not available. The session rules are the shared Redis Lua
 * scripts (adapters/redis), the same the ioredis adapter runs; this adapter only runs them
 * through an @upstash/redis client. A session read is one HTTP request (EVALSHA), touch
 * included when it is due; a script the server has not seen yet costs one more request, once.
 *
 * Web-standard: no Node built-ins, so it runs in workerd without nodejs_compat.
 *
 * @module
 */
import { SessionError } from "../../src/errors.ts";
import { redisSessionStore, type RedisSessionStore, type RedisSessionStoreOptions } from "../redis/store.ts";
import { upstashRunner, type UpstashClient } from "./script-runner.ts";

export type { UpstashClient } from "./script-runner.ts";
// Re-exported so the published types of this entry name them instead of a private chunk.
export type { RedisSessionStore, RedisSessionStoreOptions } from "../redis/store.ts";
export type { KeyLayout } from "../redis/keys.ts";

export interface UpstashStoreOptions extends Omit<RedisSessionStoreOptions, "name"> {
  /**
   * An @upstash/redis `Redis` the application built. Build it once per process (at module
   * scope in a Worker): its read-your-writes sync token lives in the instance, so a client
   * made per request can read a replica that has not seen the session written a moment ago.
   * Give it a time budget with a *function* signal, `signal: () => AbortSignal.timeout(ms)`;
   * the adapter never closes it.
   */
  client: UpstashClient;
}

export type UpstashStore = RedisSessionStore;

const KNOWN = new Set(["client", "keyPrefix", "revocationWindowMs", "clock"]);

/**
 * @example
 * import { Redis } from "@upstash/redis/cloudflare"; // "@upstash/redis" on Node, Bun, Deno
 * const client = new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });
 * const sessions = createSessions({ store: upstashStore({ client, keyPrefix: "myapp:" }), keys: env.SESSION_KEYS });
 */
export function upstashStore(options: UpstashStoreOptions): UpstashStore {
  if (typeof options !== "object" || options === null) {
    throw new SessionError("ERR_SESSION_CONFIG", "upstashStore needs an options object: upstashStore({ client }).");
  }
  const unknown = Object.keys(options).filter((key) => !KNOWN.has(key));
  if (unknown.length > 0) {
    throw new SessionError(
      "ERR_SESSION_CONFIG",
      `upstashStore got unknown option(s) ${unknown.map((key) => JSON.stringify(key)).join(", ")}; it takes ${[...KNOWN].join(", ")}.`,
    );
  }
  const { client, ...rest } = options;
  const methods = ["evalsha", "eval", "ping"] as const;
  if (typeof client !== "object" || client === null || methods.some((method) => typeof client[method] !== "function")) {
    throw new SessionError(
      "ERR_SESSION_CONFIG",
      'upstashStore needs `client`: an @upstash/redis Redis the application built, for example new Redis({ url, token }) from "@upstash/redis" (or "@upstash/redis/cloudflare" in a Worker).',
    );
  }
  return redisSessionStore(upstashRunner(client), { ...rest, name: "upstash" });
}

export { redisReplay, type UpstashReplayOptions, type RedisReplay, type RedisReplayOptions } from "./replay.ts";
