/**
 * Bundles every test/shared case file into one Worker module for workerd. The build targets the
 * browser/worker conditions, not Node, and refuses `node:` imports outright: workerd runs without
 * nodejs_compat, so the bundle is proof that src/ and its tests need nothing from Node.
 */
import { globSync, mkdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

const runtimes = dirname(fileURLToPath(import.meta.url));
const root = join(runtimes, "../..");

const noNodeModules: Plugin = {
  name: "no-node-modules",
  setup(b) {
    b.onResolve({ filter: /^node:/ }, ({ path, importer }) => ({
      errors: [{ text: `${path} imported by ${relative(root, importer)}: workerd runs the shared cases without nodejs_compat` }],
    }));
  },
};

/** Case files, relative to the repo root, sorted so the bundle is deterministic. */
function sharedTestFiles(): string[] {
  return globSync("test/shared/**/*.test.ts", { cwd: root }).sort();
}

/** Writes the Worker to `outfile` (absolute) and returns the case files it contains. */
export async function bundleWorker(outfile: string): Promise<string[]> {
  const files = sharedTestFiles();
  const loaders = files.map((file) => `  ${JSON.stringify(file)}: () => import(${JSON.stringify(join(root, file))}),`);
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    stdin: {
      // Lazy imports: esbuild inlines each file behind an init function, so the worker decides when each file's cases register.
      contents: `import { serve } from "./worker.ts";\nexport default serve({\n${loaders.join("\n")}\n});\n`,
      resolveDir: runtimes,
      sourcefile: "worker-entry.ts",
      loader: "ts",
    },
    outfile,
    bundle: true,
    format: "esm",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    target: "es2023",
    alias: { vitest: join(runtimes, "vitest-shim.ts") },
    plugins: [noNodeModules],
    sourcemap: true, // workerd reads it, so stack traces name the .ts files
    logLevel: "silent",
  });
  return files;
}
