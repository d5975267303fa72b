/**
 * `node test/deno/run.ts <junit-path>`: the Deno runner of scripts/test.mjs. Bundles the suites
 * (bundle.ts), starts a redis-server and the Upstash REST bridge (Node harness code), runs
 * `deno test` on cases.test.ts with the bridge's URL and token in its environment and
 * permissions limited to what the cases use, then stops the bridge and the server by PID.
 * Exits with deno's exit code; the JUnit report is the count.
 */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startStandaloneRedis } from "../support/redis-server.ts";
import { startUpstashBridge } from "../support/upstash-bridge.ts";
import { bundleForDeno } from "./bundle.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const junitPath = resolve(process.argv[2] ?? join(root, ".reports", "deno.xml"));
const bundles = join(root, ".reports", "deno");
mkdirSync(bundles, { recursive: true });
await bundleForDeno(bundles);

const redis = await startStandaloneRedis();
let code: number | null = 1;
try {
  const bridge = await startUpstashBridge({ redisPort: redis.port });
  try {
    // Async spawn, not spawnSync: the bridge answers Deno's requests from this process's event loop.
    const deno = spawn(
      "deno",
      [
        "test",
        "--reporter=dot", // one character per case; failures still print in full
        `--junit-path=${junitPath}`,
        "--no-prompt",
        `--allow-read=${bundles}`,
        "--allow-net=127.0.0.1",
        // The bundles' variables, and the colour switches @vitest/expect's diff printer (tinyrainbow) reads.
        "--allow-env=CLOAKROOM_DENO_BUNDLES,UPSTASH_REDIS_REST_URL,UPSTASH_REDIS_REST_TOKEN,FORCE_TTY,NO_COLOR,FORCE_COLOR,TERM,CI",
        join(root, "test", "deno", "cases.test.ts"),
      ],
      {
        cwd: root,
        stdio: "inherit",
        env: {
          ...process.env,
          CLOAKROOM_DENO_BUNDLES: bundles,
          UPSTASH_REDIS_REST_URL: bridge.url,
          UPSTASH_REDIS_REST_TOKEN: bridge.token,
          NO_COLOR: process.env.NO_COLOR ?? (process.stdout.isTTY ? "" : "1"),
        },
      },
    );
    code = await new Promise<number | null>((done, fail) => {
      deno.once("error", fail);
      deno.once("exit", (exitCode) => done(exitCode));
    });
  } finally {
    await bridge.close();
  }
} finally {
  await redis.stop();
}
process.exitCode = code ?? 1;
