/**
 * `npm test` brings the Debian packages its tests need (scripts/system-deps.ts): as root with
 * apt-get it installs the missing ones; otherwise it stops before any test with one line naming
 * the command. Checked with stand-in packages and a recording `run`, so nothing is installed.
 */
import { describe, expect, it } from "vitest";
import { ensureSystemPackages, systemPackages } from "../../scripts/system-deps.ts";

function fakePackages(present: Record<string, boolean>) {
  return Object.keys(present).map((name) => ({ name, present: () => present[name]!, why: `${name} is needed` }));
}

describe("npm test's system packages", () => {
  it("lists what the browser, Redis and Postgres tests need", () => {
    expect(systemPackages.map((p) => p.name)).toEqual(expect.arrayContaining(["chromium", "libnss3-tools", "openssl", "redis-server", "postgresql"]));
  });

  it("does nothing when everything is present", () => {
    const calls: string[][] = [];
    expect(ensureSystemPackages({ packages: fakePackages({ a: true }), isRoot: true, hasApt: true, run: (c, a) => (calls.push([c, ...a]), 0) })).toBeNull();
    expect(calls).toEqual([]);
  });

  it("installs what is missing with apt-get when it runs as root", () => {
    const present = { chromium: false, "redis-server": true };
    const calls: string[][] = [];
    const run = (command: string, args: string[]) => {
      calls.push([command, ...args]);
      if (args[0] === "install") present.chromium = true;
      return 0;
    };
    expect(ensureSystemPackages({ packages: fakePackages(present), isRoot: true, hasApt: true, run, log: () => {} })).toBeNull();
    expect(calls).toEqual([["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]]);
  });

  it("stops with one line naming the command when it cannot install", () => {
    const line = ensureSystemPackages({ packages: fakePackages({ chromium: false, postgresql: false }), isRoot: false, hasApt: true, run: () => { throw new Error("must not run"); } });
    expect(line).toMatch(/^npm test needs the Debian packages chromium, postgresql .*run `sudo apt-get install -y chromium postgresql`, then npm test again\.$/);
    expect(line).not.toContain("\n");
  });

  it("says so when apt-get fails", () => {
    const line = ensureSystemPackages({ packages: fakePackages({ chromium: false }), isRoot: true, hasApt: true, run: () => 100, log: () => {} });
    expect(line).toMatch(/could not install chromium with apt-get; run `apt-get install -y chromium`/);
  });
});
