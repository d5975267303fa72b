/**
 * Which session store the Worker runs on, from its `env` bindings:
 *
 *   UPSTASH_REDIS_REST_URL + UPSTASH_REDIS_REST_TOKEN   Upstash Redis over HTTP (a deployment)
 *   neither                                             memory (local runs: `wrangler dev`)
 *
 * A Worker has no TCP sockets without extra setup, so Upstash is the Redis it can reach; the
 * client comes from "@upstash/redis/cloudflare" (fetch only, nothing from Node).
 *
 * Why not `storeFromEnv` from cloakroom/env: it also plans Redis over TCP, Postgres and a tiered
 * store, which a Worker cannot use but still bundles (about 12 KiB more gzipped, measured with
 * wrangler), and its driver loader's `import(variable)` keeps Miniflare from loading the bundle
 * by `scriptPath`. These two cases are all a Worker needs.
 *
 * Errors name the variables, never their values: the token is a password.
 *
 * @module
 */
import { Redis } from "@upstash/redis/cloudflare";
import { SessionError, type SessionStore } from "cloakroom";
import { memoryStore } from "cloakroom/adapters/memory";
import { upstashStore } from "cloakroom/adapters/upstash";

/** The bindings the Worker reads (wrangler.toml `[vars]`, `wrangler secret put`, or `.dev.vars`). */
export type WorkerEnv = {
  /** `npx cloakroom keygen` output, newest key first; set it as a secret. */
  SESSION_KEYS?: string;
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** Seconds; see the README's configuration table. */
  SESSION_IDLE_TIMEOUT?: string;
  SESSION_ABSOLUTE_TIMEOUT?: string;
  /** "false" only for plain http beyond localhost. */
  SESSION_COOKIE_SECURE?: string;
  /** Any value turns off @upstash/redis's telemetry headers. */
  UPSTASH_DISABLE_TELEMETRY?: string;
};

export interface WorkerStore {
  store: SessionStore;
  /** "upstash" is shared by every isolate; "memory" lives and dies with this one. */
  kind: "upstash" | "memory";
  /** One line each, for the Worker's log. */
  warnings: string[];
}

/**
 * Longest one store call may take, retries included. @upstash/redis retries a failed request
 * five times (about 4 s of back-off) and has no timeout of its own; past this budget the call
 * fails with ERR_SESSION_STORE and the request gets a 503 instead of hanging.
 */
const REQUEST_BUDGET_MS = 3000;

const configError = (message: string) => new SessionError("ERR_SESSION_CONFIG", message);

function upstashUrl(raw: string): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw configError("UPSTASH_REDIS_REST_URL is not a URL; use the REST URL from the Upstash console, for example https://<name>.upstash.io.");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw configError("UPSTASH_REDIS_REST_URL must start with https:// (the REST URL, not a redis:// URL: a Worker reaches Redis over HTTP).");
  }
  if (parsed.username || parsed.password) {
    throw configError("UPSTASH_REDIS_REST_URL must not carry credentials; put the token in UPSTASH_REDIS_REST_TOKEN (wrangler secret put UPSTASH_REDIS_REST_TOKEN).");
  }
  return raw;
}

/**
 * Called once per isolate (see index.ts): the client it builds keeps Upstash's read-your-writes
 * sync token, which a client made per request would start without.
 *
 * @example
 * const { store, warnings } = workerStore(env);
 */
export function workerStore(env: WorkerEnv): WorkerStore {
  const url = env.UPSTASH_REDIS_REST_URL?.trim();
  const token = env.UPSTASH_REDIS_REST_TOKEN?.trim();
  if (url || token) {
    if (!url || !token) {
      const missing = url ? "UPSTASH_REDIS_REST_TOKEN" : "UPSTASH_REDIS_REST_URL";
      throw configError(`${missing} is not set; set both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (wrangler secret put ${missing}) or neither.`);
    }
    const client = new Redis(
      {
        url: upstashUrl(url),
        token,
        // A function, not one fixed signal: each request gets its own budget (a fixed signal
        // that has fired makes the client answer every later call by itself).
        signal: () => AbortSignal.timeout(REQUEST_BUDGET_MS),
      },
      // The client reads UPSTASH_DISABLE_TELEMETRY from the env it is given; a Worker has no process.env.
      env,
    );
    return { store: upstashStore({ client }), kind: "upstash", warnings: [] };
  }
  return {
    store: memoryStore(),
    kind: "memory",
    warnings: [
      "cloakroom: UPSTASH_REDIS_REST_URL is not set, so sessions live in this isolate's memory: fine for `wrangler dev`, " +
        "but a deployed Worker runs many isolates that share nothing, and each one starts empty. Set the Upstash pair for a deployment.",
    ],
  };
}
