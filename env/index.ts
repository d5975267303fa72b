/**
 * `storeFromEnv(env)`: the session store an application's environment describes, so the same
 * code runs on a laptop (memory), on one Redis, behind Sentinel or on a Cluster, on Postgres,
 * on Upstash from a Worker, or on Redis in front of Postgres.
 *
 * | set                                               | store                                           |
 * |---------------------------------------------------|-------------------------------------------------|
 * | `UPSTASH_REDIS_REST_URL` + `_TOKEN`               | Upstash (HTTP; Workers too)                     |
 * | `REDIS_URL`, or `REDIS_SENTINELS` + `REDIS_SENTINEL_NAME`, or `REDIS_CLUSTER_NODES` | ioredis (Node, Bun, Deno) |
 * | `DATABASE_URL` (`postgres://...` or `pglite:<dir>`) | Postgres through pg, or PGlite (Node, Bun, Deno) |
 * | a Redis (any of the above) and `DATABASE_URL`     | `tieredStore({ cache: redis, durable: postgres })` |
 * | nothing                                           | memory, with a loud warning when `NODE_ENV=production` |
 *
 * Upstash is preferred over the TCP Redis variables. Also read: `REDIS_USERNAME`,
 * `REDIS_PASSWORD` (Sentinel and Cluster data nodes), `REDIS_SENTINEL_PASSWORD`,
 * `REDIS_KEY_PREFIX` (Upstash and ioredis), `NODE_ENV`.
 *
 * It logs one line saying which store it chose (through `log`), never a secret: no password,
 * no token, no URL, only hosts and variable names. Every variable is checked before anything is
 * opened, and a mistake throws `ERR_SESSION_CONFIG` naming the variable and the fix.
 *
 * Web-standard: it reads the object it is given (`process.env`, or a Worker's `env`), never
 * `process` itself. ioredis, pg and PGlite are loaded with `import()` of a specifier bundlers do
 * not follow, so a Worker bundle contains none of them; in a Worker only Upstash and memory
 * apply, and a Node-only variable set there is named in the log (or the error, when nothing
 * else is set).
 *
 * @example
 * import { createSessions } from "cloakroom";
 * import { storeFromEnv } from "cloakroom/env";
 *
 * const { store, close } = await storeFromEnv(process.env);
 * const sessions = createSessions({ store, keys: process.env.SESSION_KEYS });
 * process.once("SIGTERM", () => server.close(() => void close()));
 *
 * @module
 */
import { memoryStore } from "../adapters/memory/index.ts";
import { keyLayout } from "../adapters/redis/keys.ts";
import type { EventListener } from "../src/events.ts";
import { guardedStore, type GuardOptions } from "../src/resilience/guarded-store.ts";
import { tieredStore, type TieredStoreOptions } from "../src/resilience/tiered-store.ts";
import type { SessionStore } from "../src/store.ts";
import { openPostgres, planPostgres, type PostgresPlan } from "./postgres.ts";
import { openRedis, planRedis, redisVariablesSet, type RedisPlan } from "./redis.ts";
import { runtimeOf, type Runtime, type RuntimeKind } from "./runtime.ts";
import { openUpstash, planUpstash, type UpstashPlan } from "./upstash.ts";
import { configError, listOf, variable, type EnvClients, type EnvLog, type EnvSource, type OpenedStore } from "./variables.ts";

export type { EnvClients, EnvLog, EnvSource } from "./variables.ts";
export type { RuntimeKind } from "./runtime.ts";

export interface StoreFromEnvOptions {
  /**
   * Where the one line about the chosen store goes, and the one line per Redis outage. Never
   * given a secret. `false` logs nothing.
   * @default console.info, or console.warn for a line with a warning
   */
  log?: EnvLog | false;
  /** Passed to `tieredStore` (breaker transitions, store latency): give it `otelMetrics()`. */
  onEvent?: EventListener;
  /** Settings of the tiered store (Redis + DATABASE_URL) besides cache, durable and onEvent. */
  tiered?: Omit<TieredStoreOptions, "cache" | "durable" | "onEvent">;
  /**
   * Postgres alone (DATABASE_URL without Redis) runs behind `guardedStore`: a time budget per
   * call and a circuit breaker, so a frozen database costs a request the budget, not forever.
   * These settings (besides onEvent), or false for none. Redis and Upstash alone need no guard:
   * their clients' own timeouts (`failoverSafeOptions`, the Upstash signal) are the budget, and
   * a breaker there would keep failing requests after a Sentinel failover had completed.
   * @default { timeoutMs: 2000 } and the breaker's defaults
   */
  guard?: Omit<GuardOptions, "onEvent"> | false;
  /**
   * Create the Postgres tables if they are missing (idempotent, safe from several instances).
   * Turn off when your migration tool applies `schemaSql()`. @default true
   */
  migrate?: boolean;
  /** "node" (Node, Bun, Deno: TCP drivers) or "edge" (Workers: Upstash and memory only). @default detected */
  runtime?: RuntimeKind;
}

export interface EnvStore {
  store: SessionStore;
  /** Which store, where, from which variables; never a secret. The log line says the same. */
  description: string;
  /** What the log line warned about (variables ignored, memory in production); one sentence each. */
  warnings: string[];
  /**
   * The clients opened for the store (none for memory), so a replay log can use the same servers
   * (see examples/reconnect). `close()` closes them.
   */
  clients: EnvClients;
  /** Closes every client opened for the store. Call it on shutdown, after the last request. */
  close(): Promise<void>;
}

const KNOWN_OPTIONS = new Set(["log", "onEvent", "tiered", "guard", "migrate", "runtime"]);
/** Budget of one Postgres call when Postgres serves alone (the tiered store's durable default). */
const POSTGRES_ALONE_TIMEOUT_MS = 2000;
/** The ioredis command timeout alone (holds a request across a Sentinel failover) and as a cache (the tiered store answers from Postgres after 250 ms anyway). */
const REDIS_TIMEOUT_MS = { alone: 3000, cache: 1000 };
/** Upstash request budget, retries included. */
const UPSTASH_BUDGET_MS = { alone: 3000, cache: 1000 };

type CachePlan = UpstashPlan | RedisPlan;

interface Plan {
  cache: CachePlan | undefined;
  durable: PostgresPlan | undefined;
  keyPrefix: string | undefined;
  warnings: string[];
}

const defaultLog: EnvLog = (line, level) => (level === "warn" ? console.warn(line) : console.info(line));

function checkOptions(options: StoreFromEnvOptions): void {
  if (typeof options !== "object" || options === null) throw configError("storeFromEnv options must be an object, for example { log: false }.");
  const unknown = Object.keys(options).filter((key) => !KNOWN_OPTIONS.has(key));
  if (unknown.length > 0) throw configError(`unknown storeFromEnv option(s) ${unknown.join(", ")}; the options are ${[...KNOWN_OPTIONS].join(", ")}.`);
  if (options.log !== undefined && options.log !== false && typeof options.log !== "function") {
    throw configError("storeFromEnv log must be a function (line, level) => void, or false.");
  }
  if (options.runtime !== undefined && options.runtime !== "node" && options.runtime !== "edge") {
    throw configError(`storeFromEnv runtime must be "node" or "edge"; got ${JSON.stringify(String(options.runtime))}.`);
  }
}

/** Everything the variables say, checked, before anything is opened. */
function plan(env: EnvSource, runtime: Runtime): Plan {
  const warnings: string[] = [];
  const upstash = planUpstash(env);
  // Parsed even when unused, so a typo fails now rather than on the day Upstash is removed.
  const redis = planRedis(env);
  const databaseUrl = variable(env, "DATABASE_URL");
  const durable = databaseUrl === undefined ? undefined : planPostgres(databaseUrl);

  const keyPrefix = variable(env, "REDIS_KEY_PREFIX");
  if (keyPrefix !== undefined) {
    try {
      keyLayout(keyPrefix);
    } catch (error) {
      throw configError(`REDIS_KEY_PREFIX ${(error as Error).message.replace(/^cloakroom: keyPrefix /, "")}`);
    }
  }

  const tcpOnly = [...redisVariablesSet(env), ...(durable ? ["DATABASE_URL"] : [])];
  if (runtime.kind === "edge" && tcpOnly.length > 0) {
    const why = `${runtime.name} cannot use ${tcpOnly.length === 1 ? "it" : "them"}: ioredis and pg need TCP sockets and Node's modules (Node, Bun, Deno).`;
    const instead = "For Redis over HTTP set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN; for Postgres in a Worker build postgresStore({ query: fromNeon(neon(url)) }) yourself.";
    if (!upstash) throw configError(`${listOf(tcpOnly)} ${tcpOnly.length === 1 ? "is" : "are"} set, but ${why} ${instead}`);
    warnings.push(`${listOf(tcpOnly)} ignored: ${why}`);
    return { cache: upstash, durable: undefined, keyPrefix, warnings };
  }
  if (upstash && redis) {
    // The REST pair is set for a deployment that talks to Redis over HTTP, usually one that
    // cannot reach a TCP Redis anyway.
    warnings.push(`${redis.variable} ignored: UPSTASH_REDIS_REST_URL is set too, and Upstash is preferred.`);
  }
  return { cache: upstash ?? redis, durable, keyPrefix, warnings };
}

async function openCache(cache: CachePlan, env: EnvSource, role: "alone" | "cache", keyPrefix: string | undefined, log: EnvLog): Promise<OpenedStore> {
  if (cache.kind === "upstash") return openUpstash(cache, { env, keyPrefix, budgetMs: UPSTASH_BUDGET_MS[role] });
  return openRedis(cache, {
    keyPrefix,
    commandTimeoutMs: REDIS_TIMEOUT_MS[role],
    log,
    whileOut: role === "cache"
      ? "sessions are served from the durable store until it is back."
      : "session requests fail with ERR_SESSION_STORE (503) until it is back.",
  });
}

function memory(env: EnvSource, runtime: Runtime): { opened: OpenedStore; warnings: string[] } {
  const store = memoryStore();
  const where = runtime.kind === "edge" ? "this isolate" : "this process";
  const warnings: string[] = [];
  if (variable(env, "NODE_ENV") === "production") {
    warnings.push(
      `WARNING: NODE_ENV is production but no session store is configured, so sessions are kept in ${where}'s memory: every restart signs everyone out, and instances do not share sessions. ` +
        "Set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN, REDIS_URL (or REDIS_SENTINELS, REDIS_CLUSTER_NODES), or DATABASE_URL.",
    );
  } else if (runtime.kind === "edge") {
    // A deployed Worker runs many isolates that share nothing and start empty: memory is for
    // `wrangler dev` only, whatever NODE_ENV says (a Worker rarely sets it).
    warnings.push(
      `sessions in ${where}'s memory are fine for local runs (wrangler dev), but a deployment runs many isolates that share nothing; set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN.`,
    );
  }
  return {
    opened: { store, clients: {}, description: `memory (${where} only: lost on restart, not shared between instances)`, close: () => store.close() },
    warnings,
  };
}

/**
 * @param env `process.env`, or a Worker's `env`
 * @example
 * const { store, description, close } = await storeFromEnv(process.env, { log: (line) => logger.info(line) });
 */
export async function storeFromEnv(env: EnvSource, options: StoreFromEnvOptions = {}): Promise<EnvStore> {
  if (typeof env !== "object" || env === null) {
    throw configError("storeFromEnv needs the environment object: storeFromEnv(process.env), or a Worker's env.");
  }
  checkOptions(options);
  const log: EnvLog = options.log === false ? () => {} : (options.log ?? defaultLog);
  const runtime = runtimeOf(options.runtime);
  const chosen = plan(env, runtime);
  const warnings = [...chosen.warnings];
  const migrate = options.migrate ?? true;

  let opened: OpenedStore;
  let description: string;
  if (chosen.cache && chosen.durable) {
    // Postgres first: if it cannot be reached, nothing of Redis is left open.
    const durable = await openPostgres(chosen.durable, { migrate, log });
    let cache: OpenedStore | undefined;
    let store: SessionStore;
    try {
      cache = await openCache(chosen.cache, env, "cache", chosen.keyPrefix, log);
      store = tieredStore({ ...options.tiered, cache: cache.store, durable: durable.store, ...(options.onEvent ? { onEvent: options.onEvent } : {}) });
    } catch (error) {
      // A bad `tiered` option or a cache that cannot be opened: leave nothing open behind.
      await Promise.all([cache?.close(), durable.close()]).catch(() => {});
      throw error;
    }
    description = `tiered: ${cache.description} as cache, ${durable.description} as store of record`;
    const both = [cache, durable];
    opened = { store, clients: { ...cache.clients, ...durable.clients }, description, close: async () => void (await Promise.all(both.map((part) => part.close()))) };
  } else if (chosen.cache) {
    opened = await openCache(chosen.cache, env, "alone", chosen.keyPrefix, log);
    description = opened.description;
  } else if (chosen.durable) {
    const postgres = await openPostgres(chosen.durable, { migrate, log });
    const guard = options.guard ?? {};
    opened = guard === false ? postgres : {
      ...postgres,
      store: guardedStore(postgres.store, {
        timeoutMs: POSTGRES_ALONE_TIMEOUT_MS,
        ...guard,
        ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      }),
    };
    description = opened.description;
  } else {
    const fallback = memory(env, runtime);
    opened = fallback.opened;
    description = opened.description;
    warnings.push(...fallback.warnings);
  }

  log(`cloakroom: sessions in ${description}${warnings.length > 0 ? `. ${warnings.join(" ")}` : ""}`, warnings.length > 0 ? "warn" : "info");
  let closing: Promise<void> | undefined;
  return { store: opened.store, description, warnings, clients: opened.clients, close: () => (closing ??= opened.close()) };
}
