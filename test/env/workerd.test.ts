/**
 * cloakroom/env inside workerd (Miniflare, nodejs_compat off), bundled the way wrangler bundles
 * a Worker: the bundle holds neither ioredis nor pg nor PGlite nor any node: module, the runtime
 * is detected as Cloudflare Workers without being told, Upstash works against the REST bridge
 * and a real redis-server, and Node-only variables are named, not silently dropped.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStandaloneRedis, type RedisProcess } from "../support/redis-server.ts";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.ts";

const refuseNode: Plugin = {
  name: "refuse-node",
  setup(b) {
    b.onResolve({ filter: /^node:/ }, ({ path, importer }) => ({
      errors: [{ text: `${path} imported by ${importer}: workerd runs this without nodejs_compat` }],
    }));
  },
};

// Inside the repo: Miniflare rejects a scriptPath that climbs out with "..".
const scriptPath = fileURLToPath(new URL("../../.reports/workerd-env/worker.js", import.meta.url));
const SECRET = "worker-secret-3c1d";

let server: RedisProcess;
let bridge: UpstashBridge;
let mf: Miniflare | undefined;
let inputs: string[] = [];

beforeAll(async () => {
  server = await startStandaloneRedis();
  bridge = await startUpstashBridge({ redisPort: server.port });
  const { metafile } = await build({
    entryPoints: [fileURLToPath(new URL("./env-worker.ts", import.meta.url))],
    outfile: scriptPath,
    bundle: true,
    format: "esm",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    target: "es2023",
    plugins: [refuseNode],
    metafile: true,
    logLevel: "silent",
  });
  inputs = Object.keys(metafile!.inputs);
  mf = new Miniflare({
    // The module listed as it is, the way wrangler hands its bundle over. With `modules: true`
    // Miniflare walks the imports itself and refuses the import() of a variable that keeps the
    // Node drivers out of the bundle; workerd runs it, and on this path never calls it.
    modules: [{ type: "ESModule", path: scriptPath, contents: readFileSync(scriptPath, "utf8") }],
    compatibilityDate: "2026-07-30",
    compatibilityFlags: [],
    bindings: {
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: bridge.token,
      UPSTASH_DISABLE_TELEMETRY: "1",
      REDIS_URL: `redis://:${SECRET}@127.0.0.1:${server.port}`,
      DATABASE_URL: `postgres://app:${SECRET}@127.0.0.1:5432/app`,
    },
  });
}, 60_000);

afterAll(async () => {
  await mf?.dispose();
  await bridge?.close();
  await server?.stop();
});

interface Answer {
  ok: boolean;
  name?: string;
  visits?: number;
  error?: string;
  logged: { line: string; level: string }[];
}

async function withVars(...vars: string[]): Promise<Answer> {
  const response = await mf!.dispatchFetch(`http://workerd.test/?vars=${vars.join(",")}`);
  return (await response.json()) as Answer;
}

describe("cloakroom/env in workerd", () => {
  it("bundles without ioredis, pg, PGlite or any node: module", () => {
    expect(inputs).toContain("env/index.ts");
    expect(inputs.filter((path) => /node_modules\/(ioredis|pg|pg-[a-z]+|@electric-sql)\//.test(path))).toEqual([]);
  });

  it("runs on Upstash from the Worker's env, one line logged, no token in it", async () => {
    const before = bridge.requests.length;
    const answer = await withVars("UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "UPSTASH_DISABLE_TELEMETRY");
    expect(answer).toMatchObject({ ok: true, name: "upstash", visits: 7, logged: [{ level: "info" }] });
    expect(answer.logged).toHaveLength(1);
    expect(answer.logged[0]!.line).not.toContain(bridge.token);
    expect(bridge.requests.length).toBeGreaterThan(before);
  });

  it("detects Cloudflare Workers by itself and names the Node-only variables it ignores", async () => {
    const answer = await withVars("UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "REDIS_URL", "DATABASE_URL");
    expect(answer).toMatchObject({ ok: true, name: "upstash", visits: 7 });
    expect(answer.logged).toHaveLength(1);
    expect(answer.logged[0]!.level).toBe("warn");
    expect(answer.logged[0]!.line).toMatch(/REDIS_URL and DATABASE_URL ignored: Cloudflare Workers cannot use them/);
    expect(answer.logged[0]!.line).not.toContain(SECRET);
  });

  it("refuses REDIS_URL alone, saying why and what works in a Worker", async () => {
    const answer = await withVars("REDIS_URL");
    expect(answer.ok).toBe(false);
    expect(answer.error).toMatch(/^cloakroom: REDIS_URL is set, but Cloudflare Workers cannot use it: .*UPSTASH_REDIS_REST_URL/);
    expect(answer.error).not.toContain(SECRET);
  });

  it("falls back to memory with nothing set, and warns that isolates share nothing", async () => {
    const answer = await withVars();
    expect(answer).toMatchObject({ ok: true, name: "memory", visits: 7 });
    expect(answer.logged[0]).toMatchObject({ level: "warn", line: expect.stringMatching(/this isolate/) });
  });
});
