/**
 * The Upstash adapter in workerd (Miniflare, nodejs_compat off), with the client from
 * "@upstash/redis/cloudflare", against the REST bridge and a real redis-server started here.
 * The bundle refuses `node:` imports, so it is also the proof that the adapter, the shared Redis
 * layer and the client need nothing from Node. Each case in test/upstash/workerd-cases.ts
 * becomes one vitest test here, named "workerd (upstash) > ...".
 */
import { fileURLToPath } from "node:url";
import { build, type BuildOptions, type Plugin } from "esbuild";
import { Miniflare } from "miniflare";
import { afterAll, describe, expect, it } from "vitest";
import type { SerializedError } from "../runtimes/worker.ts";
import { startStandaloneRedis } from "../support/redis-server.ts";
import { startUpstashBridge } from "../support/upstash-bridge.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

const refuseNode: Plugin = {
  name: "refuse-node",
  setup(b) {
    b.onResolve({ filter: /^node:/ }, ({ path, importer }) => ({
      errors: [{ text: `${path} imported by ${importer}: workerd runs this without nodejs_compat` }],
    }));
  },
};

/** The same build settings as test/runtimes/bundle-worker.ts: worker conditions, no Node. */
const workerBuild: BuildOptions = {
  bundle: true,
  format: "esm",
  platform: "browser",
  conditions: ["workerd", "worker", "browser"],
  target: "es2023",
  plugins: [refuseNode],
  logLevel: "silent",
};

const server = await startStandaloneRedis();
const bridge = await startUpstashBridge({ redisPort: server.port });
let mf: Miniflare | undefined;
async function cleanUp(): Promise<void> {
  await mf?.dispose();
  await bridge.close();
  await server.stop();
}
afterAll(cleanUp);

// Inside the repo: Miniflare rejects a scriptPath that climbs out with "..".
const scriptPath = fileURLToPath(new URL("../../.reports/workerd-upstash/worker.js", import.meta.url));
try {
  await build({
    ...workerBuild,
    entryPoints: [fileURLToPath(new URL("./upstash-worker.ts", import.meta.url))],
    outfile: scriptPath,
    alias: { vitest: fileURLToPath(new URL("../runtimes/vitest-shim.ts", import.meta.url)) },
    sourcemap: true,
  });
  mf = new Miniflare({
    modules: true,
    scriptPath,
    compatibilityDate: "2026-07-30",
    compatibilityFlags: [],
    bindings: { UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token },
  });
} catch (error) {
  // A failed bundle (a node: import, say) fails the file before afterAll is registered with
  // any test to run after: stop the servers here, or they outlive the run.
  await cleanUp();
  throw error;
}

async function call<T>(path: string, body?: unknown): Promise<T> {
  const init = body === undefined ? {} : { method: "POST", body: JSON.stringify(body) };
  const response = await mf!.dispatchFetch(`http://workerd.test${path}`, init);
  if (!response.ok) throw new Error(`worker ${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

function rethrow(error: SerializedError): never {
  const rebuilt = Object.assign(new Error(error.message), { name: error.name, diff: error.diff, showDiff: false });
  const frames = error.stack.split("\n").filter((line) => /^\s*at |^Caused by:/.test(line));
  rebuilt.stack = [`${error.name}: ${error.message}`, ...frames].join("\n");
  throw rebuilt;
}

const listing = await call<{
  runtime: { userAgent: string; process: string; Buffer: string };
  cases: { file: string; name: string }[];
  loadErrors: { file: string; error: SerializedError }[];
}>("/cases");

describe("workerd (upstash)", () => {
  it("runs without Node: Cloudflare-Workers, no process, no Buffer, and the cases loaded", () => {
    expect(listing.runtime).toEqual({ userAgent: "Cloudflare-Workers", process: "undefined", Buffer: "undefined" });
    for (const failed of listing.loadErrors) rethrow(failed.error);
    expect(listing.cases.length).toBeGreaterThan(20);
  });

  it("reaches the bridge from inside workerd", async () => {
    const before = bridge.requests.length;
    const result = await call<{ ok: boolean; error?: SerializedError }>("/run", {
      file: listing.cases[0]!.file,
      name: listing.cases[0]!.name,
    });
    if (!result.ok) rethrow(result.error!);
    expect(bridge.requests.length).toBeGreaterThan(before);
  });

  for (const { file, name } of listing.cases) {
    it(name, async () => {
      const result = await call<{ ok: boolean; error?: SerializedError }>("/run", { file, name });
      if (!result.ok) rethrow(result.error!);
    });
  }
});

describe("the Upstash adapter's own bundle", () => {
  it("imports no node: module, only the adapter, the shared Redis layer, the core and jose", async () => {
    const { metafile } = await build({
      ...workerBuild,
      entryPoints: [fileURLToPath(new URL("../../adapters/upstash/index.ts", import.meta.url))],
      write: false,
      metafile: true,
    });
    const inputs = Object.keys(metafile!.inputs);
    const imports = Object.values(metafile!.inputs).flatMap((input) => input.imports.map((i) => i.path));
    expect(imports.filter((path) => path.startsWith("node:"))).toEqual([]);
    const outside = inputs.filter((path) => !/^(adapters\/(upstash|redis)|src)\/|^node_modules\/jose\//.test(path));
    expect(outside, `bundled from ${root}`).toEqual([]);
    expect(inputs).toContain("adapters/upstash/index.ts");
  });
});
