/**
 * The reconnect example: `npm run example:reconnect` builds the package and runs this file
 * with Node's type stripping (so `cloakroom` here is the built package).
 *
 * Environment: PORT (default 3001), HOST (default 127.0.0.1), SESSION_KEYS (a throwaway key
 * and a warning when unset; required with NODE_ENV=production), and the store variables of
 * `storeFromEnv` (REDIS_URL, UPSTASH_REDIS_REST_URL + _TOKEN, DATABASE_URL, ...): the room lives
 * where the sessions do. Nothing set: memory, nothing to install.
 *
 * @module
 */
import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import { createSessions, generateKey, SessionError } from "cloakroom";
import { storeFromEnv } from "cloakroom/env";
import { createReplayLog } from "cloakroom/replay";
import { createReconnectApp, type RoomEvent } from "./app.ts";
import { replayBackendFor } from "./replay-backend.ts";

const say = (line: string) => process.stdout.write(`${line}\n`);

async function start(): Promise<void> {
  const port = Number(process.env.PORT ?? 3001);
  const host = process.env.HOST ?? "127.0.0.1";
  let keys = process.env.SESSION_KEYS?.trim();
  if (!keys) {
    if (process.env.NODE_ENV === "production") throw new SessionError("ERR_SESSION_KEYS", "SESSION_KEYS is not set and NODE_ENV is production; make a key with `npx cloakroom keygen`.");
    process.stderr.write("cloakroom reconnect: SESSION_KEYS is not set; using a throwaway key (sessions end with the process).\n");
    keys = generateKey("ephemeral");
  }
  const choice = await storeFromEnv(process.env, { log: (line) => say(line) });
  const sessions = createSessions({ store: choice.store, keys, cookie: { secure: process.env.SESSION_COOKIE_SECURE !== "false" } });
  const { backend, description } = await replayBackendFor(choice.clients, process.env.REDIS_KEY_PREFIX);
  const log = createReplayLog<RoomEvent>({ backend, sessions, retention: 3600, maxEvents: 1000, memberTtl: 15 });
  const app = createReconnectApp(sessions, log);
  const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
    say(`cloakroom reconnect: open http://localhost:${info.port} (room in ${description})`);
  }) as Server;
  const stop = () => {
    server.close(() => void choice.close().catch(() => {}));
    // Open streams would hold the process: cut them after a moment.
    setTimeout(() => server.closeAllConnections(), 1000).unref();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

start().catch((error: unknown) => {
  process.stderr.write(`${error instanceof SessionError ? error.message : String((error as Error)?.stack ?? error)}\n`);
  process.exitCode = 1;
});
