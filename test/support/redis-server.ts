/**
 * Throwaway redis-server processes for the tests and the bench: each on a free loopback port,
 * in its own temporary directory, started from the machine's `redis-server` and stopped by its
 * own PID. Nothing else is ever touched: not the machine's Redis on 6379, not a server another
 * test file started. Sentinel and Cluster set-ups build on `startRedisProcess` (see
 * redis-sentinel.ts and redis-cluster.ts).
 *
 * `REDIS_URL` points the standalone tests at an existing server instead (`standaloneRedis`);
 * they then use a key prefix of their own and delete only keys under it.
 *
 * A missing redis-server fails the run, in CI and outside it, with how to install it: a store
 * that was never run against Redis is not tested.
 *
 * Test harness only; not part of the package.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { stopOnProcessEnd } from "./process-cleanup.ts";

export const LOOPBACK = "127.0.0.1";

export interface RedisProcess {
  host: string;
  port: number;
  pid: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** Its own temporary directory (config, dumps, cluster state). */
  dir: string;
  /** What the process printed so far, for failure messages. */
  log(): string;
  /** Sends a signal to this process (SIGKILL for a crash, SIGSTOP for a freeze) and returns at once. */
  signal(signal: NodeJS.Signals): void;
  /** Whether the process has not exited. */
  running(): boolean;
  /** SIGTERM to this PID (SIGKILL after 5 s), waits for the exit, removes the directory. Idempotent. */
  stop(): Promise<void>;
}

/** A standalone server for a test file: one this harness started, or REDIS_URL's (see `standaloneRedis`). */
export interface RedisForTests {
  /** Port of the server this harness started; the URL's port for REDIS_URL. */
  port: number;
  url: string;
  /** PID of the server this harness started; undefined for REDIS_URL. */
  pid: number | undefined;
  /** True when REDIS_URL named a server this harness did not start (and must not stop or flush). */
  external: boolean;
  /** A key prefix unique to this test file: use it, so cleaning up touches nothing else. */
  keyPrefix: string;
  /** Stops the server this harness started; for REDIS_URL, deletes only keys under `keyPrefix`. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  "redis-server was not found on PATH. Install it: apt-get install -y redis-server (Debian/Ubuntu), brew install redis (macOS). " +
  ".ci/run installs it when it is missing; REDIS_URL=redis://host:port runs the standalone tests on a server you have.";

/** Fails with how to install redis-server when it is missing; in CI and outside it alike. */
export function requireRedisServer(): void {
  if (spawnSync("redis-server", ["--version"]).error) {
    throw new Error(`cloakroom tests: ${INSTALL_HINT}${process.env.CI === "true" ? " (CI=true: a missing redis-server fails the run)" : ""}`);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port nobody listens on right now: the OS picks it, we release it for the server. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, LOOPBACK, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** A short-lived connection for the harness: never retries, never queues, RESP2. */
export function harnessClient(port: number, host = LOOPBACK): Redis {
  const client = new Redis({
    host, port, protocol: 2, lazyConnect: true, connectTimeout: 1000, commandTimeout: 2000,
    retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false,
  });
  client.on("error", () => {}); // the caller sees failures as rejected commands
  return client;
}

/** One command on a fresh connection. */
export async function command(port: number, args: readonly (string | number)[], host = LOOPBACK): Promise<unknown> {
  const client = harnessClient(port, host);
  try {
    await client.connect();
    return await client.call(String(args[0]), args.slice(1).map(String));
  } finally {
    client.disconnect();
  }
}

/** The process id of the Redis server (or sentinel) answering on `port`, if one answers. */
export async function serverPid(port: number): Promise<number | undefined> {
  try {
    const match = /^process_id:(\d+)/m.exec(String(await command(port, ["INFO", "server"])));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Polls `check` until it returns something truthy; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`cloakroom tests: timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
    await sleep(everyMs);
  }
}

/**
 * A test runner that dies between beforeAll and afterAll must not leave servers behind: on exit
 * and on SIGTERM/SIGINT/SIGHUP the server is killed by its PID and its directory removed
 * (process-cleanup.ts; after a SIGKILL of the runner nothing can run, see there).
 */
function stopWithProcess(child: ChildProcess, dir: string): () => void {
  return stopOnProcessEnd(() => {
    // SIGKILL: no waiting in an exit or signal handler; a SIGSTOPped server dies of it too.
    try {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGKILL");
    } catch {
      // It exited meanwhile.
    }
    rmSync(dir, { recursive: true, force: true });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

export interface StartOptions {
  /** Arguments after the config file (or after nothing): `--name value` pairs. */
  args?: (port: number, dir: string) => string[];
  /** Written into the directory as the config file and passed first; Sentinel needs one (it rewrites it). */
  configFile?: (port: number, dir: string) => string;
  /** Extra arguments after the config, for example ["--sentinel"]. */
  mode?: string[];
  /** A port chosen by the caller (cluster nodes pick theirs with the bus port). */
  port?: number;
}

/**
 * Starts one redis-server (or sentinel) on a free loopback port and waits until it answers,
 * as itself: the server on the port must report this child's process id, so a server another
 * process started on the port in the meantime is never taken for ours. Retries with a new port
 * when another process took the one found free.
 */
export async function startRedisProcess(options: StartOptions = {}): Promise<RedisProcess> {
  requireRedisServer();
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), "cloakroom-redis-"));
    const argv: string[] = [];
    if (options.configFile) {
      const file = join(dir, "redis.conf");
      writeFileSync(file, options.configFile(port, dir));
      argv.push(file);
    }
    argv.push(...(options.mode ?? []));
    argv.push(
      "--bind", LOOPBACK, "--port", String(port), "--dir", dir, "--daemonize", "no", "--logfile", "",
      "--save", "", "--appendonly", "no",
      // A new replica syncs at once, not after the 5 s default delay (toolchain notes).
      "--repl-diskless-sync-delay", "0",
      ...(options.args?.(port, dir) ?? []),
    );
    const child = spawn("redis-server", argv, { stdio: ["ignore", "pipe", "pipe"] });
    const forget = stopWithProcess(child, dir);
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    let stopping: Promise<void> | undefined;
    const server: RedisProcess = {
      host: LOOPBACK,
      port,
      pid: child.pid!,
      url: `redis://${LOOPBACK}:${port}`,
      dir,
      log: () => output,
      signal: (signal) => {
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
      },
      running: () => child.exitCode === null && child.signalCode === null,
      stop: () =>
        (stopping ??= (async () => {
          if (server.running()) {
            // A frozen (SIGSTOPped) server ignores SIGTERM until it is continued.
            process.kill(child.pid!, "SIGCONT");
            process.kill(child.pid!, "SIGTERM");
            const killer = setTimeout(() => server.signal("SIGKILL"), 5_000);
            await exited(child);
            clearTimeout(killer);
          }
          forget();
          rmSync(dir, { recursive: true, force: true });
        })()),
    };
    for (let waited = 0; waited < 5_000 && server.running(); waited += 25) {
      const owner = await serverPid(port);
      if (owner === child.pid) return server;
      if (owner !== undefined) break; // someone else's server has the port: ours cannot bind it
      await sleep(25);
    }
    await server.stop();
    if (attempt === 3 || options.port !== undefined) {
      throw new Error(`cloakroom tests: redis-server did not start on ${LOOPBACK}:${port}:\n${output}`);
    }
  }
}

/** What `startStandaloneRedis` gives: a superset of the first Upstash harness's `StandaloneRedis`. */
export type StandaloneRedis = RedisProcess;

/** A standalone server on a free loopback port, always one this harness starts (never REDIS_URL's). */
export async function startStandaloneRedis(options: StartOptions = {}): Promise<StandaloneRedis> {
  return startRedisProcess(options);
}

/** A key prefix no other test (or app) on the same server uses. */
export function uniqueKeyPrefix(label: string): string {
  return `cloakroom-test:${label}:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}:`;
}

/** SCAN's MATCH pattern for keys that start with `prefix`, glob characters escaped. */
export function prefixPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
}

/** Deletes the keys under `prefix` on one server: for cleaning up after REDIS_URL tests. */
export async function deleteKeysUnder(client: Redis, prefix: string): Promise<number> {
  let cursor = "0";
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", prefixPattern(prefix), "COUNT", 500);
    cursor = next;
    if (keys.length > 0) deleted += await client.unlink(...keys);
  } while (cursor !== "0");
  return deleted;
}

/**
 * The standalone server a test file should use: REDIS_URL's when set (tests then keep to
 * `keyPrefix`), else one this harness starts.
 */
export async function standaloneRedis(label: string): Promise<RedisForTests> {
  const keyPrefix = uniqueKeyPrefix(label);
  const external = process.env.REDIS_URL;
  if (external) {
    const url = new URL(external);
    return {
      port: Number(url.port || 6379),
      url: external,
      pid: undefined,
      external: true,
      keyPrefix,
      stop: async () => {
        const client = new Redis(external, { lazyConnect: true, maxRetriesPerRequest: 1 });
        client.on("error", () => {});
        try {
          await deleteKeysUnder(client, keyPrefix);
        } finally {
          client.disconnect();
        }
      },
    };
  }
  const server = await startRedisProcess();
  return { port: server.port, url: server.url, pid: server.pid, external: false, keyPrefix, stop: server.stop };
}
