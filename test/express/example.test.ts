/**
 * examples/express over real HTTP: its routes in process on a free port, then its server as a
 * user runs it (`node examples/express/server.ts`, the built package) in a child process,
 * taking over a signed-in express-session visitor from a redis-server this file starts. Every
 * child and server is stopped by its own PID.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sign } from "cookie-signature";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSessions, generateKey } from "cloakroom";
import { memoryStore } from "cloakroom/adapters/memory";
import { createExampleApp } from "../../examples/express/app.ts";
import { freePort, startRedisProcess, type RedisProcess } from "../support/redis-server.ts";
import { CookieJar, serve, type Served } from "./support.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const BUILT = ["dist/index.js", "dist/express.js", "dist/express-session.js", "dist/env.js", "dist/adapters/memory.js"];

describe("examples/express routes", () => {
  let served: Served;
  beforeAll(async () => {
    const sessions = createSessions({ store: memoryStore(), keys: generateKey("k1"), cookie: { name: "session", secure: false } });
    served = await serve(createExampleApp(sessions, { loginLimit: 2 }));
  });
  afterAll(() => served?.close());

  it("signs in, counts, refuses other origins, signs out, and limits sign-in attempts", async () => {
    const jar = new CookieJar();
    const post = (path: string, body?: object, headers: Record<string, string> = {}) =>
      jar.fetch(`${served.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body ?? {}) });
    expect(await (await jar.fetch(`${served.url}/me`)).json()).toEqual({ user: null, count: 0, session: null });
    expect((await post("/count")).status).toBe(401);
    expect((await post("/login", { user: "a b" })).status).toBe(400);
    const login = await (await post("/login", { user: "ada" })).json();
    expect(login).toEqual({ user: "ada", session: expect.stringMatching(/^[\w-]{4}\.[\w-]{43}$/) });
    expect(await (await post("/count")).json()).toEqual({ count: 1 });
    expect((await post("/count", {}, { origin: "https://evil.test" })).status).toBe(403);
    expect(await (await jar.fetch(`${served.url}/me`)).json()).toEqual({ user: "ada", count: 1, session: login.session });
    expect((await post("/logout")).status).toBe(204);
    expect([...jar.cookies.keys()]).toEqual([]);
    expect((await post("/login", { user: "ada" })).status).toBe(429);
  });
});

describe("examples/express server, adopting express-session's visitors", () => {
  let redis: RedisProcess;
  let child: ChildProcess | undefined;
  let output = "";

  beforeAll(async () => {
    // The test runner builds first; this keeps the file runnable on its own.
    if (!BUILT.every((file) => existsSync(join(root, file)))) {
      expect(spawnSync(join(root, "node_modules/.bin/tsup"), ["--silent", "--no-dts"], { cwd: root, stdio: "inherit" }).status).toBe(0);
    }
    redis = await startRedisProcess();
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once("exit", resolve));
      process.kill(child.pid!, "SIGKILL");
      await exited;
    }
    await redis?.stop();
  });

  it("keeps a visitor signed in across the switch", async () => {
    const admin = new Redis(redis.url);
    // What connect-redis wrote for a signed-in visitor (its default "sess:" layout).
    await admin.set("sess:legacy-id", JSON.stringify({ cookie: { expires: null, path: "/" }, account: { id: "grace" } }));
    const port = await freePort();
    const env = { PATH: process.env.PATH ?? "", PORT: String(port), SESSION_COOKIE_SECURE: "false", EXPRESS_SESSION_SECRET: "legacy-secret", EXPRESS_SESSION_STORE: redis.url, EXPRESS_SESSION_USER_FIELD: "account.id" };
    child = spawn(process.execPath, ["examples/express/server.ts"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    await new Promise<void>((resolve, reject) => {
      const seen = (chunk: string) => ((output += chunk), output.includes("listening on") && resolve());
      child!.stdout!.setEncoding("utf8").on("data", seen);
      child!.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
      child!.once("exit", (code) => reject(new Error(`the example exited with ${code}:\n${output}`)));
    });
    const jar = new CookieJar();
    jar.cookies.set("connect.sid", encodeURIComponent(`s:${sign("legacy-id", "legacy-secret")}`));
    expect(await (await jar.fetch(`http://127.0.0.1:${port}/me`)).json()).toMatchObject({ user: "grace" });
    expect([...jar.cookies.keys()]).toEqual(["session"]);
    expect(await admin.exists("sess:legacy-id")).toBe(0);
    expect(await (await jar.fetch(`http://127.0.0.1:${port}/me`)).json()).toMatchObject({ user: "grace" });
    admin.disconnect();
  });
});
