/**
 * The demo server: `npm start` builds the package and runs this file with Node's type
 * stripping, so `cloakroom` here is the built package, as an application would see it.
 *
 * Environment:
 *   PORT                      default 3000
 *   HOST                      default 127.0.0.1 (set 0.0.0.0 to listen beyond this machine)
 *   SESSION_KEYS              output of `npx cloakroom keygen`; required when NODE_ENV=production
 *   SESSION_IDLE_TIMEOUT      seconds, default 1800
 *   SESSION_ABSOLUTE_TIMEOUT  seconds, default 604800
 *   SESSION_COOKIE_SECURE     "false" for plain http beyond localhost (cookie "session", not Secure)
 *   SESSION_RENEW_EVERY       seconds: renew session ids this often, with reuse detection (off by default)
 *   DEMO_DEVICE_BOUND         "on" or "strict": device-bound sessions (DBSC); needs https
 *   DEMO_DBSC_COOKIE_MAX_AGE  seconds the bound cookie lives, default 600
 *   DEMO_TLS_CERT, DEMO_TLS_KEY  PEM files: serve https instead of http
 *   The store: `storeFromEnv` from cloakroom/env (env/index.ts) reads
 *   UPSTASH_REDIS_REST_URL + UPSTASH_REDIS_REST_TOKEN (Upstash over HTTP, preferred), or
 *   REDIS_URL / REDIS_SENTINELS + REDIS_SENTINEL_NAME / REDIS_CLUSTER_NODES (ioredis), and
 *   DATABASE_URL (postgres://... through pg, or pglite:./.data/sessions, embedded and kept
 *   across restarts; the table is created on start). A Redis and DATABASE_URL together give
 *   Redis in front of Postgres (tieredStore). Nothing set: sessions in memory.
 *
 * SIGINT or SIGTERM stops accepting connections, lets requests in flight finish and exits 0;
 * a second Ctrl-C ends the process at once.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { serve } from "@hono/node-server";
import { createSessions, SessionError } from "cloakroom";
import { storeFromEnv, type EnvStore } from "cloakroom/env";
import { createDemoApp, type DemoData } from "./app.ts";
import { configFromEnv, type DemoConfig } from "./config.ts";

/** Connections still open this long after a stop signal are cut. */
const SHUTDOWN_GRACE_MS = 5000;

function say(stream: NodeJS.WriteStream, line: string): void {
  stream.write(`${line}\n`);
}

/** Browsers treat localhost as a secure context, so the default Secure cookie works there over http. */
function urlOf(host: string, port: number, scheme = "http"): string {
  if (["127.0.0.1", "::1", "localhost"].includes(host)) return `${scheme}://localhost:${port}`;
  return `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function stopOnSignals(server: Server, closeStore: () => Promise<void>): void {
  const stop = (signal: NodeJS.Signals) => {
    say(process.stdout, `cloakroom demo: ${signal}, closing (press Ctrl-C again to force)`);
    server.close(() => {
      void closeStore().catch(() => {});
    });
    // A client that keeps a connection open must not hold the process forever.
    setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS).unref();
  };
  // once: the second signal finds no handler and ends the process the default way.
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

async function start(): Promise<void> {
  let config: DemoConfig;
  let choice: EnvStore | undefined;
  let app: ReturnType<typeof createDemoApp>;
  try {
    config = configFromEnv(process.env);
    for (const warning of config.warnings) say(process.stderr, warning);
    // One line: which store, where (never a secret); on stderr when it carries a warning.
    choice = await storeFromEnv(process.env, { log: (line, level) => say(level === "warn" ? process.stderr : process.stdout, line) });
    app = createDemoApp(createSessions<DemoData>({ ...config.sessions, store: choice.store }), {
      deviceBinding: config.deviceBinding === "strict" ? "strict" : "on",
    });
  } catch (error) {
    // A SessionError names the variable and the fix and never holds a secret; anything
    // else is a bug, and its stack is what helps.
    say(process.stderr, error instanceof SessionError ? error.message : String((error as Error)?.stack ?? error));
    process.exitCode = 1;
    // An open pool or embedded database would keep the process alive.
    await choice?.close().catch(() => {});
    return;
  }
  const { store, close } = choice;

  const tls = config.tls && { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) };
  const listening = (info: { port: number }) => {
    say(process.stdout, `cloakroom demo: open ${urlOf(config.host, info.port, tls ? "https" : "http")} (listening on ${config.host}:${info.port}, ${store.name} store)`);
  };
  const server = (tls
    ? serve({ fetch: app.fetch, port: config.port, hostname: config.host, createServer: createHttpsServer, serverOptions: tls }, listening)
    : serve({ fetch: app.fetch, port: config.port, hostname: config.host }, listening)) as Server;
  server.on("error", (error: NodeJS.ErrnoException) => {
    say(process.stderr, `cloakroom: cannot listen on ${config.host}:${config.port} (${error.code ?? error.message}); set PORT or HOST to a free address.`);
    process.exitCode = 1;
    void close().catch(() => {});
  });
  stopOnSignals(server, close);
}

await start();
