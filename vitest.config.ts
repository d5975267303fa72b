import { fileURLToPath } from "node:url";
import { configDefaults, defineConfig } from "vitest/config";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * One Node project. test/shared holds the runtime-agnostic cases (core, memory store, Hono);
 * they also run under Bun (`bun test test/shared`) and in workerd (test/runtimes/workerd.test.ts
 * bundles them into a Worker), so they import only describe/it/expect from "vitest".
 * The package names resolve to the sources here, so examples run against src under test;
 * test/node/package.test.ts checks the built package separately.
 */
export default defineConfig({
  resolve: {
    alias: [
      { find: /^cloakroom$/, replacement: here("./src/index.ts") },
      { find: /^cloakroom\/hono$/, replacement: here("./src/integrations/hono.ts") },
      { find: /^cloakroom\/express$/, replacement: here("./src/integrations/express.ts") },
      { find: /^cloakroom\/express-session$/, replacement: here("./src/integrations/express-session.ts") },
      { find: /^cloakroom\/env$/, replacement: here("./env/index.ts") },
      { find: /^cloakroom\/adapters\/memory$/, replacement: here("./adapters/memory/index.ts") },
      { find: /^cloakroom\/adapters\/postgres$/, replacement: here("./adapters/postgres/index.ts") },
      { find: /^cloakroom\/adapters\/ioredis$/, replacement: here("./adapters/ioredis/index.ts") },
      { find: /^cloakroom\/adapters\/upstash$/, replacement: here("./adapters/upstash/index.ts") },
      { find: /^cloakroom\/testing$/, replacement: here("./src/testing/index.ts") },
      { find: /^cloakroom\/replay$/, replacement: here("./src/replay/index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    // Run by their own runtimes through scripts/test.mjs: `bun test` (test/bun) and Deno (test/deno).
    exclude: [...configDefaults.exclude, "test/bun/**", "test/deno/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
