/**
 * Where a server's CPU went, from a V8 CPU profile (BENCH_COMPARE_PROFILE=<line id>): self time
 * by function (file:line) and by file, as shares of the time the process was not idle. The
 * .cpuprofile itself opens in Chrome DevTools (Performance panel) for the call tree.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function where(url: string): string {
  if (!url) return "(native)";
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  if (path.startsWith(`${ROOT}node_modules/`)) {
    const rest = path.slice(`${ROOT}node_modules/`.length).split("/");
    const name = rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
    return `${name} ${rest.slice(name.split("/").length).join("/")}`;
  }
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path;
}

/** @param requests served while profiling, so each entry also reads as µs per request */
export function summarizeProfile(file: string, requests: number, top = 18): string[] {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    // Idle, and the profiler's own work (Profiler.stop serialising the profile) are not the app's.
    if (functionName === "(idle)" || url === "node:inspector") continue;
    busy += us;
    const file = where(url);
    const fn = url ? `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}` : functionName;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const owner = url ? file.split(" ")[0]!.replace(/:.*/, "") : functionName;
    byFile.set(owner, (byFile.get(owner) ?? 0) + us);
  }
  const share = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)} % ${(us / requests).toFixed(2).padStart(6)} µs/req`;
  const out = [`busy ${(busy / 1000).toFixed(0)} ms of CPU, ${(busy / requests).toFixed(1)} µs per request; self time by function:`];
  for (const [fn, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`  ${share(us)}  ${fn}`);
  out.push("self time by file or package:");
  for (const [owner, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`  ${share(us)}  ${owner}`);
  return out;
}
