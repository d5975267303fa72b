import { fileURLToPath } from "node:url";
import type { NextConfig } from "next";

/**
 * The repository root, for two reasons: next, react and react-dom come from its node_modules
 * (this example has no dependencies of its own), and "cloakroom" is compiled from its src/
 * (see tsconfig.json). Turbopack refuses files outside its root, and would otherwise guess the
 * root from the nearest lockfile.
 */
const root = fileURLToPath(new URL("../..", import.meta.url));

const config: NextConfig = {
  turbopack: { root },
  outputFileTracingRoot: root,
  poweredByHeader: false,
};

export default config;
