import { build } from "esbuild";
import { gzipSync } from "node:zlib";
const r = await build({ stdin: { contents: ['export { createSessions } from "./src/index.ts";','export { sessionMiddleware } from "./src/integrations/hono.ts";','export { upstashStore } from "./adapters/upstash/index.ts";'].join("\n"), resolveDir: process.cwd(), loader: "ts" },
  bundle: true, minify: true, format: "esm", platform: "browser", write: false, metafile: true, external: ["hono","hono/*","@upstash/redis","@upstash/redis/*"] });
console.log("gzip", gzipSync(r.outputFiles[0].contents, { level: 9 }).length);
const ins = Object.entries(Object.values(r.metafile.outputs)[0].inputs).map(([p, v]) => [p, v.bytesInOutput]).sort((a, b) => b[1] - a[1]);
let tot=0; for (const [p,b] of ins) { tot+=b; if (b>0) console.log(b, p); }
