/**
 * `npm run drill`: the failover drill (issue 5). Prints figures and plain verdicts; never fails
 * on a figure. About 6 minutes (DRILL_PARTS=1,3 skips the Cluster part: 3). Every server is started here on free loopback ports and stopped
 * by its PID (the test harness, test/support/).
 *
 * 1. Sentinel failover: primary + replica + three sentinels (down-after-milliseconds 1000,
 *    failover-timeout 5000) and a PostgreSQL. Two app instances (the demo app on stores from
 *    storeFromEnv) serve visitors who read and write their sessions; the primary is SIGKILLed
 *    (a crash) and, on a fresh set-up, SIGSTOPped (a freeze). Each fault runs twice: Redis
 *    alone (REDIS_SENTINELS) and Redis in front of Postgres (REDIS_SENTINELS + DATABASE_URL).
 * 2. For comparison, Redis Cluster (three masters, one replica each) with cluster-node-timeout
 *    15000 (the default), 5000 and 2000: one master SIGKILLed and SIGSTOPped, Redis alone.
 * 3. Cache outage: a standalone Redis in front of Postgres is out for 30 s, then back: frozen
 *    (SIGSTOP, SIGCONT), and killed and restarted from the data it had saved before the outage.
 *    Sessions change, and some are signed out or revoked everywhere, while it is out.
 *
 * How requests are judged: test/support/drill.ts. Goals (issue 5): a successful write within
 * 5 s of a failover; 0 % failed reads with the tiered store and < 1 % with Redis alone; no
 * session lost; no logout, no 5xx and no stale read through the outage.
 *
 * Runs on the build in dist/ (the demo app imports "cloakroom"): `npm run drill` builds first.
 *
 * @module
 */
import { cpus } from "node:os";
import { FIGURES_HEADER, figuresRow } from "../cli/drill/figures.ts";
import { cacheOutage, clusterFailover, failover } from "../test/support/drill.ts";
import { startPostgres, type PostgresServer } from "../test/support/postgres-server.ts";
import { command, startRedisProcess } from "../test/support/redis-server.ts";

const OUTAGE_MS = Number(process.env.DRILL_OUTAGE_MS) > 0 ? Number(process.env.DRILL_OUTAGE_MS) : 30_000;
const VISITORS = 200;
const WORKERS = 8;
/** Which parts run: DRILL_PARTS=1,3 skips the Cluster comparison. */
const PARTS = new Set((process.env.DRILL_PARTS ?? "1,2,3").split(",").map((part) => part.trim()));
const CLUSTER_TIMEOUTS = [15_000, 5_000, 2_000];

const log = (line = "") => console.log(line);
const progress = (text: string) => process.stderr.write(text);
const seconds = (s: number) => (Number.isFinite(s) ? `${s.toFixed(2)} s` : "never");
const pct = (p: number) => `${p.toFixed(p > 0 && p < 0.1 ? 3 : 2)} %`;
const verdict = (met: boolean) => (met ? "met" : "MISSED");

interface Goal {
  name: string;
  met: boolean;
  figure: string;
}
const goals: Goal[] = [];
function goal(name: string, met: boolean, figure: string): void {
  goals.push({ name, met, figure });
}

const row = figuresRow;
const header = FIGURES_HEADER;

/** Part 1: Sentinel, each fault under Redis alone and under Redis + Postgres. */
async function sentinelPart(postgres: PostgresServer): Promise<void> {
  log("1. Sentinel failover (down-after-milliseconds 1000). Failures count requests in flight at the fault or started after");
  log("   it, until 5 s after the sentinels named the new primary. 1st write: from the fault to the first successful write");
  log("   started after it.");
  log("");
  log(header);
  for (const fault of ["SIGKILL", "SIGSTOP"] as const) {
    for (const mode of ["redis", "tiered"] as const) {
      const label = `${fault} ${mode === "redis" ? "Redis alone" : "Redis + Postgres"}`;
      progress(`${label}... `);
      const figures = await failover({ fault, mode, postgres, visitors: VISITORS, workers: WORKERS, warmMs: 2000, afterMs: 5000 });
      progress("done\n");
      log(row(label, figures));
      goal(`${label}: a successful write within 5 s`, figures.firstWriteS <= 5, seconds(figures.firstWriteS));
      goal(
        `${label}: failed reads ${mode === "tiered" ? "0 %" : "< 1 %"}`,
        mode === "tiered" ? figures.readsFailedPct === 0 : figures.readsFailedPct < 1,
        pct(figures.readsFailedPct),
      );
      goal(`${label}: 0 sessions lost`, figures.sessionsLost === 0, String(figures.sessionsLost));
      goal(`${label}: 0 logouts`, figures.logouts === 0, String(figures.logouts));
      if (mode === "tiered") goal(`${label}: 0 stale reads`, figures.staleReads === 0, String(figures.staleReads));
    }
  }
  log("");
}

/** Part 2: Redis Cluster, for the Sentinel-or-Cluster choice (docs/operations.md); no goals. */
async function clusterPart(): Promise<void> {
  log("2. Redis Cluster, Redis alone, for comparison: one of three masters (a third of the sessions) gets the fault; its");
  log("   replica takes over after cluster-node-timeout. Last failure: from the fault to the end of the last failed request.");
  log("");
  const columns = ["last fail", "reads ✗", "writes ✗", "lost", "logouts", "took over", "requests"];
  log(["scenario".padEnd(30), ...columns.map((c) => c.padStart(9))].join("  "));
  for (const nodeTimeoutMs of CLUSTER_TIMEOUTS) {
    for (const fault of ["SIGKILL", "SIGSTOP"] as const) {
      const label = `${fault} node-timeout ${nodeTimeoutMs}`;
      progress(`Cluster ${label}... `);
      const f = await clusterFailover({ fault, nodeTimeoutMs, visitors: VISITORS, workers: WORKERS, afterMs: 5000 });
      progress("done\n");
      const cells = [seconds(f.lastFailureS), pct(f.readsFailedPct), pct(f.writesFailedPct), String(f.sessionsLost), String(f.logouts), seconds(f.storeBackS), `${f.reads + f.writes}`];
      log([label.padEnd(30), ...cells.map((c) => c.padStart(9))].join("  "));
    }
  }
  log("");
}

/** Part 3: the tiered store through a long Redis outage, frozen and restarted with old data. */
async function outagePart(postgres: PostgresServer): Promise<void> {
  log(`3. Redis out for ${OUTAGE_MS / 1000} s in front of Postgres, then back. Failures count requests in flight at the fault or`);
  log("   started after it, until 5 s after Redis was back; stale: a count below one already acknowledged, or a session");
  log("   signed out or revoked during the outage read as signed in (during or after).");
  log("");
  log(`${header}  ${"cache back".padStart(10)}  ${"stale after".padStart(11)}`);
  for (const kind of ["stop", "restart"] as const) {
    const label = kind === "stop" ? "SIGSTOP, SIGCONT" : "SIGKILL, restart old data";
    progress(`${label} (${OUTAGE_MS / 1000} s)... `);
    const figures = await cacheOutage({ kind, postgres, outageMs: OUTAGE_MS, visitors: VISITORS, workers: WORKERS, afterMs: 5000 });
    progress("done\n");
    log(`${row(label, figures)}  ${seconds(figures.cacheBackS).padStart(10)}  ${String(figures.staleAfterRecovery).padStart(11)}`);
    goal(`outage ${label}: 0 logouts`, figures.logouts === 0, String(figures.logouts));
    goal(`outage ${label}: 0 5xx`, figures.serverErrors === 0, String(figures.serverErrors));
    goal(`outage ${label}: 0 stale reads`, figures.staleReads === 0, `${figures.staleReads} (after recovery ${figures.staleAfterRecovery})`);
    goal(`outage ${label}: 0 failed reads`, figures.readsFailedPct === 0, pct(figures.readsFailedPct));
    goal(`outage ${label}: 0 sessions lost`, figures.sessionsLost === 0, String(figures.sessionsLost));
    goal(`outage ${label}: sign-outs during the outage acknowledged`, figures.signOutsAcknowledged === 6, `${figures.signOutsAcknowledged} of 6`);
  }
  log("");
}

const started = performance.now();
const redisVersion = await (async () => {
  const probe = await startRedisProcess();
  try {
    return /redis_version:(\S+)/.exec(String(await command(probe.port, ["INFO", "server"])))?.[1] ?? "unknown";
  } finally {
    await probe.stop();
  }
})();
const postgres = await startPostgres();
try {
  const cpu = cpus();
  log(`cloakroom failover drill: Node ${process.version}, ${cpu.length} CPU (${cpu[0]?.model ?? "unknown"}), Redis ${redisVersion}, ioredis 6, PostgreSQL (own server), loopback`);
  log(`${VISITORS} visitors on ${WORKERS} workers over two app instances; each request is GET /me (read) or POST /count (write) through the demo app.`);
  log("");
  if (PARTS.has("1")) await sentinelPart(postgres);
  if (PARTS.has("2")) await clusterPart();
  if (PARTS.has("3")) await outagePart(postgres);
  log("Columns: last fail: fault to the end of the last failed request (0 s: none failed); reads ✗ / writes ✗: failed (5xx)");
  log("share; lost: sessions a new instance could not read with their acknowledged count; logouts: 401 for a live session;");
  log("stale: see above; store back: fault to new primary named (1) or Redis resumed (3); took over: fault to a replica");
  log("serving the master's slots (2); cache back: Redis resumed to every instance using its cache again (3).");
  log("");
  log("Goals:");
  for (const g of goals) log(`  ${verdict(g.met).padEnd(6)}  ${g.name}: ${g.figure}`);
  const missed = goals.filter((g) => !g.met).length;
  log("");
  log(`${goals.length - missed} of ${goals.length} goals met${missed ? `, ${missed} MISSED` : ""}; ${((performance.now() - started) / 1000).toFixed(0)} s.`);
} finally {
  await postgres.stop();
}
