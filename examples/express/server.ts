/**
 * The Express example server: `npm run build`, then `node examples/express/server.ts`, so
 * `cloakroom` here is the built package, as an application would see it.
 *
 * Environment: the demo's (examples/hono-node/config.ts: PORT, default 3000, HOST,
 * SESSION_KEYS, SESSION_IDLE_TIMEOUT, SESSION_ABSOLUTE_TIMEOUT, SESSION_COOKIE_SECURE) and its
 * store variables (`storeFromEnv` from cloakroom/env: REDIS_URL, DATABASE_URL, ...), plus, to
 * take over an express-session app's signed-in users:
 *   EXPRESS_SESSION_SECRET      express-session's secret (several: comma-separated, newest first)
 *   EXPRESS_SESSION_STORE       where its sessions are: redis://... (connect-redis) or postgres://... (connect-pg-simple)
 *   EXPRESS_SESSION_USER_FIELD  the field of its session data that holds the user id, dotted; default "userId"
 *
 * SIGINT or SIGTERM stops accepting connections and exits once requests in flight finish.
 *
 * @module
 */
import { createSessions, SessionError, type SessionsOptions } from "cloakroom";
import { storeFromEnv } from "cloakroom/env";
import { adoptExpressSession } from "cloakroom/express-session";
import { configFromEnv } from "../hono-node/config.ts";
import { createExampleApp } from "./app.ts";

/** The value at a dotted path of the legacy session's data, as a user id. */
function userField(path: string) {
  return (legacy: Record<string, unknown>) => {
    const value = path.split(".").reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], legacy);
    return typeof value === "string" || typeof value === "number" ? value : null;
  };
}

function adoption(env: NodeJS.ProcessEnv): Pick<SessionsOptions, "adopt"> & { closeAdopter?: () => Promise<void> } {
  const secret = env.EXPRESS_SESSION_SECRET?.split(",").map((s) => s.trim()).filter(Boolean);
  const store = env.EXPRESS_SESSION_STORE?.trim();
  if (!secret?.length && !store) return {};
  if (!secret?.length || !store) throw new SessionError("ERR_SESSION_CONFIG", "set both EXPRESS_SESSION_SECRET and EXPRESS_SESSION_STORE to adopt express-session's sessions, or neither.");
  const adopt = adoptExpressSession({ secret, store, userIdOf: userField(env.EXPRESS_SESSION_USER_FIELD?.trim() || "userId") });
  return { adopt, closeAdopter: () => adopt.close() };
}

try {
  const config = configFromEnv(process.env);
  for (const warning of config.warnings) process.stderr.write(`${warning}\n`);
  const { store, close } = await storeFromEnv(process.env);
  const { closeAdopter, ...adopt } = adoption(process.env);
  const sessions = createSessions({ ...config.sessions, ...adopt, store });
  const server = createExampleApp(sessions).listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    process.stdout.write(`cloakroom express example: listening on ${config.host}:${port} (${store.name} store)\n`);
  });
  const stop = () => server.close(() => void Promise.all([close(), closeAdopter?.()]).catch(() => {}));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (error) {
  process.stderr.write(`${error instanceof SessionError ? error.message : String((error as Error)?.stack ?? error)}\n`);
  process.exitCode = 1;
}
