/**
 * What the bench's redis-server saw: the commands clients sent (MONITOR) and the CPU it used
 * (INFO cpu).
 *
 * Round trips are counted with MONITOR, not INFO commandstats: commandstats also counts every
 * command a Lua script runs inside the server (an EVALSHA that calls HGETALL and PEXPIREAT shows
 * as three), while MONITOR marks those as coming from "lua". Only commands a client sent are
 * counted, and here each is a round trip of its own (no client pipelines or batches).
 *
 * @module
 */
import type { Redis } from "ioredis";

export interface CommandCount {
  total: number;
  /** By command name, lower case. */
  byName: Record<string, number>;
  /** Commands scripts ran inside the server (not round trips). */
  inScripts: number;
}

/**
 * Counts the commands clients send while `during` runs. Nothing else may talk to this server
 * meanwhile (the other lines' servers are idle then).
 */
export async function countCommands(admin: Redis, during: () => Promise<void>): Promise<CommandCount> {
  const monitor = await admin.monitor();
  const marker = `bench-compare-end-${Math.random().toString(36).slice(2)}`;
  const count: CommandCount = { total: 0, byName: {}, inScripts: 0 };
  let seen: () => void = () => {};
  const ended = new Promise<void>((resolve) => (seen = resolve));
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    const name = String(args[0]).toLowerCase();
    if (name === "echo" && args[1] === marker) return seen();
    if (source === "lua" || source.startsWith("lua")) {
      count.inScripts++;
      return;
    }
    count.total++;
    count.byName[name] = (count.byName[name] ?? 0) + 1;
  });
  try {
    await during();
    // MONITOR's feed lags behind: wait until it has shown a command sent after the last one.
    await admin.echo(marker);
    await Promise.race([ended, new Promise((_, reject) => setTimeout(() => reject(new Error("bench:compare: MONITOR never showed the end marker")), 5_000))]);
  } finally {
    monitor.disconnect();
  }
  return count;
}

/** Seconds of CPU (user + system) the redis-server has used since it started. */
export async function redisCpuSeconds(admin: Redis): Promise<number> {
  const info = await admin.info("cpu");
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, "m").exec(info)?.[1] ?? NaN);
  return field("used_cpu_user") + field("used_cpu_sys");
}

export async function redisVersion(admin: Redis): Promise<string> {
  return /redis_version:(\S+)/.exec(await admin.info("server"))?.[1] ?? "unknown";
}
