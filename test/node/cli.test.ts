/**
 * The CLI as a user runs it: `node dist/cli.js ...` in a child process (the package's bin), its
 * output and exit code. Commands that need no server are here; health, cleanup and migrate run
 * against servers in test/node/cli-stores.test.ts, the drill in test/redis/cli-drill.test.ts.
 */
import { existsSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { createSessions } from "../../src/index.ts";
import { memoryStore } from "../../adapters/memory/index.ts";
import { freePort } from "../support/redis-server.ts";
import { buildCli, cloakroom } from "./cli-process.ts";

/** A port nothing listens on: a database that cannot be reached, so the URL is printed. */
let deadPort: number;
beforeAll(async () => {
  [deadPort] = await Promise.all([freePort(), buildCli()]);
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

  it("refuses a bad id and unknown commands, each in one line with an exit code", async () => {
    const bad = await cloakroom("keygen", "no:colons");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^cloakroom keygen: .*must be 1-64 characters.*\n$/);
    const unknown = await cloakroom("frobnicate");
    expect(unknown).toMatchObject({ code: 64, stdout: "" });
    expect(unknown.stderr).toBe('cloakroom: unknown command "frobnicate"; cloakroom --help lists the commands.\n');
    expect((await cloakroom("keys", "chek")).stderr).toContain("did you mean cloakroom keys check?");
    expect(await cloakroom("keygen", "--bogus")).toMatchObject({ code: 64, stderr: "cloakroom keygen: Unknown option '--bogus'; see cloakroom keygen --help.\n" });
  });
});

describe("passwords in what the CLI prints", () => {
  const PASSWORD = "pw-4e1d9b0c7a";
  const printed = (run: { stdout: string; stderr: string }) => run.stdout + run.stderr;

  it("masks a Postgres ?password= query parameter, long or short, in the text and the JSON report", async () => {
    for (const password of [PASSWORD, "ab"]) {
      const url = `postgres://app@127.0.0.1:${deadPort}/db?sslmode=disable&password=${password}&application_name=cli`;
      const [text, json] = await Promise.all([cloakroom("health", "--store", url), cloakroom("health", "--json", "--store", url)]);
      for (const run of [text, json]) {
        expect(run.code, password).toBe(2);
        expect(run.stderr).toContain(`postgres://app@127.0.0.1:${deadPort}/db?sslmode=disable&password=***&application_name=cli is down`);
        expect(printed(run)).not.toContain(`password=${password}`);
      }
    }
  });

  it("masks a short password whole, even one holding an @", async () => {
    const run = await cloakroom("health", "--store", `postgres://app:a@b@127.0.0.1:${deadPort}/db`);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`postgres://app:***@127.0.0.1:${deadPort}/db is down`);
    expect(printed(run)).not.toMatch(/a@b|@b@/);
  });

  it("does not echo what is not a URL, a password in it included", async () => {
    for (const [command, option] of [["health", "--store"], ["migrate", "--from"]] as const) {
      for (const password of [PASSWORD, "ab"]) {
        const run = await cloakroom(command, option, `redis//app:${password}@localhost`, ...(command === "migrate" ? ["--to", "memory:"] : []));
        expect(run.code).toBe(64);
        expect(run.stderr).toBe(`cloakroom ${command}: ${option} is not a URL (no scheme://); see --help for the forms a store URL takes.\n`);
      }
    }
  });

  it("masks a short secret where it stands alone, and not inside other words", async () => {
    // The id names the key in the message, and here it is also the (far too short) secret.
    const run = await cloakroom("keys", "check", "--keys", "ke:ke");
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('cloakroom keys check: key "***" has a secret of 1 bytes; a secret must be at least 32 random bytes. Make one with: npx cloakroom keygen\n');
  });
});

describe("every command", () => {
  it("lists the commands and answers --help with its usage and exit 0", async () => {
    const overview = await cloakroom("--help");
    expect(overview.code).toBe(0);
    const names = ["keygen", "keys check", "health", "cleanup", "migrate", "drill"];
    for (const name of names) expect(overview.stdout).toContain(`  ${name.padEnd(12)} `);
    for (const name of names) {
      const help = await cloakroom(...name.split(" "), "--help");
      expect(help, name).toMatchObject({ code: 0, stderr: "" });
      expect(help.stdout, name).toMatch(new RegExp(`^Usage: cloakroom ${name} `));
    }
    expect((await cloakroom("keygen", "--help")).stdout).toContain("To rotate");
    expect((await cloakroom("help", "migrate")).stdout).toMatch(/^Usage: cloakroom migrate /);
    expect((await cloakroom()).code).toBe(64);
  });
});

describe("npx cloakroom keys check", () => {
  const keys = async () => {
    const [a, b, c] = await Promise.all(["2026-12", "2026-11", "2026-10"].map(async (id) => (await cloakroom("keygen", id)).stdout.trim()));
    return { a: a!, b: b!, c: c! };
  };
  const secretsOf = (...entries: string[]) => entries.map((entry) => entry.split(":")[1]!);

  it("says which key seals, which retire and when, and what the next rotation does, without a secret", async () => {
    const { a, b, c } = await keys();
    const list = `${a},${b}@2030-01-01T00:00:00Z,${c}@2020-01-01`;
    const run = await cloakroom(["keys", "check"], { SESSION_KEYS: list, SESSION_ABSOLUTE_TIMEOUT: "86400" });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('3 keys from SESSION_KEYS:');
    expect(run.stdout).toContain('1. "2026-12" seals new tickets and opens them (no end)');
    expect(run.stdout).toContain('2. "2026-11" opens tickets only (until 2030-01-01T00:00:00Z)');
    expect(run.stdout).toContain('3. "2026-10" retired at 2020-01-01T00:00:00Z: opens nothing');
    // The old key must open tickets one absolute timeout (a day here) past the change, a whole day.
    const tomorrow = new Date(Math.ceil((Date.now() + 86_400_000) / 86_400_000) * 86_400_000).toISOString().replace(".000Z", "Z");
    expect(run.stdout).toContain(`keep "2026-12" after it with @${tomorrow} or later`);
    expect(run.stdout).toContain('key "2026-10" retired at 2020-01-01T00:00:00Z: tickets under it read as key-retired; drop it from the list.');
    for (const secret of secretsOf(a, b, c)) expect(run.stdout + run.stderr).not.toContain(secret);
  });

  it("reads --keys over SESSION_KEYS, and explains a staged rotation", async () => {
    const { a, b } = await keys();
    const run = await cloakroom(["keys", "check", "--keys", `${b},${a}`], { SESSION_KEYS: "ignored:x" });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("2 keys from --keys:");
    expect(run.stdout).toContain('key "2026-12" opens but does not seal yet (step 1 of a rolling rotation)');
  });

  it("refuses weak, duplicate, misordered and retired lists with the library's errors, never echoing a secret", async () => {
    const { a, b } = await keys();
    const weak = `${a},short:${"QUJD".repeat(8)}`;
    const cases: Array<[string, RegExp]> = [
      [weak, /key "short" has a secret of 24 bytes; a secret must be at least 32 random bytes/],
      [`${a},${a.replace("2026-12", "2026-11")},${a}`, /key "2026-12" appears twice/],
      [`${b}@2030-01-01,${a}`, /key "2026-11" seals now but retires at 2030-01-01T00:00:00Z, before key "2026-12" listed after it \(no end\)/],
      [`${a}@2020-01-01`, /every key's notAfter has passed/],
      ["garbage", /key entry 1 is not in the form id:secret/],
    ];
    for (const [list, message] of cases) {
      const run = await cloakroom(["keys", "check", "--keys", list]);
      expect(run.code, list).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      for (const secret of secretsOf(...list.split(",").map((entry) => entry.split("@")[0]!)).filter((s) => s && s.length > 8)) {
        expect(run.stderr).not.toContain(secret);
      }
    }
    expect(await cloakroom(["keys", "check"], { SESSION_KEYS: "" })).toMatchObject({ code: 64, stderr: expect.stringContaining("set SESSION_KEYS or pass --keys") });
  });

  it("needs the build", () => {
    expect(existsSync("dist/cli.js")).toBe(true);
  });
});
