/**
 * Reading the environment object: `process.env` on Node, Bun and Deno, a Worker's `env` in
 * Cloudflare Workers (which also holds bindings such as KV namespaces, so only strings count).
 * Every error and log line names variables, never their values: a URL may carry a password,
 * and a token is one.
 *
 * @module
 */
import { SessionError } from "../src/errors.ts";
import type { Cluster, Redis } from "ioredis";
import type { QueryFunction } from "../adapters/postgres/drivers.ts";
import type { UpstashClient } from "../adapters/upstash/script-runner.ts";
import type { SessionStore } from "../src/store.ts";

/** `process.env`, or a Worker's `env`: only the string values are read. */
export type EnvSource = Readonly<Record<string, unknown>>;

/** Where a log line goes; `level` is "warn" when the line holds a warning. */
export type EnvLog = (line: string, level: "info" | "warn") => void;

/**
 * The clients opened for the store, for other parts built on the same servers (a replay log:
 * `redisReplay({ client: clients.redis })`, `postgresReplay({ query: clients.query })`). Owned
 * by the store's `close()`: do not close them yourself.
 */
export interface EnvClients {
  /** ioredis `Redis` or `Cluster` (REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES). */
  redis?: Redis | Cluster;
  /** @upstash/redis client (UPSTASH_REDIS_REST_URL). */
  upstash?: UpstashClient;
  /** The Postgres query function (DATABASE_URL), schema of the session store migrated. */
  query?: QueryFunction;
}

/** A store opened from the environment, with what was opened for it. */
export interface OpenedStore {
  store: SessionStore;
  clients: EnvClients;
  /** Where the sessions live, without a secret: for example `Redis at 10.0.0.5:6379 (REDIS_URL)`. */
  description: string;
  /** Closes the clients opened for the store (the adapters never close a client). */
  close(): Promise<void>;
}

export const UPSTASH_VARIABLES = ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"] as const;
export const REDIS_VARIABLES = ["REDIS_URL", "REDIS_SENTINELS", "REDIS_CLUSTER_NODES"] as const;
export type RedisVariable = (typeof REDIS_VARIABLES)[number];

/** The variable's value when it is a non-empty string, trimmed; undefined otherwise. */
export function variable(env: EnvSource, name: string): string | undefined {
  const value = env[name];
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed;
}

export function configError(message: string): SessionError {
  return new SessionError("ERR_SESSION_CONFIG", message);
}

/** `a`, `a and b`, `a, b and c`. */
export function listOf(names: readonly string[]): string {
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

/** A driver's message in a log line, on one line and bounded. Driver messages name hosts, not passwords. */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name === "Error" ? "" : `${error.name}: `}${error.message}` : String(error);
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 197)}...` : flat;
}
