/**
 * A throwaway Sentinel deployment: one primary, one replica and three sentinels (quorum 2),
 * every process started here on a free loopback port and stopped by its PID.
 *
 * Ready means what a failover needs: the replica's link is up, every sentinel sees the replica
 * and the two other sentinels (SENTINEL CKQUORUM says 3 usable). Sentinel rewrites its config
 * file, so each gets a writable one in its own directory (toolchain notes).
 *
 * Test harness only; not part of the package.
 */
import { command, LOOPBACK, startRedisProcess, waitFor, type RedisProcess } from "./redis-server.ts";

export interface Address {
  host: string;
  port: number;
}

export interface SentinelGroup {
  /** The master name sentinels know the primary by. */
  name: string;
  /** The first primary and replica, in start order (after a failover their roles swap). */
  servers: RedisProcess[];
  sentinels: RedisProcess[];
  /** For ioredis's `sentinels` option. */
  sentinelAddresses: Address[];
  /** Where the sentinels say the primary is now. */
  primaryAddress(): Promise<Address>;
  /** The started server at `address`. */
  serverAt(address: Address): RedisProcess;
  /** Resolves once the sentinels name a primary other than `previous` and it answers as a master. */
  waitForNewPrimary(previous: Address, timeoutMs?: number): Promise<Address>;
  /** Stops every process started here, sentinels first so none fails over while the rest stop. */
  stop(): Promise<void>;
}

export interface SentinelOptions {
  /** @default "cloakroom" */
  name?: string;
  /** Sentinel's down-after-milliseconds. @default 1000 */
  downAfterMs?: number;
  /** Sentinel's failover-timeout. @default 5000 */
  failoverTimeoutMs?: number;
}

function parseAddress(reply: unknown): Address | undefined {
  if (!Array.isArray(reply) || reply.length !== 2) return undefined;
  return { host: String(reply[0]), port: Number(reply[1]) };
}

/** `field value field value` arrays of SENTINEL REPLICAS, as objects. */
function records(reply: unknown): Record<string, string>[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((flat: unknown[]) => {
    const record: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) record[String(flat[i])] = String(flat[i + 1]);
    return record;
  });
}

export async function startSentinelGroup(options: SentinelOptions = {}): Promise<SentinelGroup> {
  const name = options.name ?? "cloakroom";
  const downAfterMs = options.downAfterMs ?? 1000;
  const failoverTimeoutMs = options.failoverTimeoutMs ?? 5000;
  const everything: RedisProcess[] = [];
  const stop = async () => {
    // Sentinels first: a sentinel that sees the primary go down would start a failover.
    const sentinels = everything.filter((p) => sentinelSet.has(p));
    await Promise.all(sentinels.map((p) => p.stop()));
    await Promise.all(everything.map((p) => p.stop()));
  };
  const sentinelSet = new Set<RedisProcess>();
  try {
    const primary = await startRedisProcess();
    everything.push(primary);
    const replica = await startRedisProcess({ args: () => ["--replicaof", LOOPBACK, String(primary.port)] });
    everything.push(replica);
    await waitFor("the replica's link to the primary", async () =>
      /master_link_status:up/.test(String(await command(replica.port, ["INFO", "replication"])))
    );

    const sentinels: RedisProcess[] = [];
    for (let i = 0; i < 3; i++) {
      const sentinel = await startRedisProcess({
        mode: ["--sentinel"],
        configFile: (port, dir) =>
          [
            `port ${port}`,
            `dir ${dir}`,
            `sentinel monitor ${name} ${LOOPBACK} ${primary.port} 2`,
            `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
            `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
            `sentinel parallel-syncs ${name} 1`,
            "",
          ].join("\n"),
      });
      sentinels.push(sentinel);
      sentinelSet.add(sentinel);
      everything.push(sentinel);
    }
    for (const sentinel of sentinels) {
      await waitFor(`sentinel ${sentinel.port} to see the replica and the other sentinels`, async () => {
        const replicas = records(await command(sentinel.port, ["SENTINEL", "REPLICAS", name]));
        const quorum = String(await command(sentinel.port, ["SENTINEL", "CKQUORUM", name]));
        return replicas.some((r) => r.flags === "slave" && r["master-link-status"] === "ok") && /^OK 3 usable/.test(quorum);
      });
    }

    const servers = [primary, replica];
    const group: SentinelGroup = {
      name,
      servers,
      sentinels,
      sentinelAddresses: sentinels.map((s) => ({ host: LOOPBACK, port: s.port })),
      async primaryAddress() {
        for (const sentinel of sentinels) {
          if (!sentinel.running()) continue;
          try {
            const address = parseAddress(await command(sentinel.port, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name]));
            if (address) return address;
          } catch {
            // the next sentinel
          }
        }
        throw new Error("cloakroom tests: no sentinel answered GET-MASTER-ADDR-BY-NAME");
      },
      serverAt(address) {
        const server = servers.find((s) => s.port === address.port);
        if (!server) throw new Error(`cloakroom tests: no server of this group listens on ${address.port}`);
        return server;
      },
      waitForNewPrimary(previous, timeoutMs = 30_000) {
        return waitFor("the sentinels to promote a new primary", async () => {
          const address = await group.primaryAddress();
          if (address.port === previous.port) return undefined;
          return /role:master/.test(String(await command(address.port, ["INFO", "replication"]))) ? address : undefined;
        }, timeoutMs, 20);
      },
      stop,
    };
    return group;
  } catch (error) {
    await stop();
    throw error;
  }
}
