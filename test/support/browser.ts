/**
 * What the browser tests share: Debian's Chromium (never a downloaded browser) with the flags
 * this machine needs, a build of dist/ when a file runs on its own, and an example server
 * started as a child process on a free port and stopped by its PID.
 *
 * Test harness only; not part of the package.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";
import { generateKey } from "../../src/index.ts";
import { freePort } from "./redis-server.ts";

export const root = fileURLToPath(new URL("../../", import.meta.url));
export const CHROMIUM = "/usr/bin/chromium";
/** toolchain notes, row 12: headless Debian Chromium as root, with nothing reaching out to the network. */
export const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** Fails with the package to install when a system tool is missing (npm test installs them as root). */
export function requireTools(tools: ReadonlyArray<readonly [path: string, debianPackage: string]> = [[CHROMIUM, "chromium"]]): void {
  for (const [tool, from] of tools) {
    if (!existsSync(tool)) {
      throw new Error(`cloakroom tests: ${tool} was not found; apt-get install -y ${from} (npm test installs it when run as root). Never \`playwright install\`: the tests use the system browser.`);
    }
  }
}

/** scripts/test.mjs builds first; this keeps a browser test file runnable on its own. */
export function ensureBuilt(files: readonly string[]): void {
  if (files.every((file) => existsSync(join(root, file)))) return;
  const build = spawnSync(join(root, "node_modules/.bin/tsup"), ["--silent", "--no-dts"], { cwd: root, stdio: "inherit" });
  expect(build.status).toBe(0);
}

export interface ExampleServer {
  /** Everything it printed so far. */
  output(): string;
  /** Stops it by PID and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts `node <script>` in the repository with exactly `env` (and PATH): no store variable
 * from the caller's shell, so an example runs on memory unless told otherwise. Resolves once it
 * printed `ready`; rejects with its output if it exits first.
 */
export async function startExample(script: string, env: Record<string, string>, ready: string): Promise<ExampleServer> {
  const child = spawn(process.execPath, [script], { cwd: root, env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", () => output.includes(ready) && resolve());
    void exited.then((code) => reject(new Error(`${script} exited with ${code} before listening:\n${output}`)));
  });
  return {
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid!, "SIGTERM");
        await exited;
      }
    },
  };
}

/**
 * Registers the file's beforeAll/afterAll: builds what `built` lists if missing, starts the
 * example on a free port at http://localhost (a secure context, so `__Host-` cookies work over
 * plain http) on memory with a fresh key, and launches Chromium. Read `base` and `browser`
 * inside tests, once beforeAll has run.
 */
export function exampleInBrowser(script: string, built: readonly string[], ready: string): { readonly base: string; readonly browser: Browser } {
  let server: ExampleServer | undefined;
  let browser: Browser | undefined;
  let base = "";
  beforeAll(async () => {
    requireTools();
    ensureBuilt(built);
    const port = await freePort();
    base = `http://localhost:${port}`;
    server = await startExample(script, { PORT: String(port), NODE_ENV: "development", SESSION_KEYS: generateKey("k1") }, ready);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });
  return {
    get base() { return base; },
    get browser() { return browser!; },
  };
}
