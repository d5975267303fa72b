/**
 * The Deno suites as self-contained modules, built the way the workerd ones are: esbuild with
 * the vitest shim, worker/browser conditions and no `node:` import, so Deno runs the cases with
 * no npm resolution of its own. Each module's default export is the runner of
 * test/runtimes/worker.ts (`GET /cases`, `POST /run`), which test/deno/cases.test.ts drives.
 *
 *   shared.js    every test/shared case (core, memory store, Hono, withSession): bundleWorker's output
 *   upstash.js   test/upstash/workerd-cases.ts through test/upstash/upstash-worker.ts (the bridge's
 *                URL and token come in as the Worker's env)
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { bundleWorker } from "../runtimes/bundle-worker.ts";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const refuseNode: Plugin = {
  name: "refuse-node",
  setup(b) {
    b.onResolve({ filter: /^node:/ }, ({ path, importer }) => ({
      errors: [{ text: `${path} imported by ${importer}: the Deno suites are Web-standard and bundled without Node` }],
    }));
  },
};

export interface DenoBundles {
  /** Suite name -> absolute path of its module. */
  suites: Record<"shared" | "upstash", string>;
}

/** Writes both modules into `dir` (absolute). */
export async function bundleForDeno(dir: string): Promise<DenoBundles> {
  const shared = join(dir, "shared.js");
  const upstash = join(dir, "upstash.js");
  await bundleWorker(shared);
  await build({
    entryPoints: [here("../upstash/upstash-worker.ts")],
    outfile: upstash,
    bundle: true,
    format: "esm",
    platform: "browser",
    conditions: ["worker", "browser"],
    target: "es2023",
    alias: { vitest: here("../runtimes/vitest-shim.ts") },
    plugins: [refuseNode],
    sourcemap: true,
    logLevel: "silent",
  });
  return { suites: { shared, upstash } };
}
