/**
 * The replay log on Upstash Redis over HTTP: the same Lua scripts as the ioredis backend
 * (adapters/redis/replay-scripts.ts), one HTTP request per append and per read. Web-standard,
 * so it runs in Workers without nodejs_compat.
 *
 * @module
 */
import { SessionError } from "../../src/errors.ts";
import { redisReplayBackend, type RedisReplay, type RedisReplayOptions } from "../redis/replay-backend.ts";
import { upstashRunner, type UpstashClient } from "./script-runner.ts";

export type { RedisReplay, RedisReplayOptions } from "../redis/replay-backend.ts";

export interface UpstashReplayOptions extends RedisReplayOptions {
  /** An @upstash/redis `Redis` the application built (once per process, see upstashStore). */
  client: UpstashClient;
}

/**
 * @example
 * import { Redis } from "@upstash/redis/cloudflare";
 * import { createReplayLog } from "cloakroom/replay";
 * import { redisReplay } from "cloakroom/adapters/upstash";
 *
 * const log = createReplayLog({ backend: redisReplay({ client: new Redis({ url, token }) }), sessions });
 */
export function redisReplay(options: UpstashReplayOptions): RedisReplay {
  const client = options?.client;
  if (typeof client !== "object" || client === null || (["evalsha", "eval", "ping"] as const).some((method) => typeof client[method] !== "function")) {
    throw new SessionError(
      "ERR_SESSION_CONFIG",
      'redisReplay needs `client`: an @upstash/redis Redis the application built, for example new Redis({ url, token }) from "@upstash/redis".',
    );
  }
  return redisReplayBackend(upstashRunner(client), "upstash", options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix });
}
