/**
 * ioredis client options that survive a failover. ioredis's defaults do not: a primary that
 * freezes (a hung process, or a partition that leaves its TCP connections open) gets no error
 * and no event, so commands wait on its socket forever (measured: no recovery in 26 s, ioredis
 * #1314). The figures behind each choice are in the README ("Redis (ioredis)") and
 * docs/operations.md.
 *
 * These only return options: the adapter still never creates a client. `storeFromEnv`
 * (cloakroom/env) builds its clients with them; an application that builds its own passes them
 * to `new Redis(...)` / `new Cluster(...)`.
 *
 * @module
 */
import type { ClusterOptions, RedisOptions } from "ioredis";

export interface FailoverOptions {
  /**
   * Longest a command may take, queueing during a reconnect included. Long enough to hold a
   * request across a Sentinel failover (about down-after-milliseconds + 1.5 s) rather than fail
   * it. A cache behind `tieredStore` may use less: its own time budget (250 ms) already sends
   * reads to the durable store, and a shorter timeout keeps fewer commands queued. @default 3000
   */
  commandTimeoutMs?: number;
}

/**
 * Options for a standalone or Sentinel `Redis` (spread them first, then your own).
 *
 * @example
 * const client = new Redis({ ...failoverSafeOptions(), sentinels, name: "mymaster" });
 */
export function failoverSafeOptions(options: FailoverOptions = {}): RedisOptions {
  const commandTimeout = options.commandTimeoutMs ?? 3000;
  return {
    // Sentinel: listen for +switch-master and reconnect to the new primary at once. Without it
    // a frozen primary is never left (ioredis #1314); it is off by default.
    failoverDetector: true,
    // On that switch the old connection is dropped, not drained for 2 s (the default: with it,
    // reads took 4.8 s to recover from a freeze, with failed requests).
    disconnectTimeout: 200,
    // Bounds every command, queueing included: the default is to wait forever.
    commandTimeout,
    // Commands queued while disconnected wait through this many reconnect attempts. With the
    // retry delays below that is about as long as the command timeout, which bounds them anyway.
    maxRetriesPerRequest: Math.max(2, Math.ceil(commandTimeout / 150)),
    // Reconnect soon and keep trying every 500 ms (the default backs off to 5 s).
    retryStrategy: (times: number) => Math.min(times * 50, 500),
    // A primary demoted to replica answers writes with READONLY: reconnect (Sentinel then
    // names the new primary) and resend the command.
    reconnectOnError: (error: Error) => (error.message.startsWith("READONLY") ? 2 : false),
    connectTimeout: 2000,
  };
}

/**
 * Options for a `Cluster`: the same timeouts for every node connection, and a slot map that is
 * refreshed on a timer besides on MOVED. A Cluster failover takes at least
 * `cluster-node-timeout` (15 s by default) plus an election.
 *
 * @example
 * const client = new Cluster(nodes, failoverSafeClusterOptions());
 */
export function failoverSafeClusterOptions(options: FailoverOptions = {}): ClusterOptions {
  // Node connections do not reconnect on their own in a Cluster (clusterRetryStrategy does),
  // so retryStrategy is left out; failoverDetector is a Sentinel option.
  const { commandTimeout, maxRetriesPerRequest, reconnectOnError, connectTimeout, disconnectTimeout } = failoverSafeOptions(options);
  return {
    redisOptions: { commandTimeout, maxRetriesPerRequest, reconnectOnError, connectTimeout, disconnectTimeout },
    // MOVED after a failover refreshes the slot map; a periodic refresh also catches changes
    // no command ran into.
    slotsRefreshInterval: 5000,
    clusterRetryStrategy: (times: number) => Math.min(times * 100, 1000),
  };
}
