import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { createSessions } from "../../src/index.ts";
import { memoryStore } from "../../adapters/memory/index.ts";

const run = promisify(execFile);
const cli = "dist/cli.js";

async function cloakroom(...args: string[]) {
  return run(process.execPath, [cli, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

beforeAll(async () => {
  if (!existsSync(cli)) await run("node_modules/.bin/tsup", ["--silent", "--no-dts"]);
});

describe("npx cloakroom keygen", () => {
  it("prints a key entry that createSessions accepts", async () => {
    const { code, stdout } = await cloakroom("keygen", "2026-11");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^2026-11:[A-Za-z0-9_-]{43}\n$/);
    expect(() => createSessions({ store: memoryStore(), keys: stdout.trim() })).not.toThrow();
  });

  it("defaults the id to today's date", async () => {
    const { stdout } = await cloakroom("keygen");
    expect(stdout).toMatch(new RegExp(`^${new Date().toISOString().slice(0, 10)}:[A-Za-z0-9_-]{43}\\n$`));
  });

  it("refuses a bad id and unknown commands, with the usage", async () => {
    const bad = await cloakroom("keygen", "no:colons");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("must be 1-64 characters");
    const unknown = await cloakroom("frobnicate");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Usage: cloakroom keygen [id]");
    const help = await cloakroom("--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("To rotate");
  });
});
