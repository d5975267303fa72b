/**
 * `npm run bench`: what a session costs per request, next to what it is built from (Web Crypto
 * AES-GCM), what it should cost in the steady state (a Map.get) and a known alternative
 * (iron-session), all in one run. Imports the TypeScript sources (../src), run by Node's type
 * stripping: the figures are always those of the code in the tree, with no build in between.
 *
 * Order: set everything up, count calls (exact, untimed), warm up, then time every line in
 * interleaved rounds. Prints figures and verdicts; never fails on a figure.
 *
 * @module
 */
import { cpus } from "node:os";
import { baselines } from "./baselines.ts";
import { countPerOp } from "./count-pass.ts";
import { measure, timerOverheadMs, warmUp, type Plan } from "./measure.ts";
import { printComparisons, printCounts, printTable, type Row } from "./report.ts";
import { requestScenarios } from "./request-scenarios.ts";
import { storeScenarios } from "./store-scenarios.ts";
import { ticketScenarios } from "./ticket-scenarios.ts";
import { printVerdicts } from "./verdict.ts";

// About 40 s in all with the default 250 ms slices; BENCH_SLICE_MS trades time for precision.
const plan: Plan = {
  warmupMs: 300,
  rounds: 10,
  sliceMs: Number(process.env.BENCH_SLICE_MS) > 0 ? Number(process.env.BENCH_SLICE_MS) : 250,
};
const COUNTED_OPS = 200;

const log = (line = "") => console.log(line);
const progress = (text: string) => process.stderr.write(text);
const started = performance.now();

const now = Date.now();
progress("setting up (signing in visitors, filling stores)... ");
const scenarios = [
  ...(await baselines()),
  ...(await ticketScenarios(now)),
  ...(await requestScenarios(now)),
  ...(await storeScenarios(now)),
];

progress("counting calls... ");
const counts = new Map<string, Awaited<ReturnType<typeof countPerOp>>>();
for (const scenario of scenarios) counts.set(scenario.id, await countPerOp(scenario, COUNTED_OPS));

progress("warming up... ");
await warmUp(scenarios, plan.warmupMs);
const overheadMs = timerOverheadMs();

progress(`timing ${plan.rounds} rounds: `);
const stats = await measure(scenarios, plan, overheadMs, (round) => progress(`${round} `));
progress("\n");

const rows = new Map<string, Row>(
  scenarios.map((scenario) => [scenario.id, { scenario, stats: stats.get(scenario.id)!, counts: counts.get(scenario.id)! }]),
);

const cpu = cpus();
log(`cloakroom bench: Node ${process.version}, ${cpu.length} CPU (${cpu[0]?.model ?? "unknown"}), ${process.platform}/${process.arch}`);
log(
  `${plan.rounds} interleaved rounds x ${plan.sliceMs} ms per line after ${plan.warmupMs} ms warm-up; ` +
    `timer overhead ${(overheadMs * 1000).toFixed(3)} µs subtracted; compare figures only within this run`,
);
log();
printTable(rows, log);
log();
printCounts(rows, log);
log();
printComparisons(rows, log);
log();
printVerdicts(rows, log);
log();
log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
