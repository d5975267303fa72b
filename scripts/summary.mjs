/**
 * Turns runner reports into pass/fail counts per runtime. Counts come from machine reports
 * (vitest JSON, JUnit XML), never from a runner's human summary, and a runner that exits non-zero
 * without reporting a failed test (a file that failed to load, an unhandled error, a crash before
 * the report was written) still counts as one failure, so nothing fails silently.
 */
import { existsSync, readFileSync } from "node:fs";
import { relative } from "node:path";

/** @typedef {{ passed: number, failed: number, skipped: number }} Counts */

/** @returns {Counts} */
export const zero = () => ({ passed: 0, failed: 0, skipped: 0 });

/**
 * Where a vitest test ran: test/browser/ in Chromium (the demo driven through playwright-core);
 * test/runtimes/workerd.test.ts, and any test under a top-level describe named "workerd ..."
 * (the cases a Node-side file sends into Miniflare), in workerd; everything else on Node.
 * @param {string} path relative to the repository root
 * @param {string | undefined} topDescribe the test's outermost describe, if any
 */
function runtimeOf(path, topDescribe) {
  if (path.startsWith("test/browser/")) return "chromium";
  if (path === "test/runtimes/workerd.test.ts" || /^workerd\b/.test(topDescribe ?? "")) return "workerd";
  return "node";
}

/**
 * Vitest's JSON report, split by runtime (`runtimeOf`).
 * A file that failed without a failed test (it did not load, or a hook threw) counts once.
 * @returns {Record<string, Counts>}
 */
export function vitestCounts(file, root) {
  const report = JSON.parse(readFileSync(file, "utf8"));
  /** @type {Record<string, Counts>} */
  const byRuntime = { node: zero(), workerd: zero(), chromium: zero() }; // listed even when empty: a missing runtime should show
  for (const result of report.testResults) {
    const path = relative(root, result.name);
    for (const test of result.assertionResults) {
      const counts = byRuntime[runtimeOf(path, test.ancestorTitles[0])];
      if (test.status === "passed" || test.status === "failed") counts[test.status] += 1;
      else counts.skipped += 1;
    }
    if (result.status === "failed" && !result.assertionResults.some((test) => test.status === "failed")) {
      byRuntime[runtimeOf(path, undefined)].failed += 1;
    }
  }
  return byRuntime;
}

/**
 * Totals from the root <testsuites> element of a JUnit report (bun, deno). Deno's root has no
 * `skipped` attribute (an ignored test only shows as <skipped/> in its testcase), so skipped
 * tests are counted from those elements when the attribute is missing.
 * @returns {Counts}
 */
export function junitCounts(file) {
  const xml = readFileSync(file, "utf8");
  const root = /<testsuites\b([^>]*)>/.exec(xml);
  if (!root) throw new Error(`${file} has no <testsuites> element`);
  const attributes = Object.fromEntries([...root[1].matchAll(/([\w-]+)="([^"]*)"/g)].map(([, k, v]) => [k, Number(v) || 0]));
  const failed = (attributes.failures ?? 0) + (attributes.errors ?? 0);
  const skipped = attributes.skipped ?? xml.match(/<skipped\b/g)?.length ?? 0;
  return { passed: (attributes.tests ?? 0) - failed - skipped, failed, skipped };
}

/**
 * Reads one runner's report and reconciles it with the runner's exit code.
 * @param {{ runtime: string, report?: string, read?: (file: string) => Counts | Record<string, Counts> }} runner
 * @returns {Record<string, Counts>}
 */
export function countRunner(runner, exitCode) {
  let byRuntime;
  if (!runner.report) {
    byRuntime = { [runner.runtime]: { ...zero(), [exitCode === 0 ? "passed" : "failed"]: 1 } };
  } else if (!existsSync(runner.report)) {
    console.error(`${runner.runtime}: no report at ${runner.report}; counting the run as one failure`);
    byRuntime = { [runner.runtime]: { ...zero(), failed: 1 } };
  } else {
    const counts = runner.read(runner.report);
    byRuntime = "passed" in counts ? { [runner.runtime]: counts } : counts;
  }
  const failed = Object.values(byRuntime).reduce((sum, c) => sum + c.failed, 0);
  if (exitCode !== 0 && failed === 0) {
    console.error(`${runner.runtime}: exited with ${exitCode} but reported no failed test; counting one failure`);
    (byRuntime[runner.runtime] ??= zero()).failed += 1;
  }
  return byRuntime;
}

/**
 * The breakdown line and the closing line. With `strict` (CI), a skipped, pending or todo
 * test is a failure: a case that did not run proves nothing.
 * @param {Record<string, Counts>} tally
 */
export function summarize(tally, strict) {
  let passed = 0;
  let failed = 0;
  const parts = [];
  for (const [runtime, c] of Object.entries(tally)) {
    const f = c.failed + (strict ? c.skipped : 0);
    passed += c.passed;
    failed += f;
    parts.push(`${runtime} ${c.passed}/${f}${!strict && c.skipped ? ` (${c.skipped} skipped)` : ""}`);
  }
  return { passed, failed, breakdown: parts.join(", "), closing: `${passed} passed, ${failed} failed` };
}
