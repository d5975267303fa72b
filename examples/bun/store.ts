/**
 * The example's session store, from the environment:
 *   DATABASE_URL=postgres://user:pass@host:5432/db   PostgreSQL through a `pg` Pool (table created on start)
 *   REDIS_URL=redis://[user:pass@]host:6379          Redis through ioredis
 *   neither                                          memory (lost on restart, one process only)
 * SESSION_TABLE names the Postgres table (default "cloakroom_sessions"); REDIS_KEY_PREFIX the
 * Redis key prefix (default "cloakroom:"): for sharing a database or a Redis with other apps.
 *
 * The application opens the client and closes it; the adapter never does either. Each driver is
 * imported only when its variable is set. Errors name the variable, never its value: a URL may
 * hold a password.
 *
 * @module
 */
import type { SessionStore } from "cloakroom";
import { memoryStore } from "cloakroom/adapters/memory";

export interface OpenedStore {
  store: SessionStore;
  /** What the log line says the sessions live in. */
  kind: "postgres" | "redis" | "memory";
  /** Ends the pool or the Redis connection; the server calls it on shutdown. */
  close(): Promise<void>;
}

export async function openStore(env: Record<string, string | undefined>): Promise<OpenedStore> {
  const databaseUrl = env.DATABASE_URL?.trim();
  const redisUrl = env.REDIS_URL?.trim();
  if (databaseUrl && redisUrl) throw new Error("cloakroom example: DATABASE_URL and REDIS_URL are both set; set one of them.");

  if (databaseUrl) {
    const { default: pg } = await import("pg");
    const { fromPg, postgresStore } = await import("cloakroom/adapters/postgres");
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, connectionTimeoutMillis: 5_000 });
    // An idle connection that drops emits "error" on the pool; unhandled, it would end the process.
    pool.on("error", () => {});
    const table = env.SESSION_TABLE?.trim();
    const store = postgresStore({ query: fromPg(pool), ...(table ? { table } : {}) });
    try {
      await store.migrate();
    } catch (error) {
      await pool.end();
      throw new Error(`cloakroom example: could not create the session table through DATABASE_URL (${(error as Error).message}).`, { cause: error });
    }
    return { store, kind: "postgres", close: () => pool.end() };
  }

  if (redisUrl) {
    const { Redis } = await import("ioredis");
    const { ioredisStore } = await import("cloakroom/adapters/ioredis");
    // Bounded commands and quick reconnects: a Redis that stops answering fails requests (503)
    // instead of holding them. The README's "Redis (ioredis)" section has the full set for failover.
    const client = new Redis(redisUrl, { commandTimeout: 3_000, maxRetriesPerRequest: 2, connectTimeout: 2_000 });
    client.on("error", () => {}); // each failed command reports it; the event would repeat per reconnect
    const keyPrefix = env.REDIS_KEY_PREFIX?.trim();
    const store = ioredisStore({ client, ...(keyPrefix ? { keyPrefix } : {}) });
    return { store, kind: "redis", close: async () => client.disconnect() };
  }

  const store = memoryStore();
  return { store, kind: "memory", close: () => store.close() };
}
