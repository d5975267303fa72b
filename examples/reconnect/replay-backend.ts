/**
 * The replay backend for the servers `storeFromEnv` opened (its `clients`), so the room lives
 * where the sessions do: Redis in front of Postgres when both are set, Redis (ioredis or
 * Upstash) or Postgres alone, and memory when nothing is.
 *
 * @module
 */
import type { EnvClients } from "cloakroom/env";
import { memoryReplay } from "cloakroom/adapters/memory";
import { redisReplay as ioredisReplay } from "cloakroom/adapters/ioredis";
import { postgresReplay } from "cloakroom/adapters/postgres";
import { redisReplay as upstashReplay } from "cloakroom/adapters/upstash";
import { cachedReplay, type ReplayBackend } from "cloakroom/replay";

export async function replayBackendFor(clients: EnvClients, keyPrefix?: string): Promise<{ backend: ReplayBackend; description: string }> {
  const prefix = keyPrefix === undefined ? {} : { keyPrefix };
  const cache = clients.redis ? ioredisReplay({ client: clients.redis, ...prefix }) : clients.upstash ? upstashReplay({ client: clients.upstash, ...prefix }) : undefined;
  if (clients.query) {
    const durable = postgresReplay({ query: clients.query });
    await durable.migrate();
    if (cache) return { backend: cachedReplay({ cache, durable }), description: `${cache.name} in front of postgres` };
    return { backend: durable, description: "postgres" };
  }
  if (cache) return { backend: cache, description: cache.name };
  return { backend: memoryReplay(), description: "memory (this process only)" };
}

