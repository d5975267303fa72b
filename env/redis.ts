/**
 * The ioredis store from the environment; one of:
 *   REDIS_URL=redis://[user:password@]host:6379[/db]   a standalone Redis (rediss:// for TLS)
 *   REDIS_SENTINELS=host:port,host:port                 Sentinel, with REDIS_SENTINEL_NAME=<master name>
 *   REDIS_CLUSTER_NODES=host:port,host:port             a Redis Cluster (any nodes; the rest are discovered)
 * REDIS_USERNAME and REDIS_PASSWORD apply to the Sentinel and Cluster data nodes (a URL carries
 * its own); REDIS_SENTINEL_PASSWORD to the sentinels themselves.
 *
 * Clients are built with `failoverSafeOptions()` (adapters/ioredis/client-options.ts), which
 * survive a failover, and closed by `close()`: the adapter never does either. ioredis is loaded
 * only here, by a specifier bundlers do not follow.
 *
 * @module
 */
import type { Cluster, Redis } from "ioredis";
import { failoverSafeClusterOptions, failoverSafeOptions } from "../adapters/ioredis/client-options.ts";
import { guardedStore } from "../src/resilience/guarded-store.ts";
import { ioredisStore } from "../adapters/ioredis/index.ts";
import { loadDriver } from "./load.ts";
import { configError, listOf, oneLine, REDIS_VARIABLES, variable, type EnvLog, type EnvSource, type OpenedStore, type RedisVariable } from "./variables.ts";

interface Address {
  host: string;
  port: number;
}

interface Auth {
  username?: string;
  password?: string;
}

export type RedisPlan =
  | { kind: "redis"; variable: "REDIS_URL"; url: string; description: string }
  | { kind: "redis"; variable: "REDIS_SENTINELS"; sentinels: Address[]; name: string; auth: Auth; sentinelPassword?: string; description: string }
  | { kind: "redis"; variable: "REDIS_CLUSTER_NODES"; nodes: Address[]; auth: Auth; description: string };

/** `host:port,host:port` as ioredis addresses; IPv6 in brackets. */
export function parseAddresses(list: string, name: string): Address[] {
  const addresses = list.split(",").map((entry) => entry.trim()).filter(Boolean).map((entry) => {
    const match = /^\[?([^\]\s]+?)\]?:(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      throw configError(`${name} must be host:port pairs separated by commas, for example ${name}=10.0.0.1:26379,10.0.0.2:26379; an entry is not one.`);
    }
    return { host: match[1]!, port };
  });
  if (addresses.length === 0) throw configError(`${name} is empty; give host:port pairs separated by commas.`);
  return addresses;
}

const shown = (addresses: Address[]) => addresses.map((a) => (a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`)).join(", ");

/** The Redis variables that are set (each one a deployment). */
export function redisVariablesSet(env: EnvSource): RedisVariable[] {
  return REDIS_VARIABLES.filter((name) => variable(env, name) !== undefined);
}

/** The plan when one of REDIS_VARIABLES is set; undefined when none is. Opens nothing. */
export function planRedis(env: EnvSource): RedisPlan | undefined {
  const set = redisVariablesSet(env);
  if (set.length === 0) {
    if (variable(env, "REDIS_SENTINEL_NAME")) throw configError("REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not; set REDIS_SENTINELS=host:port,host:port too.");
    return undefined;
  }
  if (set.length > 1) throw configError(`${listOf(set)} are set; set only one of them (one Redis deployment).`);
  const auth: Auth = {};
  const username = variable(env, "REDIS_USERNAME");
  const password = variable(env, "REDIS_PASSWORD");
  if (username) auth.username = username;
  if (password) auth.password = password;

  if (set[0] === "REDIS_URL") {
    const url = variable(env, "REDIS_URL")!;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw configError("REDIS_URL is not a URL; use redis://[user:password@]host:6379[/db], or rediss:// for TLS.");
    }
    if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
      throw configError("REDIS_URL must start with redis:// or rediss:// (for Upstash over HTTP set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN instead).");
    }
    if (!parsed.hostname) throw configError("REDIS_URL has no host; use redis://[user:password@]host:6379[/db].");
    const db = parsed.pathname.replace(/^\//, "");
    const where = `${parsed.host}${db ? `/${db}` : ""}${parsed.protocol === "rediss:" ? ", TLS" : ""}`;
    return { kind: "redis", variable: "REDIS_URL", url, description: `Redis at ${where} (REDIS_URL)` };
  }
  if (set[0] === "REDIS_SENTINELS") {
    const name = variable(env, "REDIS_SENTINEL_NAME");
    if (!name) {
      throw configError("REDIS_SENTINELS is set but REDIS_SENTINEL_NAME is not; set it to the master name the sentinels monitor (sentinel monitor <name> ...).");
    }
    const sentinels = parseAddresses(variable(env, "REDIS_SENTINELS")!, "REDIS_SENTINELS");
    const sentinelPassword = variable(env, "REDIS_SENTINEL_PASSWORD");
    return {
      kind: "redis",
      variable: "REDIS_SENTINELS",
      sentinels,
      name,
      auth,
      ...(sentinelPassword ? { sentinelPassword } : {}),
      description: `Redis Sentinel master ${JSON.stringify(name)} via ${sentinels.length} sentinel${sentinels.length === 1 ? "" : "s"} ${shown(sentinels)} (REDIS_SENTINELS)`,
    };
  }
  const nodes = parseAddresses(variable(env, "REDIS_CLUSTER_NODES")!, "REDIS_CLUSTER_NODES");
  return { kind: "redis", variable: "REDIS_CLUSTER_NODES", nodes, auth, description: `Redis Cluster via ${shown(nodes)} (REDIS_CLUSTER_NODES)` };
}

export interface OpenRedisOptions {
  keyPrefix: string | undefined;
  commandTimeoutMs: number;
  log: EnvLog;
  /** What happens to requests while Redis is out, for the outage line. */
  whileOut: string;
}

/**
 * ioredis reports every failed reconnect as an "error" event, and prints each one when nobody
 * listens. One line per outage is enough: the next comes only after the client was ready again.
 */
function reportOutages(client: Redis | Cluster, what: string, options: OpenRedisOptions): void {
  let quiet = false;
  client.on("error", (error: Error) => {
    if (quiet) return;
    quiet = true;
    options.log(`cloakroom: ${what} is unreachable (${oneLine(error)}); ${options.whileOut}`, "warn");
  });
  client.on("ready", () => (quiet = false));
}

/** A Cluster's budget beyond commandTimeout: a command can queue briefly before a node takes it. */
const CLUSTER_QUEUE_MARGIN_MS = 500;

export async function openRedis(plan: RedisPlan, options: OpenRedisOptions): Promise<OpenedStore> {
  const ioredis = await loadDriver<typeof import("ioredis")>("ioredis", plan.variable);
  const clientOptions = failoverSafeOptions({ commandTimeoutMs: options.commandTimeoutMs });
  let client: Redis | Cluster;
  let sentinel: Redis | undefined;
  if (plan.variable === "REDIS_URL") {
    client = new ioredis.Redis(plan.url, clientOptions);
  } else if (plan.variable === "REDIS_SENTINELS") {
    const sentinelAuth = plan.sentinelPassword ? { sentinelPassword: plan.sentinelPassword } : {};
    client = new ioredis.Redis({ ...clientOptions, ...plan.auth, ...sentinelAuth, sentinels: plan.sentinels, name: plan.name });
    // For health only: whether the sentinels can still agree on a failover (SENTINEL CKQUORUM).
    sentinel = new ioredis.Redis({
      ...plan.sentinels[0]!,
      ...(plan.sentinelPassword ? { password: plan.sentinelPassword } : {}),
      lazyConnect: true,
      commandTimeout: 1000,
      maxRetriesPerRequest: 1,
    });
    sentinel.on("error", () => {}); // health reports it
  } else {
    const clusterOptions = failoverSafeClusterOptions({ commandTimeoutMs: options.commandTimeoutMs });
    client = new ioredis.Cluster(plan.nodes, { ...clusterOptions, redisOptions: { ...clusterOptions.redisOptions, ...plan.auth } });
  }
  reportOutages(client, plan.description, options);
  const adapter = ioredisStore({
    client,
    ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}),
    ...(sentinel ? { sentinel } : {}),
  });
  // ioredis bounds a command by commandTimeout only once it has reached a node. A Cluster holds
  // commands in a queue of its own until it is ready (at start, or with every node gone), and
  // that queue waits forever: the guard is its bound. No breaker: the Cluster's own retries
  // decide when it is back, and a breaker would go on failing requests after that.
  const store = plan.variable === "REDIS_CLUSTER_NODES"
    ? guardedStore(adapter, { timeoutMs: options.commandTimeoutMs + CLUSTER_QUEUE_MARGIN_MS, breaker: false })
    : adapter;
  return {
    store,
    clients: { redis: client },
    description: plan.description,
    // Called once the application has finished its requests: nothing is left to wait for.
    close: async () => {
      client.disconnect();
      sentinel?.disconnect();
    },
  };
}
