/**
 * The failover drill's scenarios, shared by `npm run drill` (bench/drill.ts, long, prints
 * figures) and the short CI versions (test/resilience/*.test.ts, assert the zeros).
 *
 * Every scenario runs the demo app (examples/hono-node/app.ts) on stores built by
 * `storeFromEnv` from cloakroom/env, as a deployment would, and drives it through
 * `app.request()`: visitors read (GET /me) and write (POST /count) their sessions, each visitor
 * on one worker so its requests never overlap and every answer can be judged:
 * - a read or write answering 5xx failed; 401 for a live session is a logout;
 * - a count lower than the highest one already acknowledged for that visitor is a stale read
 *   (a write acknowledged and then not seen);
 * - after the fault, a new app instance (new clients) reads every visitor: a session missing, or
 *   below its acknowledged count, is lost;
 * - sessions signed out (POST /logout) or revoked (POST /logout-all) during the fault, once
 *   acknowledged, must read as signed out on every instance afterwards; one that reads as signed
 *   in is a stale read too.
 *
 * Faults: `failover` SIGKILLs or SIGSTOPs the Sentinel primary (primary + replica + three
 * sentinels, down-after-milliseconds 1000) under Redis alone or Redis in front of Postgres;
 * `clusterFailover` does the same to one master of a Redis Cluster (three masters, one replica
 * each) under Redis alone;
 * `cacheOutage` stops a standalone Redis cache in front of Postgres (SIGSTOP then SIGCONT, or
 * SIGKILL then a restart from the data it had saved before the outage) and brings it back.
 *
 * Test and bench harness only; not part of the package.
 */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
// Package names, not source paths: the demo app imports "cloakroom", so the drill must use the
// same copy (vitest maps these to the sources; `npm run drill` runs on the build in dist/).
import { createSessions, generateKey, type TieredStore } from "cloakroom";
import { storeFromEnv, type EnvStore } from "cloakroom/env";
import { createDemoApp, type DemoData } from "../../examples/hono-node/app.ts";
import type { PostgresServer } from "./postgres-server.ts";
import { command, LOOPBACK, sleep, startRedisProcess, uniqueKeyPrefix, waitFor, type RedisProcess } from "./redis-server.ts";
import { startRedisCluster } from "./redis-cluster.ts";
import { startSentinelGroup } from "./redis-sentinel.ts";
import { figuresOf, type Figures } from "../../cli/drill/figures.ts";
import { runVisitors, type Visitor, type VisitorCall } from "../../cli/drill/visitors.ts";

export type { Figures, Op } from "../../cli/drill/figures.ts";

export type Mode = "redis" | "tiered";

interface Instance {
  label: string;
  app: ReturnType<typeof createDemoApp>;
  opened: EnvStore;
  /** Lines storeFromEnv logged (outages), kept for failure messages. */
  logged: string[];
}


const KEYS = generateKey("drill");

async function instance(env: Record<string, string>, label: string): Promise<Instance> {
  const logged: string[] = [];
  const opened = await storeFromEnv(env, { log: (line) => logged.push(line) });
  const sessions = createSessions<DemoData>({ store: opened.store, keys: KEYS });
  // Generous sign-in limits: the drill signs many visitors in from one "address".
  const app = createDemoApp(sessions, { loginLimits: { perClient: 100_000, perUser: 100_000, window: 60 } });
  return { label, app, opened, logged };
}

async function call(target: Instance, method: string, path: string, cookie?: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (cookie) headers.cookie = cookie;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await target.app.request(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    // a non-JSON answer is judged by its status
  }
  return { status: response.status, body: parsed };
}

async function signIn(target: Instance, user: string): Promise<Visitor> {
  const response = await target.app.request("/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user }),
  });
  if (response.status !== 200) throw new Error(`drill: sign-in of ${user} answered ${response.status}: ${await response.text()}`);
  const cookie = response.headers.getSetCookie()[0]!.split(";")[0]!;
  const visitor: Visitor = { user, cookie, acked: 0 };
  const counted = await call(target, "POST", "/count", cookie);
  if (counted.status !== 200) throw new Error(`drill: first count of ${user} answered ${counted.status}`);
  visitor.acked = Number(counted.body.count);
  return visitor;
}

/** Visitors read and write until stopped, each request to an instance picked at random. */
function startLoad(instances: Instance[], visitors: Visitor[], workers: number) {
  const pick = () => instances[Math.floor(Math.random() * instances.length)]!;
  const over = (method: string, path: string): VisitorCall => async (visitor) => {
    const answer = await call(pick(), method, path, visitor.cookie);
    return { status: answer.status, count: Number(answer.body.count) };
  };
  return runVisitors(visitors, workers, { read: over("GET", "/me"), write: over("POST", "/count") });
}

interface SignOut {
  visitor: Visitor;
  how: "logout" | "logout-all";
  acknowledged: boolean;
}

/** Signs victims out (one device, or every device of the user) while the fault lasts. */
async function signOutDuringFault(instances: Instance[], victims: Visitor[]): Promise<SignOut[]> {
  const results: SignOut[] = [];
  for (const [i, visitor] of victims.entries()) {
    const how = i % 2 === 0 ? "logout" : "logout-all";
    const response = await call(instances[i % instances.length]!, "POST", how === "logout" ? "/logout" : "/logout-all", visitor.cookie);
    results.push({ visitor, how, acknowledged: response.status < 300 });
  }
  return results;
}

/** A schema of its own for one scenario, so scenarios never share a table. */
async function freshDatabase(server: PostgresServer): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `cloakroom_drill_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(server.url);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

function breakerClosedEverywhere(instances: Instance[]): boolean {
  return instances.every((i) => (i.opened.store as TieredStore).cache.breakerState === "closed");
}

/** After the fault: every visitor read by a new instance, every sign-out checked on every instance. */
async function verify(instances: Instance[], fresh: Instance, visitors: Visitor[], signOuts: SignOut[]) {
  let sessionsLost = 0;
  for (const visitor of visitors) {
    const read = await call(fresh, "GET", "/me", visitor.cookie);
    if (read.status !== 200 || Number(read.body.count) < visitor.acked) sessionsLost++;
  }
  let staleSignOuts = 0;
  for (const { visitor, acknowledged } of signOuts) {
    if (!acknowledged) continue;
    for (const target of [...instances, fresh]) {
      if ((await call(target, "GET", "/me", visitor.cookie)).status === 200) staleSignOuts++;
    }
  }
  return { sessionsLost, staleSignOuts, signOutsAcknowledged: signOuts.filter((s) => s.acknowledged).length };
}

export interface FailoverOptions {
  fault: "SIGKILL" | "SIGSTOP";
  mode: Mode;
  /** A PostgreSQL for the tiered mode. */
  postgres?: PostgresServer;
  visitors?: number;
  workers?: number;
  /** Load before the fault, in ms. @default 1000 */
  warmMs?: number;
  /** Load after the sentinels named the new primary, in ms. @default 2000 */
  afterMs?: number;
}

/**
 * The Sentinel primary gets `fault` under load. Figures count requests started from the fault
 * until the end of the load (`afterMs` after the new primary was named).
 */
export async function failover(options: FailoverOptions): Promise<Figures & { logged: string[] }> {
  const { fault, mode } = options;
  const visitorCount = options.visitors ?? 60;
  const group = await startSentinelGroup({ downAfterMs: 1000, failoverTimeoutMs: 5000 });
  const database = mode === "tiered" ? await freshDatabase(options.postgres!) : undefined;
  const instances: Instance[] = [];
  try {
    const env: Record<string, string> = {
      REDIS_SENTINELS: group.sentinelAddresses.map((a) => `${a.host}:${a.port}`).join(","),
      REDIS_SENTINEL_NAME: group.name,
      REDIS_KEY_PREFIX: uniqueKeyPrefix("drill"),
      ...(database ? { DATABASE_URL: database.url } : {}),
    };
    instances.push(await instance(env, "a"), await instance(env, "b"));
    const visitors: Visitor[] = [];
    for (let i = 0; i < visitorCount; i++) visitors.push(await signIn(instances[i % 2]!, `visitor${i}`));
    const victims: Visitor[] = [];
    for (let i = 0; i < 6; i++) victims.push(await signIn(instances[i % 2]!, `victim${i}`));

    const load = startLoad(instances, visitors, options.workers ?? 6);
    await sleep(options.warmMs ?? 1000);
    const primary = await group.primaryAddress();
    const faultAt = performance.now();
    group.serverAt(primary).signal(fault);
    const [, signOuts] = await Promise.all([group.waitForNewPrimary(primary, 30_000), sleep(300).then(() => signOutDuringFault(instances, victims))]);
    const recoveredAt = performance.now();
    let cacheBackAt = Number.NaN;
    if (mode === "tiered") {
      await waitFor("the cache back in use on every instance", async () => breakerClosedEverywhere(instances), 20_000, 20).catch(() => undefined);
      if (breakerClosedEverywhere(instances)) cacheBackAt = performance.now();
    }
    await sleep(options.afterMs ?? 2000);
    await load.stop();
    const until = performance.now();

    const fresh = await instance(env, "fresh");
    instances.push(fresh);
    const checked = await verify(instances.slice(0, 2), fresh, visitors, signOuts);
    const figures = figuresOf(load.ops, faultAt, recoveredAt, until, { ...checked, cacheBackS: (cacheBackAt - recoveredAt) / 1000 });
    return { ...figures, logged: instances.flatMap((i) => i.logged) };
  } finally {
    for (const i of instances) await i.opened.close().catch(() => {});
    await group.stop();
    await database?.drop().catch(() => {});
  }
}

export interface ClusterFailoverOptions {
  fault: "SIGKILL" | "SIGSTOP";
  /** cluster-node-timeout. */
  nodeTimeoutMs: number;
  visitors?: number;
  workers?: number;
  /** Load after a replica took over the master's slots, in ms. @default 2000 */
  afterMs?: number;
}

/**
 * One master of a Redis Cluster gets `fault` under load (Redis alone: a Cluster behind a tiered
 * store fares as Sentinel does). A third of the sessions live on that master, so the figure
 * that matters is when the last request failed, not the first write.
 */
export async function clusterFailover(options: ClusterFailoverOptions): Promise<Figures & { logged: string[] }> {
  const cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: options.nodeTimeoutMs });
  const instances: Instance[] = [];
  try {
    // Every node, as a deployment lists them: an instance started after the fault must still find the cluster.
    const env = { REDIS_CLUSTER_NODES: cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(","), REDIS_KEY_PREFIX: uniqueKeyPrefix("drill") };
    instances.push(await instance(env, "a"), await instance(env, "b"));
    const visitors: Visitor[] = [];
    for (let i = 0; i < (options.visitors ?? 60); i++) visitors.push(await signIn(instances[i % 2]!, `visitor${i}`));
    const victims: Visitor[] = [];
    for (let i = 0; i < 6; i++) victims.push(await signIn(instances[i % 2]!, `victim${i}`));

    const load = startLoad(instances, visitors, options.workers ?? 6);
    await sleep(1000);
    const masters: RedisProcess[] = [];
    for (const node of cluster.nodes) if (/role:master/.test(String(await command(node.port, ["INFO", "replication"])))) masters.push(node);
    const victim = masters[0]!;
    const witness = masters[1]!;
    const replicaPorts = cluster.nodes.filter((node) => !masters.includes(node)).map((node) => node.port);
    const faultAt = performance.now();
    victim.signal(options.fault);
    const [, signOuts] = await Promise.all([
      // Taken over: one of the replicas is a master that serves slots (CLUSTER NODES fields:
      // id, address, flags, master, ping, pong, epoch, link, slots...).
      waitFor("a replica to take over the master's slots", async () => {
        const lines = String(await command(witness.port, ["CLUSTER", "NODES"])).split("\n");
        return lines.some((line) => {
          const fields = line.trim().split(" ");
          return replicaPorts.some((port) => fields[1]?.startsWith(`${LOOPBACK}:${port}@`)) && /\bmaster\b/.test(fields[2] ?? "") && fields.length > 8;
        });
      }, 60_000, 20),
      sleep(300).then(() => signOutDuringFault(instances, victims)),
    ]);
    const recoveredAt = performance.now();
    await sleep(options.afterMs ?? 2000);
    await load.stop();
    const until = performance.now();

    const fresh = await instance(env, "fresh");
    instances.push(fresh);
    const checked = await verify(instances.slice(0, 2), fresh, visitors, signOuts);
    const figures = figuresOf(load.ops, faultAt, recoveredAt, until, { ...checked, cacheBackS: Number.NaN });
    return { ...figures, logged: instances.flatMap((i) => i.logged) };
  } finally {
    for (const i of instances) await i.opened.close().catch(() => {});
    await cluster.stop();
  }
}

export interface OutageOptions {
  /** "stop": SIGSTOP, then SIGCONT. "restart": SAVE, SIGKILL, then a new redis-server on the same port from that save. */
  kind: "stop" | "restart";
  postgres: PostgresServer;
  /** How long Redis is out, in ms. */
  outageMs: number;
  visitors?: number;
  workers?: number;
  /** Load after Redis is back, in ms. @default 2000 */
  afterMs?: number;
}

/**
 * Redis in front of Postgres (two app instances) loses its Redis for `outageMs` and gets it
 * back. Figures count requests from the fault until the end of the load.
 */
export async function cacheOutage(options: OutageOptions): Promise<Figures & { logged: string[] }> {
  let redis: RedisProcess = await startRedisProcess();
  const database = await freshDatabase(options.postgres);
  const saved = mkdtempSync(join(tmpdir(), "cloakroom-drill-rdb-"));
  const instances: Instance[] = [];
  const replaced: RedisProcess[] = [];
  try {
    const env = { REDIS_URL: redis.url, DATABASE_URL: database.url, REDIS_KEY_PREFIX: uniqueKeyPrefix("outage") };
    instances.push(await instance(env, "a"), await instance(env, "b"));
    const visitors: Visitor[] = [];
    for (let i = 0; i < (options.visitors ?? 60); i++) visitors.push(await signIn(instances[i % 2]!, `visitor${i}`));
    const victims: Visitor[] = [];
    for (let i = 0; i < 6; i++) victims.push(await signIn(instances[i % 2]!, `victim${i}`));
    // Victims are in the cache before the outage: the copies a restarted Redis would bring back.
    for (const victim of victims) for (const target of instances) await call(target, "GET", "/me", victim.cookie);

    const load = startLoad(instances, visitors, options.workers ?? 6);
    await sleep(1000);
    if (options.kind === "restart") {
      // What the cache holds now is what it comes back with.
      await command(redis.port, ["SAVE"]);
      cpSync(join(redis.dir, "dump.rdb"), join(saved, "dump.rdb"));
    }
    const faultAt = performance.now();
    redis.signal(options.kind === "stop" ? "SIGSTOP" : "SIGKILL");
    const [, signOuts] = await Promise.all([sleep(options.outageMs), sleep(Math.min(1000, options.outageMs / 3)).then(() => signOutDuringFault(instances, victims))]);
    if (options.kind === "stop") {
      redis.signal("SIGCONT");
    } else {
      const port = redis.port;
      replaced.push(redis);
      redis = await startRedisProcess({ port, args: () => ["--dir", saved] });
    }
    const recoveredAt = performance.now();
    let cacheBackAt = Number.NaN;
    await waitFor("the cache back in use on every instance", async () => breakerClosedEverywhere(instances), 20_000, 20).catch(() => undefined);
    if (breakerClosedEverywhere(instances)) cacheBackAt = performance.now();
    await sleep(options.afterMs ?? 2000);
    await load.stop();
    const until = performance.now();

    const fresh = await instance(env, "fresh");
    instances.push(fresh);
    const checked = await verify(instances.slice(0, 2), fresh, visitors, signOuts);
    const figures = figuresOf(load.ops, faultAt, recoveredAt, until, { ...checked, cacheBackS: (cacheBackAt - recoveredAt) / 1000 });
    return { ...figures, logged: instances.flatMap((i) => i.logged) };
  } finally {
    for (const i of instances) await i.opened.close().catch(() => {});
    for (const r of replaced) await r.stop();
    await redis.stop();
    await database.drop().catch(() => {});
    rmSync(saved, { recursive: true, force: true });
  }
}
