/**
 * `npm run bench:compare`: cloakroom next to what users would pick instead, measured side by
 * side in one run (issue 7). Starts its own redis-server (the tests' harness: a free loopback
 * port, stopped by its PID) and one server process per line; about 3 minutes. Prints a
 * table, per-line details, bundle sizes and plain verdicts, and writes docs/bench-compare.md
 * and docs/bench-compare.svg. Never fails on a figure.
 *
 * The lines (bench/compare/scenarios.ts) all answer `GET /me` for a signed-in visitor with the
 * same small JSON. For each:
 *   1. sign-in: 500 visitors sign in (in process); Set-Cookie bytes of a sign-in;
 *   2. counting pass (untimed, in process): 200 requests under Redis MONITOR: round trips per
 *      request, Set-Cookie bytes per steady-state response, and every answer checked;
 *   3. in-process cost: `GET /me` with no network, in short slices, round after round in an
 *      order that rotates and reverses, each server process timing its own line;
 *   4. HTTP: autocannon with 10 connections, run from this process while each server runs in a
 *      process of its own (so the load generator never takes the server's event loop): a
 *      warm-up of every line, then rounds in which every line runs once, in an order that is
 *      reversed every other round and rotated every two (so each line runs at least twice, in
 *      alternating order); the server's `process.cpuUsage()` and redis-server's CPU (INFO cpu)
 *      over each run;
 *   5. bundle sizes (esbuild, minified + gzip).
 *
 * Environment: BENCH_COMPARE_SECONDS (seconds per HTTP run, default 2), BENCH_COMPARE_ROUNDS
 * (default 6), BENCH_COMPARE_WARMUP (seconds, default 2), BENCH_COMPARE_ONLY (comma-separated
 * line ids, plus the floor: a quick partial run; the docs are then not written),
 * BENCH_COMPARE_NO_DOCS=1 (print only), BENCH_COMPARE_PROFILE (comma-separated line ids: after
 * the measurements, profile those servers under load and print where their CPU goes).
 *
 * @module
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { startRedisProcess } from "../test/support/redis-server.ts";
import { bundleSizes } from "./compare/bundles.ts";
import { chart } from "./compare/chart.ts";
import { load, quantile, type LoadResult } from "./compare/load.ts";
import { countCommands, redisCpuSeconds, redisVersion } from "./compare/redis-watch.ts";
import { summarizeProfile } from "./compare/profile.ts";
import { markdown, printBundles, printDetails, printTable, printVerdicts, verdicts, type LineResult, type Pass, type Run } from "./compare/report.ts";
import { SCENARIOS, type Scenario, type ScenarioId } from "./compare/scenarios.ts";
import { startServer, type LineServer } from "./compare/servers.ts";

const VISITORS = 500;
const COUNTED = 200;
const CONNECTIONS = 10;
const envNumber = (name: string, fallback: number) => (Number(process.env[name]) > 0 ? Number(process.env[name]) : fallback);
const PASS_SECONDS = envNumber("BENCH_COMPARE_SECONDS", 2);
const ROUNDS = Math.max(2, Math.round(envNumber("BENCH_COMPARE_ROUNDS", 6)));
const WARMUP_SECONDS = envNumber("BENCH_COMPARE_WARMUP", 2);
const IN_PROCESS = { warmupMs: 400, rounds: 8, sliceMs: 150 };
const ONLY = process.env.BENCH_COMPARE_ONLY?.split(",").map((id) => id.trim()).filter(Boolean);
const PROFILE = process.env.BENCH_COMPARE_PROFILE?.split(",").map((id) => id.trim()).filter(Boolean) ?? [];
const WRITE_DOCS = !ONLY && process.env.BENCH_COMPARE_NO_DOCS !== "1";

const log = (line = "") => console.log(line);
const progress = (text: string) => process.stderr.write(text);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const started = performance.now();
/** The middle value, or the mean of the two middle values. */
function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return Number.isInteger(mid) ? (sorted[mid - 1]! + sorted[mid]!) / 2 : sorted[Math.floor(mid)]!;
}
const docs = (name: string) => fileURLToPath(new URL(`../docs/${name}`, import.meta.url));

const lines: Scenario[] = ONLY ? SCENARIOS.filter((s) => ONLY.includes(s.id)) : [...SCENARIOS];
if (ONLY && !lines.some((s) => s.id === "floor")) lines.unshift(SCENARIOS.find((s) => s.id === "floor")!);

// Ctrl-C: exit through process.exit, so the harnesses' exit hooks stop redis-server and the
// line servers (a signal's default action would skip them and leave redis-server running).
process.once("SIGINT", () => process.exit(130));

const redis = await startRedisProcess();
const admin = new Redis(redis.url);
const servers = new Map<ScenarioId, LineServer>();
try {
  const cpu = cpus();
  const machine = `Node ${process.version}, ${cpu.length} CPU (${cpu[0]?.model.trim() ?? "unknown"}), Redis ${await redisVersion(admin)} on loopback`;
  log(`cloakroom bench:compare: ${machine}; load average at start ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  log("");

  progress("starting servers... ");
  for (const s of lines) servers.set(s.id, await startServer(s.id, redis.url));
  const server = (id: ScenarioId) => servers.get(id)!;

  // ── 1. sign-in ──────────────────────────────────────────────────────────────────────
  progress(`signing in ${VISITORS} visitors per line... `);
  const seeded = new Map<ScenarioId, Awaited<ReturnType<LineServer["seed"]>>>();
  for (const s of lines) seeded.set(s.id, await server(s.id).seed(VISITORS));

  // ── 2. counting pass ────────────────────────────────────────────────────────────────
  progress("counting round trips... ");
  const counted = new Map<ScenarioId, { commands: Awaited<ReturnType<typeof countCommands>>; answers: Awaited<ReturnType<LineServer["count"]>> }>();
  for (const s of lines) {
    let answers: Awaited<ReturnType<LineServer["count"]>> | undefined;
    const commands = await countCommands(admin, async () => {
      answers = await server(s.id).count(COUNTED);
    });
    counted.set(s.id, { commands, answers: answers! });
  }

  // ── 3. in-process cost ──────────────────────────────────────────────────────────────
  progress("in process: warm-up ");
  for (const s of lines) await server(s.id).slice(IN_PROCESS.warmupMs);
  const samples = new Map(lines.map((s) => [s.id, [] as number[]]));
  progress("rounds ");
  for (let round = 0; round < IN_PROCESS.rounds; round++) {
    const shift = round % lines.length;
    const order = [...lines.slice(shift), ...lines.slice(0, shift)];
    if (round % 2 === 1) order.reverse();
    for (const s of order) {
      const got = await server(s.id).slice(IN_PROCESS.sliceMs);
      const pool = samples.get(s.id)!;
      for (const us of got) pool.push(us);
    }
    progress(`${round + 1} `);
  }

  // ── 4. HTTP ─────────────────────────────────────────────────────────────────────────
  progress(`\nHTTP: warm-up ${WARMUP_SECONDS} s each `);
  for (const s of lines) {
    await load(server(s.id).port, seeded.get(s.id)!.cookies, { seconds: WARMUP_SECONDS, connections: CONNECTIONS });
    progress(".");
    await pause(200);
  }
  const passes = new Map(lines.map((s) => [s.id, [] as Array<Pass & { latencies: Float64Array }>]));
  progress(`; ${ROUNDS} rounds of ${PASS_SECONDS} s per line `);
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate, and reverse every other round: each line gets every position and neighbour.
    const shift = Math.floor(round / 2) % lines.length;
    const order = [...lines.slice(shift), ...lines.slice(0, shift)];
    if (round % 2 === 1) order.reverse();
    for (const s of order) {
      const target = server(s.id);
      const before = await target.usage();
      const redisBefore = await redisCpuSeconds(admin);
      const result: LoadResult = await load(target.port, seeded.get(s.id)!.cookies, { seconds: PASS_SECONDS, connections: CONNECTIONS });
      const redisAfter = await redisCpuSeconds(admin);
      const after = await target.usage();
      passes.get(s.id)!.push({
        rps: result.rps,
        ok: result.ok,
        failed: result.failed,
        cpuUs: after.cpuUs - before.cpuUs,
        systemUs: after.systemUs - before.systemUs,
        handled: after.handled - before.handled,
        redisCpuUs: (redisAfter - redisBefore) * 1e6,
        latencies: result.latencies,
      });
      await pause(200);
    }
    progress(`${round + 1} `);
  }

  // ── profiles (BENCH_COMPARE_PROFILE), after the measurements so they do not skew them ──
  const profiles: Array<{ id: ScenarioId; file: string; requests: number }> = [];
  if (PROFILE.length > 0) {
    const dir = mkdtempSync(join(tmpdir(), "cloakroom-bench-profile-"));
    for (const s of lines.filter((l) => PROFILE.includes(l.id))) {
      progress(`; profiling ${s.id} `);
      const file = join(dir, `${s.id}.cpuprofile`);
      const before = await server(s.id).usage();
      await server(s.id).profileStart();
      await load(server(s.id).port, seeded.get(s.id)!.cookies, { seconds: 2 * PASS_SECONDS, connections: CONNECTIONS });
      await server(s.id).profileStop(file);
      profiles.push({ id: s.id, file, requests: (await server(s.id).usage()).handled - before.handled });
    }
  }

  // ── 5. bundle sizes ─────────────────────────────────────────────────────────────────
  progress("; bundles... ");
  const bundles = await bundleSizes();
  progress("done\n\n");

  const results = new Map<ScenarioId, LineResult>();
  for (const s of lines) {
    const list = passes.get(s.id)!;
    const all = new Float64Array(list.reduce((n, p) => n + p.latencies.length, 0));
    let at = 0;
    for (const p of list) {
      all.set(p.latencies, at);
      at += p.latencies.length;
    }
    const handled = list.reduce((n, p) => n + p.handled, 0);
    const inProcess = Float64Array.from(samples.get(s.id)!);
    const { commands, answers } = counted.get(s.id)!;
    const seed = seeded.get(s.id)!;
    results.set(s.id, {
      scenario: s,
      passes: list.map(({ latencies: _, ...pass }) => pass),
      rps: medianOf(list.map((p) => p.rps)),
      p50Ms: quantile(all, 0.5),
      p99Ms: quantile(all, 0.99),
      cpuPerRequestUs: list.reduce((n, p) => n + p.cpuUs, 0) / handled,
      systemPerRequestUs: list.reduce((n, p) => n + p.systemUs, 0) / handled,
      redisCpuPerRequestUs: list.reduce((n, p) => n + p.redisCpuUs, 0) / handled,
      failed: list.reduce((n, p) => n + p.failed, 0),
      inProcess: { medianUs: quantile(inProcess, 0.5), p99Us: quantile(inProcess, 0.99), samples: inProcess.length },
      commands,
      counted: answers.requests,
      roundTrips: commands.total / answers.requests,
      setCookie: {
        steadyBytes: answers.setCookieBytes / answers.requests,
        steadyHeaders: answers.setCookieHeaders / answers.requests,
        signInBytes: seed.signInBytes,
        signInHeaders: seed.signInHeaders,
      },
      wrong: answers.wrong,
      ...(answers.firstWrong ? { firstWrong: answers.firstWrong } : {}),
    });
  }

  const seconds = (performance.now() - started) / 1000;
  const run: Run = {
    machine,
    date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
    plan:
      `HTTP: autocannon, ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up per line, then ${ROUNDS} rounds of ${PASS_SECONDS} s per line ` +
      `(order reversed every other round, rotated every two), ${VISITORS} signed-in visitors per line; each server in its own process, the load generator in another.`,
    lines: results,
    bundles,
    seconds,
  };
  const list = verdicts(run);

  log(`1. GET /me of a signed-in visitor (${run.plan})`);
  printTable(run, log);
  log("");
  log("2. Details");
  printDetails(run, log);
  log("");
  log("3. Bundle sizes (esbuild, minified ESM, gzip -9; hono, express, @upstash/redis, redis left out)");
  printBundles(run, log);
  log("");
  log("4. Verdicts (issue 7; ratios within this run)");
  printVerdicts(list, log);
  log("");
  for (const { id, file, requests } of profiles) {
    log(`5. Profile of the ${id} server under load, ${requests} requests (${file}; opens in Chrome DevTools)`);
    for (const text of summarizeProfile(file, requests)) log(`  ${text}`);
    log("");
  }
  if (WRITE_DOCS) {
    writeFileSync(docs("bench-compare.md"), markdown(run, list));
    writeFileSync(docs("bench-compare.svg"), chart(run));
    log("wrote docs/bench-compare.md and docs/bench-compare.svg");
  }
  log(`total ${seconds.toFixed(1)} s`);
} finally {
  await Promise.all([...servers.values()].map((s) => s.stop()));
  admin.disconnect();
  await redis.stop();
}
