/**
 * `npx cloakroom drill` as a process against a Sentinel deployment this file starts (primary,
 * replica, three sentinels): it asks first, fails the primary over under load and prints the
 * drill's figures with every goal met; it refuses without a confirmation and says so in one
 * line when the sentinels cannot be reached.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSentinelGroup, type SentinelGroup } from "../support/redis-sentinel.ts";
import { freePort, keysUnderPrefix } from "./cli-drill-support.ts";
import { buildCli, cloakroom } from "../node/cli-process.ts";

let group: SentinelGroup;
let sentinels: string;

beforeAll(async () => {
  [group] = await Promise.all([startSentinelGroup({ downAfterMs: 1000, failoverTimeoutMs: 5000 }), buildCli()]);
  sentinels = group.sentinelAddresses.map((a) => `${a.host}:${a.port}`).join(",");
});

afterAll(async () => {
  await group?.stop();
});

describe("npx cloakroom drill", () => {
  it("does nothing unless confirmed", async () => {
    const before = await group.primaryAddress();
    const run = await cloakroom(["drill", "--sentinels", sentinels, "--name", group.name], {}, "no\n");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`This fails over master "${group.name}"`);
    expect(run.stderr).toContain("cloakroom drill: not confirmed, nothing was done (pass --yes to skip the question).");
    expect(await group.primaryAddress()).toEqual(before);
  });

  it("fails the primary over under load and prints the drill's figures, every goal met", async () => {
    const before = await group.primaryAddress();
    // The answer on stdin, as an operator types it; the sentinels from the environment.
    const run = await cloakroom(["drill", "--visitors", "20", "--warm", "500", "--after", "1500"], { REDIS_SENTINELS: sentinels, REDIS_SENTINEL_NAME: group.name }, "yes\n");
    expect(run.stderr).toMatch(/master "cloakroom" at 127\.0\.0\.1:\d+, 1 healthy replica\(s\), quorum ok/);
    expect(run.stderr).toMatch(/new primary 127\.0\.0\.1:\d+ after [\d.]+ s/);
    const lines = run.stdout.split("\n");
    expect(lines[0]).toMatch(/^scenario +1st write +last fail +reads ✗ +writes ✗ +lost +logouts +5xx +stale +store back +requests$/);
    const cells = lines[1]!.replace("SENTINEL FAILOVER", "").trim().split(/ {2,}/);
    expect(cells).toHaveLength(10);
    // lost, logouts and stale: the zeros a failover must keep.
    expect([cells[4], cells[5], cells[7]]).toEqual(["0", "0", "0"]);
    expect(run.stdout).toContain("  met     0 sessions lost: 0");
    expect(run.stdout).not.toContain("MISSED");
    expect(run.code).toBe(0);
    expect(await group.primaryAddress()).not.toEqual(before);
    // Nothing of the drill is left behind.
    expect(await keysUnderPrefix(await group.primaryAddress(), "cloakroom-drill:")).toEqual([]);
  });

  it("says in one line, exit 2, when the sentinels cannot be reached; 64 for bad input", async () => {
    const nobody = `127.0.0.1:${await freePort()}`;
    const down = await cloakroom("drill", "--sentinels", nobody, "--name", "mymaster", "--yes");
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/^cloakroom drill: no sentinel answered SENTINEL GET-MASTER-ADDR-BY-NAME for "mymaster".*; check --sentinels, --name and REDIS_SENTINEL_PASSWORD\.\n$/);
    expect(await cloakroom("drill", "--name", "x")).toMatchObject({ code: 64, stderr: expect.stringContaining("--sentinels host:port") });
    expect(await cloakroom("drill", "--sentinels", "nohost", "--name", "x")).toMatchObject({ code: 64, stderr: expect.stringContaining("--sentinels must be host:port pairs") });
  });
});
