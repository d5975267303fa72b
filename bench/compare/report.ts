/**
 * The figures of one `npm run bench:compare` run, as a console table, a Markdown page
 * (docs/bench-compare.md) and plain verdicts. Every ratio divides two figures of this run:
 * absolute figures move between runs on a shared machine far more than ratios do.
 *
 * @module
 */
import type { BundleSize } from "./bundles.ts";
import type { CommandCount } from "./redis-watch.ts";
import { FLOOR, SCENARIOS, type Scenario, type ScenarioId } from "./scenarios.ts";

export interface Pass {
  rps: number;
  ok: number;
  failed: number;
  /** Server process CPU (user + system) over the pass, µs. */
  cpuUs: number;
  /** Of which in the kernel. */
  systemUs: number;
  /** HTTP requests the server received over the pass. */
  handled: number;
  /** redis-server CPU over the pass, µs (0 for lines without Redis: nothing else uses it then). */
  redisCpuUs: number;
}

export interface LineResult {
  scenario: Scenario;
  passes: Pass[];
  /** Mean of the passes. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuPerRequestUs: number;
  /** The kernel's share of cpuPerRequestUs. */
  systemPerRequestUs: number;
  redisCpuPerRequestUs: number;
  failed: number;
  inProcess: { medianUs: number; p99Us: number; samples: number };
  commands: CommandCount;
  /** Requests of the counting pass (in process, untimed) that `commands` covers. */
  counted: number;
  /** Commands sent to Redis per request (each its own round trip here). */
  roundTrips: number;
  setCookie: { steadyBytes: number; steadyHeaders: number; signInBytes: number; signInHeaders: number };
  /** GET /me answers that were not the visitor's user, in the counting pass. */
  wrong: number;
  firstWrong?: string;
}

export interface Run {
  machine: string;
  date: string;
  plan: string;
  lines: Map<ScenarioId, LineResult>;
  bundles: BundleSize[];
  seconds: number;
}

export interface Verdict {
  says: string;
  goal: string;
  met: boolean;
  hint?: string;
}

export const GOALS = {
  floorRatio: 0.9,
  expressRatio: 2,
  ironRatio: 3,
  /** Bytes: 12 KB taken as 12 000, the stricter reading. */
  bundleGzip: 12_000,
} as const;

export function times(value: number): string {
  if (!Number.isFinite(value)) return "—";
  if (value >= 10) return `${value.toFixed(1)}x`;
  return `${value.toFixed(2)}x`;
}

/**
 * A ratio for a verdict, cut (not rounded) to two decimals, so a figure just under a goal never
 * reads as the goal itself ("2.00x ... MISSED").
 */
function cut(value: number): string {
  return Number.isFinite(value) ? `${(Math.floor(value * 100) / 100).toFixed(2)}x` : "—";
}

/** Server CPU per request, plus redis-server's for the lines that use it. */
const cpuTotal = (l: LineResult) => l.cpuPerRequestUs + (l.scenario.redis ? l.redisCpuPerRequestUs : 0);

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : "—");
const thousands = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "—");
const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;

function line(run: Run, id: ScenarioId): LineResult {
  const found = run.lines.get(id);
  if (!found) throw new Error(`bench:compare: no result for ${id}`);
  return found;
}

function breakdown(count: CommandCount, requests: number): string {
  const names = Object.entries(count.byName);
  if (names.length === 0) return "";
  return names.map(([name, n]) => `${name.toUpperCase()} ${fixed(n / requests, n % requests === 0 ? 0 : 2)}`).join(" + ");
}

interface Cell {
  head: string;
  value: (l: LineResult, floor: LineResult) => string;
}

const CELLS: Cell[] = [
  { head: "req/s", value: (l) => thousands(l.rps) },
  { head: "×floor", value: (l, f) => times(l.rps / f.rps) },
  { head: "p50 ms", value: (l) => fixed(l.p50Ms, 2) },
  { head: "p50 ×floor", value: (l, f) => times(l.p50Ms / f.p50Ms) },
  { head: "p99 ms", value: (l) => fixed(l.p99Ms, 2) },
  { head: "p99 ×floor", value: (l, f) => times(l.p99Ms / f.p99Ms) },
  { head: "CPU µs/req", value: (l) => fixed(l.cpuPerRequestUs, 0) },
  { head: "CPU ×floor", value: (l, f) => times(l.cpuPerRequestUs / f.cpuPerRequestUs) },
  { head: "in-process µs", value: (l) => fixed(l.inProcess.medianUs, 1) },
  { head: "in-proc ×floor", value: (l, f) => times(l.inProcess.medianUs / f.inProcess.medianUs) },
  { head: "Redis round trips", value: (l) => fixed(l.roundTrips, Number.isInteger(l.roundTrips) ? 0 : 2) },
  { head: "Set-Cookie B/resp", value: (l) => fixed(l.setCookie.steadyBytes, 0) },
  { head: "Set-Cookie B sign-in", value: (l) => fixed(l.setCookie.signInBytes, 0) },
];

export function verdicts(run: Run): Verdict[] {
  const floor = run.lines.get(FLOOR);
  const ours = run.lines.get("cloakroom-redis");
  const express = run.lines.get("express-session");
  const oursOnExpress = run.lines.get("cloakroom-express");
  const iron = run.lines.get("iron-session");
  const bundle = run.bundles.find((b) => b.goal)!;
  const list: Verdict[] = [];
  if (ours && floor) {
    list.push({
      says: `cloakroom + ioredis: ${thousands(ours.rps)} req/s = ${cut(ours.rps / floor.rps)} the plain id + GET floor (${thousands(floor.rps)} req/s); by CPU per request (server + Redis) ${cut(cpuTotal(floor) / cpuTotal(ours))}`,
      goal: `goal >= ${GOALS.floorRatio}x`,
      met: ours.rps >= GOALS.floorRatio * floor.rps,
      hint: `server CPU per request ${fixed(ours.cpuPerRequestUs, 0)} µs vs ${fixed(floor.cpuPerRequestUs, 0)} µs, redis-server ${fixed(ours.redisCpuPerRequestUs, 1)} µs vs ${fixed(floor.redisCpuPerRequestUs, 1)} µs; profile with BENCH_COMPARE_PROFILE=cloakroom-redis,floor (bench/README.md, "Profiling a line")`,
    });
  }
  if (ours && express) {
    list.push({
      says: `cloakroom + ioredis vs express-session + connect-redis: ${cut(ours.rps / express.rps)} (${thousands(express.rps)} req/s); by CPU per request ${cut(cpuTotal(express) / cpuTotal(ours))}`,
      goal: `goal >= ${GOALS.expressRatio}x`,
      met: ours.rps >= GOALS.expressRatio * express.rps,
    });
  }
  if (oursOnExpress && express) {
    // The same comparison with the framework held constant: Express on both sides.
    list.push({
      says: `cloakroom + Express vs express-session + connect-redis (both on Express 5): ${cut(oursOnExpress.rps / express.rps)} (${thousands(oursOnExpress.rps)} vs ${thousands(express.rps)} req/s; p99 ${fixed(oursOnExpress.p99Ms, 2)} vs ${fixed(express.p99Ms, 2)} ms); by CPU per request ${cut(cpuTotal(express) / cpuTotal(oursOnExpress))}`,
      goal: "reported, no goal",
      met: true,
    });
  }
  if (ours && iron) {
    list.push({
      says: `cloakroom + ioredis vs iron-session: ${cut(ours.rps / iron.rps)} (${thousands(iron.rps)} req/s); by CPU per request ${cut(cpuTotal(iron) / cpuTotal(ours))}`,
      goal: `goal >= ${GOALS.ironRatio}x`,
      met: ours.rps >= GOALS.ironRatio * iron.rps,
    });
  }
  list.push({
    says: `${bundle.label}: ${kb(bundle.gzip)} gzipped (${bundle.includes.map((i) => `${i.name} ${kb(i.bytes)}`).join(", ")} minified)`,
    goal: `goal <= ${kb(GOALS.bundleGzip)}`,
    met: bundle.gzip <= GOALS.bundleGzip,
  });
  if (ours) {
    list.push({
      says: `cloakroom + ioredis, a signed-in visitor: ${fixed(ours.roundTrips, 2)} Redis round trips and ${fixed(ours.setCookie.steadyHeaders, 2)} Set-Cookie per request`,
      goal: "design: 1 and 0",
      met: ours.roundTrips === 1 && ours.setCookie.steadyHeaders === 0,
    });
  }
  const spoiled = [...run.lines.values()].filter((l) => l.failed > 0 || l.wrong > 0);
  list.push({
    says:
      spoiled.length === 0
        ? "every line answered every request with the visitor's user (no errors, no non-2xx)"
        : `lines with failed or wrong answers: ${spoiled.map((l) => `${l.scenario.label} (${l.failed} failed, ${l.wrong} wrong${l.firstWrong ? `: ${l.firstWrong}` : ""})`).join("; ")}`,
    goal: "goal: no wrong answers",
    met: spoiled.length === 0,
    hint: "a line that answers wrongly measures something else: do not trust its figures",
  });
  return list;
}

function rows(run: Run): string[][] {
  const floor = line(run, FLOOR);
  return SCENARIOS.filter((s) => run.lines.has(s.id)).map((s) => {
    const l = line(run, s.id);
    return [`${s.n}. ${s.label}`, ...CELLS.map((cell) => cell.value(l, floor))];
  });
}

export function printTable(run: Run, log: (text: string) => void): void {
  const heads = ["line", ...CELLS.map((c) => c.head)];
  const body = rows(run);
  const widths = heads.map((head, i) => Math.max(head.length, ...body.map((r) => r[i]!.length)));
  const format = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  log(format(heads));
  for (const r of body) log(format(r));
}

export function printDetails(run: Run, log: (text: string) => void): void {
  log("per line: req/s of each HTTP round, server CPU split, Redis commands a request sends, redis-server CPU per request");
  for (const s of SCENARIOS) {
    const l = run.lines.get(s.id);
    if (!l) continue;
    const passes = l.passes.map((p) => thousands(p.rps)).join(" / ");
    const commands = breakdown(l.commands, l.counted);
    const redis = s.redis ? `, Redis CPU ${fixed(l.redisCpuPerRequestUs, 1)} µs/req${l.commands.inScripts ? ` (${fixed(l.commands.inScripts / l.counted, 0)} command(s) inside a script)` : ""}` : "";
    const cpu = `CPU ${fixed(l.cpuPerRequestUs - l.systemPerRequestUs, 0)} user + ${fixed(l.systemPerRequestUs, 0)} system µs/req`;
    log(`  ${`${s.n}. ${s.label}`.padEnd(44)} rounds ${passes}; ${cpu}; in process p99 ${fixed(l.inProcess.p99Us, 0)} µs${commands ? `; ${commands}` : ""}${redis}`);
  }
}

export function printBundles(run: Run, log: (text: string) => void): void {
  for (const b of run.bundles) {
    log(`  ${b.label.padEnd(84)} ${kb(b.gzip).padStart(9)} gzip  ${kb(b.minified).padStart(9)} min`);
    log(`      ${b.includes.map((i) => `${i.name} ${kb(i.bytes)}`).join(", ")}`);
    if (b.files.length > 0) log(`      largest files: ${b.files.map((f) => `${f.name} ${kb(f.bytes)}`).join(", ")}`);
  }
}

export function printVerdicts(list: Verdict[], log: (text: string) => void): void {
  for (const v of list) {
    log(`  ${v.met ? "met   " : "MISSED"}  ${v.says}  (${v.goal})`);
    if (!v.met && v.hint) log(`          ${v.hint}`);
  }
  const missed = list.filter((v) => !v.met).length;
  log(missed === 0 ? "  all goals met" : `  ${missed} of ${list.length} goals missed`);
}

/** docs/bench-compare.md: the table, verdicts, bundle sizes and what each line does. */
export function markdown(run: Run, list: Verdict[]): string {
  const heads = ["line", ...CELLS.map((c) => c.head)];
  const out: string[] = [];
  out.push("# How cloakroom compares");
  out.push("");
  out.push(`Written by \`npm run bench:compare\` (${run.date}; ${run.seconds.toFixed(0)} s). ${run.machine}.`);
  out.push(`${run.plan} Ratios (×floor) divide by line 2 of the same run; compare ratios, not absolute figures, between runs.`);
  out.push("");
  out.push("![requests per second and p99 latency of each line](bench-compare.svg)");
  out.push("");
  out.push(`| ${heads.join(" | ")} |`);
  out.push(`|${heads.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`);
  for (const r of rows(run)) out.push(`| ${r.join(" | ")} |`);
  out.push("");
  out.push("## Verdicts");
  out.push("");
  for (const v of list) out.push(`- **${v.met ? "met" : "MISSED"}**: ${v.says} (${v.goal})`);
  out.push("");
  out.push("## Bundle sizes");
  out.push("");
  out.push("esbuild, minified ESM, gzip level 9; frameworks and store clients (hono, express, @upstash/redis, redis) left out; 1 KB = 1000 bytes. The cloakroom lines bundle the sources in this tree.");
  out.push("");
  out.push("| entry | gzip | minified | includes (minified bytes) |");
  out.push("|---|---:|---:|---|");
  for (const b of run.bundles) {
    out.push(`| ${b.label} | ${kb(b.gzip)} | ${kb(b.minified)} | ${b.includes.map((i) => `${i.name} ${kb(i.bytes)}`).join(", ")} |`);
  }
  out.push("");
  out.push("## What each line does per request");
  out.push("");
  for (const s of SCENARIOS) {
    const l = run.lines.get(s.id);
    const commands = l ? breakdown(l.commands, l.counted) : "";
    out.push(`${s.n}. **${s.label}**: ${s.does}${commands ? ` Redis: ${commands} per request.` : ""}`);
  }
  out.push("");
  out.push(
    "Columns: req/s, p50 and p99 from autocannon (10 connections, keep-alive; after a warm-up, rounds in which every line runs once, " +
      "the order reversed every other round and rotated every two; req/s is the median of a line's runs, the percentiles pool every " +
      "response of all of them); CPU µs/req is the server process's `process.cpuUsage()` (user + system) over the runs divided by the requests it served; in-process µs is the median of `GET /me` called " +
      "without a network (`app.fetch` for Hono, a real IncomingMessage/ServerResponse pair for Express); Redis round trips are the " +
      "commands clients sent per request (MONITOR, commands run inside a Lua script not counted); Set-Cookie bytes are the header " +
      "values' bytes per steady-state response and on the sign-in response.",
  );
  out.push("");
  return out.join("\n");
}
