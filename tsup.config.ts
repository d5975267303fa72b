import { defineConfig } from "tsup";

/**
 * Library entries map one-to-one onto package.json "exports"; test/node/package.test.ts
 * fails when the two drift. ESM only, with shared chunks so that classes such as
 * SessionError are one class across entry points. `cookie` is a devDependency and is
 * bundled, so jose stays the only runtime dependency. One config (not two in parallel) so
 * the clean of dist/ cannot race the CLI's output.
 */
export const libraryEntries = {
  index: "src/index.ts",
  hono: "src/integrations/hono.ts",
  express: "src/integrations/express.ts",
  "express-session": "src/integrations/express-session.ts",
  otel: "src/integrations/otel.ts",
  next: "src/integrations/next.ts",
  env: "env/index.ts",
  "adapters/memory": "adapters/memory/index.ts",
  "adapters/ioredis": "adapters/ioredis/index.ts",
  "adapters/upstash": "adapters/upstash/index.ts",
  "adapters/postgres": "adapters/postgres/index.ts",
  testing: "src/testing/index.ts",
  replay: "src/replay/index.ts",
};

export default defineConfig({
  entry: { ...libraryEntries, cli: "cli/cloakroom.ts" },
  format: ["esm"],
  target: "es2023",
  platform: "neutral",
  dts: { entry: libraryEntries },
  clean: true,
  splitting: true,
  treeshake: true,
  sourcemap: false,
  outDir: "dist",
  // The conformance suite registers its tests with the consumer's own vitest.
  external: ["vitest"],
});
