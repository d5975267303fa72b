/**
 * The replay log on Redis through ioredis: standalone, Sentinel or Cluster (a channel's keys
 * share one hash slot). One Lua script per operation, so one round trip per append and per
 * read. The application builds and closes the client (`failoverSafeOptions()` for one that
 * survives a failover); the backend never creates a connection or starts a timer.
 *
 * @module
 */
import type { Cluster, Redis } from "ioredis";
import { SessionError } from "../../src/errors.ts";
import { redisReplayBackend, type RedisReplay, type RedisReplayOptions } from "../redis/replay-backend.ts";
import { ioredisRunner } from "./runner.ts";

export type { RedisReplay, RedisReplayOptions } from "../redis/replay-backend.ts";

export interface IoredisReplayOptions extends RedisReplayOptions {
  /** An ioredis `Redis` (standalone or Sentinel) or `Cluster` the application created. */
  client: Redis | Cluster;
}

/**
 * @example
 * import { Redis } from "ioredis";
 * import { createReplayLog } from "cloakroom/replay";
 * import { failoverSafeOptions, redisReplay } from "cloakroom/adapters/ioredis";
 *
 * const client = new Redis(process.env.REDIS_URL, failoverSafeOptions());
 * const log = createReplayLog({ backend: redisReplay({ client }), sessions });
 */
export function redisReplay(options: IoredisReplayOptions): RedisReplay {
  const client = options?.client;
  if (!client || typeof (client as Redis).evalsha !== "function" || typeof client.ping !== "function") {
    throw new SessionError(
      "ERR_SESSION_CONFIG",
      "redisReplay needs `client`: an ioredis Redis or Cluster your application created, for example redisReplay({ client: new Redis(process.env.REDIS_URL) }).",
    );
  }
  return redisReplayBackend(ioredisRunner(client), "redis", options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix });
}
