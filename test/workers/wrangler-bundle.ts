/**
 * The Workers example as CI and the bench see it: bundled by wrangler itself
 * (`wrangler deploy --dry-run`, reading the top-level wrangler.toml), so what runs in workerd is
 * what `wrangler deploy` would upload, not a bundle of our own making.
 *
 * Test and bench harness only; not part of the package.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

export const root = fileURLToPath(new URL("../..", import.meta.url));

export interface WranglerBundle {
  /** Absolute path of the Worker module wrangler wrote. */
  script: string;
  /** Bytes of the module as uploaded, and gzipped (level 9). */
  raw: number;
  gzip: number;
  /** What wrangler printed (its "Total Upload" line included). */
  output: string;
  /** Paths of every input esbuild bundled, as its metafile lists them. */
  inputs: string[];
  /** Import specifiers left external in the bundle (esbuild's metafile). */
  externalImports: string[];
}

/** The settings of wrangler.toml the tests check and hand to Miniflare. */
export interface WorkerSettings {
  main: string;
  compatibilityDate: string;
  compatibilityFlags: string[];
}

/**
 * Reads the few top-level keys we need. Not a TOML parser (none is installed and wrangler's own
 * is internal): it takes `key = "string"` and `key = ["a", "b"]` lines before the first table,
 * which is all this file uses; anything else fails loudly below.
 */
export function readWranglerToml(): WorkerSettings {
  const text = readFileSync(join(root, "wrangler.toml"), "utf8");
  const top = text.split(/^\[/m)[0]!.replace(/#.*$/gm, "");
  const string = (key: string) => new RegExp(`^${key}\\s*=\\s*"([^"]*)"`, "m").exec(top)?.[1];
  const list = (key: string) => {
    const raw = new RegExp(`^${key}\\s*=\\s*\\[([^\\]]*)\\]`, "m").exec(top)?.[1];
    return raw === undefined ? [] : [...raw.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
  };
  const main = string("main");
  const compatibilityDate = string("compatibility_date");
  if (!main || !compatibilityDate) throw new Error("wrangler.toml: main and compatibility_date must be set as quoted strings");
  return { main, compatibilityDate, compatibilityFlags: list("compatibility_flags") };
}

/** `wrangler deploy --dry-run --outdir <outdir>` at the repo root; throws with wrangler's output on failure. */
export function bundleWithWrangler(outdir: string): WranglerBundle {
  const metafile = join(outdir, "bundle-meta.json");
  const run = spawnSync("wrangler", ["deploy", "--dry-run", "--outdir", outdir, "--metafile", metafile], {
    cwd: root,
    encoding: "utf8",
    env: {
      ...process.env,
      // node_modules/.bin first: wrangler needs Node >= 22, which the `node` dev dependency gives.
      PATH: [join(root, "node_modules", ".bin"), process.env.PATH].join(delimiter),
      WRANGLER_SEND_METRICS: "false",
      // Its logs go to ~/.config/.wrangler unless told otherwise; keep them with the bundle.
      WRANGLER_LOG_PATH: join(outdir, "logs"),
      CI: "true",
    },
  });
  const output = `${run.stdout ?? ""}${run.stderr ?? ""}`;
  if (run.error) throw new Error(`wrangler could not be started: ${run.error.message}`);
  if (run.status !== 0 || !output.includes("--dry-run: exiting now")) {
    throw new Error(`wrangler deploy --dry-run failed (exit ${run.status}):\n${output}`);
  }
  const script = join(outdir, "index.js");
  if (!existsSync(script)) throw new Error(`wrangler deploy --dry-run wrote no ${script}:\n${output}`);
  const code = readFileSync(script);
  const meta = JSON.parse(readFileSync(metafile, "utf8")) as {
    inputs: Record<string, { imports: { path: string; external?: boolean }[] }>;
  };
  const externalImports = [
    ...new Set(Object.values(meta.inputs).flatMap((input) => input.imports.filter((i) => i.external).map((i) => i.path))),
  ];
  return { script, raw: code.length, gzip: gzipSync(code, { level: 9 }).length, output, inputs: Object.keys(meta.inputs), externalImports };
}

const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/** Node built-ins a bundle imports or had bundled in (a polyfill layer such as unenv counts too). */
export function nodeBuiltinsIn(bundle: WranglerBundle): string[] {
  const imported = bundle.externalImports.filter((path) => NODE_BUILTINS.has(path) || path.startsWith("node:"));
  const polyfilled = bundle.inputs.filter((path) => /(^|\/)(unenv|@cloudflare\/unenv-preset)\//.test(path) || path.startsWith("node:"));
  const code = readFileSync(bundle.script, "utf8");
  // A `node:` specifier left in the code itself (an import, a require, a dynamic import).
  const inCode = [...code.matchAll(/(?:from\s*|import\s*\(\s*|require\s*\(\s*)["'](node:[\w/]+)["']/g)].map((m) => m[1]!);
  return [...new Set([...imported, ...polyfilled, ...inCode])];
}

export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
