/** Runs the built CLI (`dist/cli.js`, the package's bin) as a child process, as a user would. */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";

const run = promisify(execFile);
export const CLI = "dist/cli.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Builds dist/ once when a test file runs before `npm test`'s build (a single-file run). */
export async function buildCli(): Promise<void> {
  if (!existsSync(CLI)) await run("node_modules/.bin/tsup", ["--silent", "--no-dts"]);
}

/**
 * `cloakroom(...args)`, or `cloakroom(args, env, input)`: env replaces the store variables and
 * SESSION_KEYS of this process's environment (so a developer's own never leak in), input goes
 * to stdin.
 */
export async function cloakroom(...call: string[] | [string[], Record<string, string>?, string?]): Promise<CliRun> {
  const [args, env = {}, input] = Array.isArray(call[0]) ? (call as [string[], Record<string, string>?, string?]) : [call as string[], {}, undefined];
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(REDIS_|UPSTASH_|DATABASE_URL$|SESSION_)/.test(name)));
  const child = run(process.execPath, [CLI, ...args], { env: { ...clean, ...env }, timeout: 60_000 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  } else {
    child.child.stdin?.end();
  }
  return child.then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}
