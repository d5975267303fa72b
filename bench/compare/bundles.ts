/**
 * Bundle sizes: what each library adds to an edge (or, for express-session, a Node) bundle.
 * esbuild bundles one entry per line from the sources in this tree and node_modules, minified,
 * ESM; the size is the gzip (level 9) of that output. Frameworks and store clients (hono,
 * express, @upstash/redis, redis) are left external: the app has them whichever session library
 * it picks. Everything else the library pulls in (jose, cookie, iron-webcrypto, ...) counts.
 *
 * @module
 */
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface BundleLine {
  id: string;
  label: string;
  /** The entry, as an app would write its imports. */
  imports: string;
  external: string[];
  platform: "browser" | "node";
  /** The line a goal is checked on. */
  goal?: boolean;
}

export interface BundleSize extends BundleLine {
  minified: number;
  gzip: number;
  /** What went in: packages (and this repo's folders) with their share of the minified output. */
  includes: Array<{ name: string; bytes: number }>;
  /** This repo's largest files in the output (cloakroom lines only). */
  files: Array<{ name: string; bytes: number }>;
}

export const BUNDLES: readonly BundleLine[] = [
  {
    id: "cloakroom-all",
    label: "cloakroom: core + hono binding + upstash adapter (every export)",
    imports: [
      'export * from "./src/index.ts";',
      'export * from "./src/integrations/hono.ts";',
      'export * from "./adapters/upstash/index.ts";',
    ].join("\n"),
    external: ["hono", "hono/*", "@upstash/redis", "@upstash/redis/*"],
    platform: "browser",
    goal: true,
  },
  {
    id: "cloakroom-used",
    label: "cloakroom: createSessions + sessionMiddleware + upstashStore (what an app imports)",
    imports: [
      'export { createSessions } from "./src/index.ts";',
      'export { sessionMiddleware } from "./src/integrations/hono.ts";',
      'export { upstashStore } from "./adapters/upstash/index.ts";',
    ].join("\n"),
    external: ["hono", "hono/*", "@upstash/redis", "@upstash/redis/*"],
    platform: "browser",
  },
  {
    id: "iron-session",
    label: "iron-session (every export)",
    imports: 'export * from "iron-session";',
    external: [],
    platform: "browser",
  },
  {
    id: "hono-sessions",
    label: "hono-sessions (every export)",
    imports: 'export * from "hono-sessions";',
    external: ["hono", "hono/*"],
    platform: "browser",
  },
  {
    id: "hono-session",
    label: "@hono/session (every export)",
    imports: 'export * from "@hono/session";',
    external: ["hono", "hono/*"],
    platform: "browser",
  },
  {
    id: "express-session",
    label: "express-session + connect-redis (Node only; reference)",
    imports: ['export { default as session } from "express-session";', 'export { RedisStore } from "connect-redis";'].join("\n"),
    external: ["express", "redis", "@redis/*"],
    platform: "node",
  },
];

/** "jose", "@hono/session", or this repo's top folder ("src", "adapters/upstash"). */
function ownerOf(path: string): string {
  const modules = path.lastIndexOf("node_modules/");
  if (modules >= 0) {
    const rest = path.slice(modules + "node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const parts = path.split("/");
  return parts[0] === "adapters" ? `cloakroom ${parts[0]}/${parts[1]}` : `cloakroom ${parts[0]}`;
}

type Sizes = Array<{ name: string; bytes: number }>;
const sorted = (map: Map<string, number>): Sizes => [...map].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);

function contents(metafile: Metafile, entry: string): { includes: Sizes; files: Sizes } {
  const byOwner = new Map<string, number>();
  const ownFiles = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (bytesInOutput === 0 || path === entry) continue;
      const owner = ownerOf(path);
      byOwner.set(owner, (byOwner.get(owner) ?? 0) + bytesInOutput);
      if (owner.startsWith("cloakroom")) ownFiles.set(path, bytesInOutput);
    }
  }
  return { includes: sorted(byOwner), files: sorted(ownFiles).slice(0, 8) };
}

export async function bundleSizes(): Promise<BundleSize[]> {
  const sizes: BundleSize[] = [];
  for (const line of BUNDLES) {
    const result = await build({
      stdin: { contents: line.imports, resolveDir: ROOT, loader: "ts", sourcefile: `${line.id}.ts` },
      bundle: true,
      minify: true,
      format: "esm",
      target: "es2022",
      platform: line.platform,
      ...(line.platform === "browser" ? { conditions: ["workerd", "worker", "browser"] } : {}),
      external: line.external,
      write: false,
      metafile: true,
      logLevel: "silent",
      absWorkingDir: ROOT,
    });
    const code = result.outputFiles[0]!.contents;
    sizes.push({ ...line, minified: code.byteLength, gzip: gzipSync(code, { level: 9 }).byteLength, ...contents(result.metafile, `${line.id}.ts`) });
  }
  return sizes;
}
