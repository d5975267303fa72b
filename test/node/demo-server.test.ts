/**
 * The demo as a user runs it: `node examples/hono-node/server.ts` in a child process, with
 * `cloakroom` resolving to the built package, spoken to over real HTTP. Every child is
 * started here and stopped by its own PID.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateKey } from "cloakroom";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisProcess, type RedisProcess } from "../support/redis-server.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const SERVER = "examples/hono-node/server.ts";
const BUILT = ["dist/index.js", "dist/hono.js", "dist/env.js", "dist/adapters/memory.js", "dist/adapters/ioredis.js"];

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: Run[] = [];

/** A port nobody listens on right now: the OS picks it, we release it for the server. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function startServer(env: Record<string, string | undefined>): Run {
  const childEnv: Record<string, string | undefined> = { ...process.env, NODE_OPTIONS: undefined, SESSION_KEYS: undefined, ...env };
  for (const [name, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[name];
  const child = spawn(process.execPath, [SERVER], { cwd: root, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  const run: Run = {
    child,
    stdout: "",
    stderr: "",
    exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
  };
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (run.stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (run.stderr += chunk));
  started.push(run);
  return run;
}

/** Resolves once the server says it listens; rejects with its stderr if it exits first. */
function listening(run: Run): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (run.stdout.includes("cloakroom demo: open")) resolve();
    };
    run.child.stdout!.on("data", check);
    check();
    void run.exited.then(({ code }) => reject(new Error(`the server exited with ${code} before listening:\n${run.stderr}`)));
  });
}

function isRunning(run: Run): boolean {
  return run.child.exitCode === null && run.child.signalCode === null;
}

beforeAll(() => {
  // The test runner builds before vitest; this keeps the file runnable on its own.
  if (BUILT.every((file) => existsSync(join(root, file)))) return;
  const build = spawnSync(join(root, "node_modules/.bin/tsup"), ["--silent", "--no-dts"], { cwd: root, stdio: "inherit" });
  expect(build.status).toBe(0);
});

afterAll(async () => {
  for (const run of started) {
    if (isRunning(run)) {
      process.kill(run.child.pid!, "SIGKILL");
      await run.exited;
    }
  }
});

describe("demo server over real HTTP", () => {
  let run: Run;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    run = startServer({ PORT: String(port), NODE_ENV: "development" });
    await listening(run);
  });

  afterAll(async () => {
    if (run && isRunning(run)) {
      process.kill(run.child.pid!, "SIGTERM");
      await run.exited;
    }
  });

  it("prints the URL and the store it chose, and warns on stderr that a throwaway key is in use", () => {
    const port = new URL(base).port;
    expect(run.stdout).toContain(`http://localhost:${port}`);
    // storeFromEnv's one line (cloakroom/env): nothing is set, so memory.
    expect(run.stdout).toContain("cloakroom: sessions in memory (this process only");
    expect(run.stderr).toContain("SESSION_KEYS");
    expect(run.stderr).toContain("npx cloakroom keygen");
    // One line, and nothing from the key itself.
    expect(run.stderr.split("\n").filter((line) => line.includes("SESSION_KEYS"))).toHaveLength(1);
    expect(run.stderr).not.toMatch(/ephemeral:/);
  });

  it("serves the page", async () => {
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await response.text()).toContain("cloakroom demo");
  });

  it("signs in and counts", async () => {
    const login = await fetch(`${base}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user: "alice" }),
    });
    expect(login.status).toBe(200);
    const { user, session } = (await login.json()) as { user: string; session: string };
    expect(user).toBe("alice");
    const [setCookie] = login.headers.getSetCookie();
    expect(setCookie).toMatch(/^__Host-session=[^;]+;/);
    for (const attribute of [/;\s*HttpOnly/i, /;\s*Secure/i, /;\s*SameSite=Lax/i, /;\s*Path=\//i]) expect(setCookie).toMatch(attribute);
    const cookie = setCookie!.split(";")[0]!;

    for (const expected of [1, 2]) {
      const count = await fetch(`${base}/count`, { method: "POST", headers: { cookie } });
      expect(count.status).toBe(200);
      expect(await count.json()).toEqual({ count: expected });
    }
    const me = await fetch(`${base}/me`, { headers: { cookie } });
    expect(await me.json()).toEqual({ user: "alice", count: 2, session });
    expect((await fetch(`${base}/me`)).status).toBe(401);
  });

  it("answers /health", async () => {
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ok" });
  });

  it("stops on SIGTERM and exits 0", async () => {
    process.kill(run.child.pid!, "SIGTERM");
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.stdout).toContain("SIGTERM");
  });
});

describe("two demo processes on one Redis", () => {
  let redis: RedisProcess;
  const keys = generateKey("demo");

  beforeAll(async () => {
    redis = await startRedisProcess();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  async function demo(port: number): Promise<{ run: Run; base: string }> {
    const run = startServer({ PORT: String(port), SESSION_KEYS: keys, REDIS_URL: redis.url, NODE_ENV: "development" });
    await listening(run);
    return { run, base: `http://127.0.0.1:${port}` };
  }

  async function stop(run: Run): Promise<void> {
    process.kill(run.child.pid!, "SIGTERM");
    expect((await run.exited).code).toBe(0);
  }

  it("share sessions, and a session survives a restart of the demo", async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const a = await demo(portA);
    const b = await demo(portB);
    expect(a.run.stdout).toContain("(REDIS_URL)");
    const login = await fetch(`${a.base}/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user: "rita" }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.getSetCookie()[0]!.split(";")[0]!;
    // Signed in on A, counted on B, read on A.
    expect(await (await fetch(`${b.base}/count`, { method: "POST", headers: { cookie } })).json()).toEqual({ count: 1 });
    expect(await (await fetch(`${a.base}/me`, { headers: { cookie } })).json()).toMatchObject({ user: "rita", count: 1 });

    await stop(a.run);
    await stop(b.run);
    const again = await demo(portA);
    expect(await (await fetch(`${again.base}/me`, { headers: { cookie } })).json()).toMatchObject({ user: "rita", count: 1 });
    await stop(again.run);
  });
});

describe("demo server refuses to start", () => {
  it("in production without SESSION_KEYS: exit 1 and how to make a key", async () => {
    const run = startServer({ PORT: String(await freePort()), NODE_ENV: "production" });
    expect((await run.exited).code).toBe(1);
    expect(run.stderr).toContain("SESSION_KEYS");
    expect(run.stderr).toContain("npx cloakroom keygen");
    expect(run.stdout).not.toContain("cloakroom demo: open");
  });

  it("with a malformed SESSION_KEYS: exit 1, the entry named, no secret printed", async () => {
    const good = generateKey("k1");
    const secret = good.slice(good.indexOf(":") + 1);
    const run = startServer({ PORT: String(await freePort()), SESSION_KEYS: `${good},NotAKeyButASecretPhrase` });
    expect((await run.exited).code).toBe(1);
    expect(run.stderr).toContain("entry 2");
    expect(run.stderr).not.toContain("NotAKeyButASecretPhrase");
    expect(run.stderr).not.toContain(secret);
  });

  it("with a weak key in SESSION_KEYS: exit 1, the key named by id, no secret printed", async () => {
    const weak = "c2hvcnQtc2VjcmV0";
    const run = startServer({ PORT: String(await freePort()), SESSION_KEYS: `weak:${weak}` });
    expect((await run.exited).code).toBe(1);
    expect(run.stderr).toContain('"weak"');
    expect(run.stderr).toContain("npx cloakroom keygen");
    expect(run.stderr).not.toContain(weak);
  });

  it("with a timeout that is not a number: exit 1, the variable named", async () => {
    const run = startServer({ PORT: String(await freePort()), SESSION_IDLE_TIMEOUT: "30m" });
    expect((await run.exited).code).toBe(1);
    expect(run.stderr).toContain("SESSION_IDLE_TIMEOUT");
  });
});
