/**
 * `createReplayLog` options, checked once at start-up: a typo or an impossible value fails
 * there with a message naming the option and the fix.
 *
 * @module
 */
import { configError } from "../errors.ts";
import type { ReplayBackend, ReplayPolicy } from "./backend.ts";

export interface ReplayLogOptions {
  /** Where events live: `memoryReplay()`, `redisReplay({ client })`, `postgresReplay({ query })` or `cachedReplay({ cache, durable })`. */
  backend: ReplayBackend;
  /** Seconds an event is kept at most. @default 86400 (one day) */
  retention?: number;
  /** Events kept per channel at most; older ones are pruned first. @default 10000 */
  maxEvents?: number;
  /**
   * The session manager (`createSessions`) whose keyring seals resume tokens and whose store
   * says whether the session behind a token is still signed in. Needed for
   * `issueResumeToken` and `resume` only.
   */
  sessions?: object;
  /** Seconds a resume token stays valid. @default 300 */
  tokenTtl?: number;
  /** Seconds a member stays live after a heartbeat given no ttl, or after an ack with no heartbeat before it. @default 30 */
  memberTtl?: number;
  /**
   * Every how many appends, acks and heartbeats (in this process) one prunes the channel it
   * touched: the amortised cleanup that replaces a cron job. 1 prunes on every call. @default 32
   */
  pruneEvery?: number;
  /** Events or members one prune deletes at most, per kind. @default 1000 */
  pruneBatch?: number;
  /** Largest event, as JSON, in bytes. @default 65536 */
  maxEventBytes?: number;
  /** Largest `limit` of one `since`. @default 1000 */
  maxLimit?: number;
  /** Epoch ms; pass the sessions' clock in tests. @default Date.now */
  clock?: () => number;
}

export interface ResolvedReplayOptions {
  backend: ReplayBackend;
  sessions: object | undefined;
  policy: ReplayPolicy;
  tokenTtlMs: number;
  pruneEvery: number;
  maxEventBytes: number;
  maxLimit: number;
  clock: () => number;
}

const KNOWN = new Set([
  "backend", "retention", "maxEvents", "sessions", "tokenTtl", "memberTtl", "pruneEvery", "pruneBatch", "maxEventBytes", "maxLimit", "clock",
]);

function seconds(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback * 1000;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > 10 * 365 * 86400) {
    throw configError(`createReplayLog ${name} is in seconds and must be a number > 0 (fractions allowed, at most ten years); got ${String(value)}.`);
  }
  return Math.max(1, Math.round(value * 1000));
}

function count(value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > max) {
    throw configError(`createReplayLog ${name} must be an integer from 1 to ${max}; got ${String(value)}.`);
  }
  return value as number;
}

export function resolveReplayOptions(options: ReplayLogOptions): ResolvedReplayOptions {
  if (typeof options !== "object" || options === null) {
    throw configError("createReplayLog needs an options object: createReplayLog({ backend: memoryReplay() }).");
  }
  const unknown = Object.keys(options).filter((key) => !KNOWN.has(key));
  if (unknown.length > 0) {
    throw configError(`createReplayLog got unknown option(s) ${unknown.join(", ")}; it takes ${[...KNOWN].join(", ")}.`);
  }
  const backend = options.backend;
  const methods = ["append", "read", "heartbeat", "ack", "members", "prune", "saveToken", "consumeToken"] as const;
  if (typeof backend !== "object" || backend === null || methods.some((method) => typeof backend[method] !== "function")) {
    throw configError(
      "createReplayLog needs `backend`: memoryReplay() (cloakroom/adapters/memory), redisReplay({ client }) (cloakroom/adapters/ioredis or /upstash), " +
        "postgresReplay({ query }) (cloakroom/adapters/postgres) or cachedReplay({ cache, durable }).",
    );
  }
  if (options.clock !== undefined && typeof options.clock !== "function") {
    throw configError("createReplayLog clock must be a function returning epoch ms, such as Date.now.");
  }
  if (options.sessions !== undefined && (typeof options.sessions !== "object" || options.sessions === null)) {
    throw configError("createReplayLog sessions must be the object createSessions returned.");
  }
  return {
    backend,
    sessions: options.sessions,
    policy: {
      retentionMs: seconds(options.retention, "retention", 86_400),
      maxEvents: count(options.maxEvents, "maxEvents", 10_000, 10_000_000),
      batch: count(options.pruneBatch, "pruneBatch", 1000, 100_000),
      memberTtlMs: seconds(options.memberTtl, "memberTtl", 30),
    },
    tokenTtlMs: seconds(options.tokenTtl, "tokenTtl", 300),
    pruneEvery: count(options.pruneEvery, "pruneEvery", 32, 1_000_000),
    maxEventBytes: count(options.maxEventBytes, "maxEventBytes", 65_536, 16 * 1024 * 1024),
    maxLimit: count(options.maxLimit, "maxLimit", 1000, 100_000),
    // Whole milliseconds: times are stored as integers by every backend.
    clock: options.clock ? () => Math.floor(options.clock!()) : Date.now,
  };
}
