/**
 * Session store on Redis through ioredis: standalone, Sentinel or Cluster. The application
 * builds the client (with options that survive a failover: README, "Redis (ioredis)") and
 * closes it; the adapter never creates a connection, reads the environment or starts a timer.
 *
 * Each operation is one round trip: a read is a plain GET while its touch is not due, else one
 * Lua script that touches it too; a compare-and-set write, a delete, listing a user's sessions
 * and a counter are one script each. Revoking a user is two (see `revokeUser`). Every key
 * expires. A user's sessions, index and revocation mark share one hash slot, so all of it holds
 * on Cluster too. Layout and scripts: ../redis/.
 *
 * `failoverSafeOptions()` and `failoverSafeClusterOptions()` give client options that survive
 * a failover (they return options; the application still builds the client).
 *
 * @module
 */
import type { Cluster, Redis } from "ioredis";
import { SessionError } from "../../src/errors.ts";
import type { StoreHealth } from "../../src/store.ts";
import { redisSessionStore, type RedisSessionStore } from "../redis/store.ts";
import { clusterOf, evictionOf, quorumOf, replicationOf } from "./health.ts";
import { ioredisRunner, storeError } from "./runner.ts";

export { failoverSafeClusterOptions, failoverSafeOptions, type FailoverOptions } from "./client-options.ts";

export interface IoredisStoreOptions {
  /** An ioredis `Redis` (standalone or Sentinel) or `Cluster` the application created. */
  client: Redis | Cluster;
  /**
   * Prepended to every key. Must not contain "{" or "}". A `keyPrefix` set on the client
   * itself also applies, in front of this one. @default "cloakroom:"
   */
  keyPrefix?: string;
  /**
   * For Sentinel deployments: a client connected to one sentinel (`new Redis({ host, port })`
   * on a sentinel's address), so `health()` can report whether a failover can be agreed on
   * (SENTINEL CKQUORUM). The master name is the data client's `name` option.
   */
  sentinel?: Redis;
  /** See `RedisSessionStoreOptions.revocationWindowMs`. @default 3_600_000 */
  revocationWindowMs?: number;
  /** Epoch ms; pass the manager's clock in tests. @default Date.now */
  clock?: () => number;
}

export type IoredisStore = RedisSessionStore;

export type RedisDeployment = "standalone" | "sentinel" | "cluster";

function deploymentOf(client: Redis | Cluster): RedisDeployment {
  if (client.isCluster) return "cluster";
  return (client as Redis).options?.sentinels?.length ? "sentinel" : "standalone";
}

function configError(message: string): SessionError {
  return new SessionError("ERR_SESSION_CONFIG", message);
}

/**
 * @example
 * import { Redis } from "ioredis";
 * import { createSessions } from "cloakroom";
 * import { failoverSafeOptions, ioredisStore } from "cloakroom/adapters/ioredis";
 *
 * const client = new Redis(process.env.REDIS_URL, failoverSafeOptions());
 * const sessions = createSessions({ store: ioredisStore({ client, keyPrefix: "myapp:" }), keys: process.env.SESSION_KEYS });
 */
export function ioredisStore(options: IoredisStoreOptions): IoredisStore {
  const { client, sentinel } = options ?? {};
  if (!client || typeof (client as Redis).evalsha !== "function" || typeof client.ping !== "function") {
    throw configError(
      "ioredisStore needs `client`: an ioredis Redis or Cluster your application created, for example ioredisStore({ client: new Redis(process.env.REDIS_URL) }).",
    );
  }
  const deployment = deploymentOf(client);
  const masterName = deployment === "sentinel" ? (client as Redis).options.name : undefined;
  if (deployment === "sentinel" && (client as Redis).options.role === "slave") {
    throw configError("ioredisStore needs a client of the Sentinel primary, but this one has role \"slave\": sessions are written on every request. Drop the role option.");
  }
  if (sentinel !== undefined) {
    if (deployment !== "sentinel") {
      throw configError("ioredisStore's `sentinel` option is for Sentinel deployments, but `client` was not created with `sentinels`; drop the option or pass a Sentinel client.");
    }
    if (typeof sentinel?.call !== "function") {
      throw configError("ioredisStore's `sentinel` must be an ioredis Redis connected to one sentinel, for example new Redis({ host, port: 26379 }).");
    }
  }

  const base = redisSessionStore(ioredisRunner(client), {
    name: "ioredis",
    ...(options.keyPrefix !== undefined ? { keyPrefix: options.keyPrefix } : {}),
    ...(options.revocationWindowMs !== undefined ? { revocationWindowMs: options.revocationWindowMs } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });

  /**
   * PING latency, plus per deployment what a failover depends on. `ok` says whether this
   * store can serve sessions now (it answers, and on the node sessions are written to); a
   * degraded failover path (no online replica, no sentinel quorum) shows in `details` with
   * `failoverReady: false`, for alerting, without marking every app instance down. So does an
   * eviction policy other than `noeviction` (`evictionSafe: false`, see health.ts): status
   * "degraded".
   */
  async function health(): Promise<StoreHealth> {
    const latencyMs = await base.health().then((h) => h.latencyMs);
    try {
      if (deployment === "cluster") {
        const [cluster, eviction] = await Promise.all([clusterOf(client as Cluster), evictionOf((client as Cluster).nodes("master"))]);
        const details = { deployment, ...cluster, ...eviction, ...(eviction.evictionSafe ? {} : { status: "degraded" }) };
        return { ok: cluster.state === "ok", latencyMs, details };
      }
      const [replication, eviction] = await Promise.all([replicationOf(client as Redis), evictionOf([client as Redis])]);
      const details: Record<string, unknown> = { deployment, ...replication, ...eviction };
      if (!eviction.evictionSafe) details.status = "degraded";
      if (deployment === "sentinel") {
        const quorum = sentinel && masterName ? await quorumOf(sentinel, masterName) : undefined;
        if (quorum) details.quorum = quorum;
        details.failoverReady = replication.replicasOnline > 0 && (quorum?.ok ?? true);
        // Sessions are served, but the next failure of the primary would not fail over: the
        // manager's health reads this as "degraded" (200 from healthHandler, an alert to set).
        details.status = details.failoverReady && eviction.evictionSafe ? "ok" : "degraded";
      }
      return { ok: replication.role === "master", latencyMs, details };
    } catch (error) {
      throw storeError("the health probe", error);
    }
  }

  return { ...base, health };
}

export { redisReplay, type IoredisReplayOptions, type RedisReplay, type RedisReplayOptions } from "./replay.ts";
