/**
 * The test harness itself.
 *
 * The throwaway servers the test harness starts must not outlive a test process that is
 * terminated before its afterAll (vitest's pool ending a worker, a cancelled CI job, Ctrl-C):
 * on SIGTERM and SIGINT the harness stops them by PID and removes their directories, then the
 * process ends by the signal as it would have. A SIGKILL cannot be handled (see
 * test/support/process-cleanup.ts). The process under test is test/support/harness-child.ts,
 * run by this Node (which strips the types itself).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { RedisSessionStore } from "../../adapters/redis/store.ts";
import { keyLayout } from "../../adapters/redis/keys.ts";
import { redisBackend } from "../support/redis-backend.ts";

const CHILD = fileURLToPath(new URL("../support/harness-child.ts", import.meta.url));

interface Started {
  kind: string;
  pid: number;
  dir: string;
}

/** Whether `pid` is a live process (a zombie nobody has reaped yet counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}

async function gone(pid: number, timeoutMs = 15_000): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !alive(pid);
}

/** Starts the child with servers of `kinds`, and resolves once they all answer. */
function startChild(kinds: string[]) {
  // DATABASE_URL empty: the child starts its own PostgreSQL, never touches a shared one.
  const child = spawn(process.execPath, [CHILD, ...kinds], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DATABASE_URL: "" } });
  let output = "";
  const ready = new Promise<Started[]>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (/^ready$/m.test(output)) resolve(output.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Started));
    });
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code, signal) => reject(new Error(`harness-child exited early (${code ?? signal}):\n${output}`)));
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code)));
  return { child, ready, exited };
}

describe("test harness: servers stop with a test process that is terminated", () => {
  const cases: Array<[NodeJS.Signals, string[]]> = [
    ["SIGTERM", ["redis", "postgres"]],
    ["SIGINT", ["redis"]],
  ];
  for (const [signal, kinds] of cases) {
    it(`${signal} stops ${kinds.join(" and ")} by PID and removes their directories, then ends the process by ${signal}`, async () => {
      const { child, ready, exited } = startChild(kinds);
      let servers: Started[] = [];
      try {
        servers = await ready;
        expect(servers.map((server) => server.kind)).toEqual(kinds);
        for (const server of servers) {
          expect(alive(server.pid), server.kind).toBe(true);
          expect(existsSync(server.dir), server.kind).toBe(true);
        }
        child.kill(signal);
        expect(await exited).toBe(signal);
        for (const server of servers) {
          expect(await gone(server.pid), `${server.kind} (PID ${server.pid}) still running`).toBe(true);
          expect(existsSync(server.dir), server.dir).toBe(false);
        }
      } finally {
        // Whatever failed above, nothing this test started stays behind.
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        for (const server of servers) {
          if (alive(server.pid)) process.kill(server.pid, "SIGKILL");
          rmSync(server.dir, { recursive: true, force: true });
        }
      }
    }, 120_000);
  }
});

describe("test harness: the Redis conformance backend", () => {
  it("leaves out a key that expired between SCAN and PEXPIRETIME instead of reporting it as never expiring", async () => {
    // PEXPIRETIME answers -2 for a key that is gone, -1 for one without an expiry.
    const expiries: Record<string, number> = { "p:gone": -2, "p:forever": -1, "p:timed": 1_900_000_000_000 };
    const server = {
      scan: async () => ["0", Object.keys(expiries)],
      pexpiretime: async (key: string) => expiries[key],
    };
    const backend = redisBackend({ client: server as never, servers: () => [server as never] });
    const store = { keys: keyLayout("p:") } as RedisSessionStore;
    expect(await backend.everything(store)).toEqual([
      { key: "p:forever", expiresAt: null },
      { key: "p:timed", expiresAt: 1_900_000_000_000 },
    ]);
  });
});
