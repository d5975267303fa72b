/**
 * A throwaway Redis Cluster of three masters (no replicas by default; the drill asks for one
 * replica each, to fail over), made with `redis-cli --cluster create ... --cluster-yes`. Each node gets a free loopback port and a free
 * bus port of its own (`cluster-port`), so nothing depends on port+10000 being free; each is
 * stopped by its PID. `addClusterMaster` adds an empty master to it, as a new shard.
 *
 * Test harness only; not part of the package.
 */
import { spawn } from "node:child_process";
import { command, freePort, LOOPBACK, startRedisProcess, waitFor, type RedisProcess } from "./redis-server.ts";

export interface RedisCluster {
  nodes: RedisProcess[];
  /** For ioredis's `new Cluster(startupNodes)`. */
  startupNodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

/** Runs a program (redis-cli) to its end: its exit code and everything it printed. */
export function run(file: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, output }));
  });
}

export interface ClusterOptions {
  /** @default 3 */
  masters?: number;
  /** Replicas per master. @default 0 */
  replicas?: number;
  /** cluster-node-timeout: how long a master may not answer before its replica takes over. @default 5000 */
  nodeTimeoutMs?: number;
}

/** A cluster-enabled node on a free port with a bus port of its own, not yet part of any cluster. */
async function startClusterNode(nodeTimeoutMs: number): Promise<RedisProcess> {
  const bus = await freePort();
  return startRedisProcess({
    args: () => [
      "--cluster-enabled", "yes",
      "--cluster-config-file", "nodes.conf",
      "--cluster-port", String(bus),
      "--cluster-node-timeout", String(nodeTimeoutMs),
      // One node down must not stop the others answering for their own slots in tests.
      "--cluster-require-full-coverage", "no",
    ],
  });
}

/**
 * Adds an empty master to a running cluster (`redis-cli --cluster add-node`), as an operator
 * adds a shard; it owns no slot until a reshard or rebalance moves some to it. Stopped with the
 * cluster.
 */
export async function addClusterMaster(cluster: RedisCluster, nodeTimeoutMs = 5000): Promise<RedisProcess> {
  const node = await startClusterNode(nodeTimeoutMs);
  cluster.nodes.push(node);
  const added = await run("redis-cli", ["--cluster", "add-node", `${LOOPBACK}:${node.port}`, `${LOOPBACK}:${cluster.nodes[0]!.port}`]);
  if (added.code !== 0) throw new Error(`cloakroom tests: redis-cli --cluster add-node failed:\n${added.output}`);
  const count = cluster.nodes.length;
  // Known to every node, and the cluster ok on every node: a new node that has not yet seen the
  // slot map answers a MIGRATE into it with CLUSTERDOWN, and a reshard would stop half-way.
  for (const each of cluster.nodes) {
    await waitFor(`cluster node ${each.port} to know ${count} nodes, cluster ok`, async () => {
      const info = String(await command(each.port, ["CLUSTER", "INFO"]));
      return new RegExp(`cluster_known_nodes:${count}\\b`).test(info) && /cluster_state:ok/.test(info);
    });
  }
  return node;
}

export async function startRedisCluster(options: ClusterOptions = {}): Promise<RedisCluster> {
  const replicas = options.replicas ?? 0;
  const count = (options.masters ?? 3) * (1 + replicas);
  const nodes: RedisProcess[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    for (let i = 0; i < count; i++) nodes.push(await startClusterNode(options.nodeTimeoutMs ?? 5000));
    const created = await run("redis-cli", [
      "--cluster", "create", ...nodes.map((node) => `${LOOPBACK}:${node.port}`), "--cluster-replicas", String(replicas), "--cluster-yes",
    ]);
    if (created.code !== 0) throw new Error(`cloakroom tests: redis-cli --cluster create failed:\n${created.output}`);
    for (const node of nodes) {
      await waitFor(`cluster node ${node.port} to see the cluster ok`, async () => {
        const info = String(await command(node.port, ["CLUSTER", "INFO"]));
        return /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${count}\\b`).test(info) && /cluster_slots_ok:16384/.test(info);
      });
      // A replica that is not in sync yet could not take over.
      if (replicas > 0) {
        await waitFor(`cluster node ${node.port} in sync`, async () => {
          const replication = String(await command(node.port, ["INFO", "replication"]));
          return /role:master/.test(replication) ? /connected_slaves:[1-9]/.test(replication) : /master_link_status:up/.test(replication);
        });
      }
    }
    return { nodes, startupNodes: nodes.map((node) => ({ host: LOOPBACK, port: node.port })), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
