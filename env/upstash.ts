/**
 * `UPSTASH_REDIS_REST_URL` + `UPSTASH_REDIS_REST_TOKEN` -> the Upstash store, over HTTP: the
 * one Redis a Worker can reach. The client is built once per call (so once per process or
 * isolate when called at start-up): its read-your-writes sync token lives in the instance.
 *
 * @module
 */
import { upstashStore } from "../adapters/upstash/index.ts";
import { isNotFound } from "./load.ts";
import { configError, variable, type EnvSource, type OpenedStore } from "./variables.ts";

export interface UpstashPlan {
  kind: "upstash";
  url: string;
  token: string;
  description: string;
}

/** The plan when UPSTASH_REDIS_REST_URL is set; undefined when neither variable is. */
export function planUpstash(env: EnvSource): UpstashPlan | undefined {
  const url = variable(env, "UPSTASH_REDIS_REST_URL");
  const token = variable(env, "UPSTASH_REDIS_REST_TOKEN");
  const both = "set both (the REST URL and token from the Upstash console) or neither";
  if (!url) {
    if (token) throw configError(`UPSTASH_REDIS_REST_TOKEN is set but UPSTASH_REDIS_REST_URL is not; ${both}.`);
    return undefined;
  }
  if (!token) throw configError(`UPSTASH_REDIS_REST_URL is set but UPSTASH_REDIS_REST_TOKEN is not; ${both}.`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw configError("UPSTASH_REDIS_REST_URL is not a URL; use the REST URL from the Upstash console, for example https://<name>.upstash.io.");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw configError("UPSTASH_REDIS_REST_URL must start with https:// (it is the REST URL, not a redis:// URL; for a redis:// URL set REDIS_URL instead).");
  }
  if (parsed.username || parsed.password) {
    throw configError("UPSTASH_REDIS_REST_URL must not carry credentials; put the token in UPSTASH_REDIS_REST_TOKEN.");
  }
  return { kind: "upstash", url, token, description: `Upstash at ${parsed.host} (UPSTASH_REDIS_REST_URL)` };
}

export async function openUpstash(
  plan: UpstashPlan,
  options: { env: EnvSource; keyPrefix: string | undefined; budgetMs: number },
): Promise<OpenedStore> {
  // The Web-standard build (fetch only) on every runtime: the same client in a Worker and on
  // Node, and nothing of Node's for a bundler to trip on. Literal specifier: it is safe to bundle.
  let Redis: typeof import("@upstash/redis/cloudflare").Redis;
  try {
    ({ Redis } = await import("@upstash/redis/cloudflare"));
  } catch (error) {
    if (!isNotFound(error, "@upstash/redis")) throw error;
    throw configError("UPSTASH_REDIS_REST_URL is set, which needs the @upstash/redis package; install it (npm install @upstash/redis) or unset UPSTASH_REDIS_REST_URL.");
  }
  const client = new Redis(
    {
      url: plan.url,
      token: plan.token,
      // A function, not a fixed signal: each request gets its own budget, retries included. A
      // fixed signal that fired makes the client answer every later call by itself.
      signal: () => AbortSignal.timeout(options.budgetMs),
    },
    // The client reads UPSTASH_DISABLE_TELEMETRY from here.
    options.env as Record<string, string>,
  );
  const store = upstashStore({ client, ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}) });
  // Over HTTP there is no connection to close.
  return { store, clients: { upstash: client }, description: plan.description, close: async () => {} };
}
