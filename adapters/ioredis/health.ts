/**
 * What the ioredis store's health probe reports beyond PING, per deployment:
 * - standalone and Sentinel: the node's role and how many replicas are online (INFO
 *   replication). Behind Sentinel, a primary without an online replica has nothing to fail
 *   over to, and a restarted node can come back without its replica (reliability notes §4).
 * - Sentinel, given a client of one sentinel: SENTINEL CKQUORUM, whether enough sentinels are
 *   reachable to agree on a failover.
 * - Cluster: CLUSTER INFO's state, slots covered and known masters.
 * - every deployment: the eviction policy (INFO memory) and the keys evicted so far (INFO
 *   stats). Every key the store writes has a TTL, so any policy but `noeviction` may evict a
 *   user index or a revocation mark while the sessions stay: revokeUser then misses them.
 *
 * @module
 */
import type { Cluster, Redis } from "ioredis";

export interface ReplicationFacts {
  role: string;
  /** Replicas whose INFO line says state=online. */
  replicasOnline: number;
}

export interface QuorumFacts {
  ok: boolean;
  /** The sentinel's own words, for example "OK 3 usable Sentinels. Quorum and failover authorization can be reached". */
  message: string;
}

export interface ClusterFacts {
  state: string;
  slotsOk: number;
  knownNodes: number;
  masters: number;
}

export interface EvictionFacts {
  /** INFO memory's `maxmemory_policy` ("unknown" when the server does not say); on a Cluster, the masters' policies joined by "," when they differ. */
  maxmemoryPolicy: string;
  /** INFO stats's `evicted_keys`: keys evicted since the server started (summed over a Cluster's masters). */
  evictedKeys: number;
  /**
   * Whether the server never evicts a key: `noeviction` on every node. volatile-* policies
   * evict keys with a TTL, which is every key of the store; allkeys-* evict any key. Either way
   * a user index or revocation mark can go while the sessions stay, and a full server then
   * loses sessions silently, where noeviction refuses the write with an error the store reports.
   */
  evictionSafe: boolean;
}

/** `key:value` lines of an INFO or CLUSTER INFO reply. */
function fields(text: unknown): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of String(text).split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) map.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return map;
}

export async function replicationOf(client: Pick<Redis, "info">): Promise<ReplicationFacts> {
  const info = fields(await client.info("replication"));
  let replicasOnline = 0;
  for (const [name, value] of info) if (/^slave\d+$/.test(name) && /(?:^|,)state=online(?:,|$)/.test(value)) replicasOnline++;
  return { role: info.get("role") ?? "unknown", replicasOnline };
}

export async function quorumOf(sentinel: Pick<Redis, "call">, masterName: string): Promise<QuorumFacts> {
  try {
    return { ok: true, message: String(await sentinel.call("SENTINEL", ["CKQUORUM", masterName])) };
  } catch (error) {
    // NOQUORUM and an unreachable sentinel both mean: a failover could not be agreed on now.
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

export async function clusterOf(cluster: Pick<Cluster, "cluster" | "nodes">): Promise<ClusterFacts> {
  const info = fields(await cluster.cluster("INFO"));
  return {
    state: info.get("cluster_state") ?? "unknown",
    slotsOk: Number(info.get("cluster_slots_ok") ?? 0),
    knownNodes: Number(info.get("cluster_known_nodes") ?? 0),
    masters: cluster.nodes("master").length,
  };
}

/** The eviction policy and evictions of the nodes sessions are written to (one, or a Cluster's masters). */
export async function evictionOf(nodes: readonly Pick<Redis, "info">[]): Promise<EvictionFacts> {
  const facts = await Promise.all(
    nodes.map(async (node) => {
      const [memory, stats] = await Promise.all([node.info("memory"), node.info("stats")]);
      return { policy: fields(memory).get("maxmemory_policy") ?? "unknown", evicted: Number(fields(stats).get("evicted_keys") ?? 0) };
    }),
  );
  const policies = [...new Set(facts.map((fact) => fact.policy))];
  return {
    maxmemoryPolicy: policies.length > 0 ? policies.join(",") : "unknown",
    evictedKeys: facts.reduce((sum, fact) => sum + (Number.isFinite(fact.evicted) ? fact.evicted : 0), 0),
    evictionSafe: policies.length > 0 && policies.every((policy) => policy === "noeviction"),
  };
}
