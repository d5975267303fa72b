/**
 * Reading and deleting express-session's records, for `adoptExpressSession`: through the
 * store instance the application gave express-session (connect-redis, connect-pg-simple, or
 * any other express-session store: only its `get` and `destroy` are used), or from a URL in the
 * layout connect-redis and connect-pg-simple use by default (`sess:<id>` keys holding JSON; a
 * `"session"` table of `sid`, `sess`, `expire`). A URL's client (ioredis, pg) is loaded by a
 * specifier bundlers do not follow, created here and closed by `close()`.
 *
 * Typed by the few members used, so neither the drivers nor Node's types are needed here.
 *
 * @module
 */
import { SessionError } from "../errors.ts";

/**
 * A legacy record as express-session stores it: the session's data plus its `cookie`, whose
 * `expires` is an ISO string once it has been through JSON (a Date in a store that keeps objects).
 */
export type LegacyRecord = Record<string, unknown>;

/** What `adoptExpressSession` uses of an express-session store (connect-redis, connect-pg-simple). */
export interface ExpressSessionStore {
  // `object`, not a record type: the stores' own types name express-session's SessionData interface.
  get(sid: string, callback: (error: unknown, session?: object | null) => void): unknown;
  destroy(sid: string, callback?: (error?: unknown) => void): unknown;
}

export interface LegacyStore {
  get(sid: string): Promise<LegacyRecord | null>;
  destroy(sid: string): Promise<void>;
  close(): Promise<void>;
}

interface RedisClient {
  get(key: string): Promise<string | null>;
  del(key: string): Promise<number>;
  quit(): Promise<unknown>;
}

interface PgPool {
  query(text: string, values: unknown[]): Promise<{ rows: { sess: unknown; expire: Date | string }[] }>;
  end(): Promise<void>;
}

function fromInstance(store: ExpressSessionStore): LegacyStore {
  return {
    get: (sid) =>
      new Promise((resolve, reject) => {
        store.get(sid, (error, session) => (error ? reject(error) : resolve(parse(session ?? null))));
      }),
    destroy: (sid) =>
      new Promise((resolve, reject) => {
        store.destroy(sid, (error) => (error ? reject(error) : resolve()));
      }),
    // The application's store: the application closes it.
    close: async () => {},
  };
}

async function load<T>(specifier: string): Promise<T> {
  const name = specifier;
  try {
    return (await import(/* @vite-ignore */ /* webpackIgnore: true */ name)) as T;
  } catch (error) {
    throw new SessionError("ERR_SESSION_CONFIG", `adoptExpressSession store is a URL, which needs the ${specifier} package; install it (npm install ${specifier}) or pass the store instance instead.`, { cause: error });
  }
}

function parse(json: unknown): LegacyRecord | null {
  try {
    const value: unknown = typeof json === "string" ? JSON.parse(json) : json;
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as LegacyRecord) : null;
  } catch {
    return null;
  }
}

function fromRedisUrl(url: string): LegacyStore {
  // One client, made on first use; a Redis that is down fails calls quickly, it does not queue them.
  let client: Promise<RedisClient> | undefined;
  const connect = () =>
    (client ??= load<{ Redis: new (url: string, options: object) => RedisClient }>("ioredis").then(
      ({ Redis }) => new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true }),
    ));
  return {
    get: async (sid) => parse(await (await connect()).get(`sess:${sid}`)),
    destroy: async (sid) => void (await (await connect()).del(`sess:${sid}`)),
    close: async () => void (client && (await (await client).quit())),
  };
}

function fromPostgresUrl(url: string): LegacyStore {
  let pool: Promise<PgPool> | undefined;
  const connect = () =>
    (pool ??= load<{ default: { Pool: new (options: object) => PgPool } }>("pg").then(({ default: pg }) => new pg.Pool({ connectionString: url, max: 2 })));
  return {
    async get(sid) {
      const { rows } = await (await connect()).query('SELECT sess, expire FROM "session" WHERE sid = $1', [sid]);
      const row = rows[0];
      // connect-pg-simple's own read skips expired rows that pruning has not reached yet.
      if (!row || new Date(row.expire).getTime() < Date.now()) return null;
      return parse(row.sess);
    },
    destroy: async (sid) => void (await (await connect()).query('DELETE FROM "session" WHERE sid = $1', [sid])),
    close: async () => void (pool && (await (await pool).end())),
  };
}

export function legacyStoreOf(store: unknown): LegacyStore {
  if (typeof store === "string") {
    let protocol: string;
    try {
      protocol = new URL(store).protocol;
    } catch {
      protocol = "";
    }
    if (protocol === "redis:" || protocol === "rediss:") return fromRedisUrl(store);
    if (protocol === "postgres:" || protocol === "postgresql:") return fromPostgresUrl(store);
    throw new SessionError("ERR_SESSION_CONFIG", "adoptExpressSession store must be a redis://, rediss://, postgres:// or postgresql:// URL, or the store instance express-session was given.");
  }
  const instance = store as Partial<ExpressSessionStore> | null;
  if (typeof instance !== "object" || instance === null || typeof instance.get !== "function" || typeof instance.destroy !== "function") {
    throw new SessionError("ERR_SESSION_CONFIG", "adoptExpressSession store must be the store express-session was given (for example new RedisStore({ client }) or new (connectPgSimple(session))({ pool })), or its URL.");
  }
  return fromInstance(instance as ExpressSessionStore);
}
