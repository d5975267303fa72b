/**
 * The cloakroom demo as a Cloudflare Worker: the same Hono app as examples/hono-node (its routes
 * are runtime-agnostic), served by a Worker's `fetch`, with no `nodejs_compat`.
 *
 *   POST /login {"user"}   GET /me   POST /count   POST /logout   GET /health
 *   (and the demo page at /, GET /sessions, DELETE /sessions/:session, POST /logout-all)
 *
 * Bindings (see store.ts): SESSION_KEYS (a secret: `npx cloakroom keygen`, then `wrangler secret
 * put SESSION_KEYS`); UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN for Upstash, or neither
 * for a memory store (local runs only); optionally SESSION_IDLE_TIMEOUT,
 * SESSION_ABSOLUTE_TIMEOUT and SESSION_COOKIE_SECURE.
 *
 * Run it: `npx wrangler dev` at the repository root (wrangler.toml points here), with
 * SESSION_KEYS in `.dev.vars`.
 *
 * @module
 */
import { createSessions, SessionError } from "cloakroom";
import type { Hono } from "hono";
import { createDemoApp, type DemoData, type DemoEnv } from "../../hono-node/app.ts";
import { configFromEnv } from "../../hono-node/config.ts";
import { workerStore, type WorkerEnv } from "./store.ts";

export type { WorkerEnv } from "./store.ts";

/**
 * Module scope: one manager, one store and one Upstash client per isolate, reused by every
 * request it serves. A Worker only sees its bindings inside `fetch`, so they are built from the
 * first request's `env` (an isolate's bindings do not change between its requests). Per request
 * they would cost a key import and a new client each time, and lose the client's read-your-writes
 * sync token and the manager's cache of opened tickets.
 */
let app: Hono<DemoEnv> | undefined;

function createWorkerApp(env: WorkerEnv): Hono<DemoEnv> {
  const { store, kind, warnings } = workerStore(env);
  if (!env.SESSION_KEYS?.trim() && kind !== "memory") {
    // The Node demo's fallback, a throwaway key, would give every isolate a key of its own:
    // a shared store whose tickets every isolate but the one that sealed them rejects.
    throw new SessionError(
      "ERR_SESSION_KEYS",
      "SESSION_KEYS is not set. Make a key with `npx cloakroom keygen` and store it with `wrangler secret put SESSION_KEYS` (for `wrangler dev`: a line SESSION_KEYS=... in .dev.vars).",
    );
  }
  // Keys, timeouts and the cookie from the same variables, with the same messages, as the Node demo.
  const config = configFromEnv(env);
  for (const warning of [...warnings, ...config.warnings]) console.warn(warning);
  return createDemoApp(createSessions<DemoData>({ ...config.sessions, store }), {
    // Cloudflare sets this header to the visitor's address and overwrites any value a client
    // sends, so the per-client sign-in limit cannot be dodged by forging it.
    clientAddress: (c) => c.req.header("cf-connecting-ip"),
  });
}

export default {
  fetch(request: Request, env: WorkerEnv): Response | Promise<Response> {
    if (!app) {
      try {
        app = createWorkerApp(env);
      } catch (error) {
        // Not cached: every request tries again and gets this answer until a deployment with
        // fixed bindings starts new isolates. SessionError messages name the variable and the
        // fix, never a secret, so the message can be shown.
        if (!(error instanceof SessionError)) throw error;
        console.error(error.message);
        return Response.json({ error: error.message }, { status: 500, headers: { "cache-control": "no-store" } });
      }
    }
    return app.fetch(request, env);
  },
};
