/**
 * A store named by one URL on the command line, opened the way an application opens it: the
 * URL becomes the variable `storeFromEnv` reads (cloakroom/env), next to the rest of the
 * environment (REDIS_USERNAME, REDIS_PASSWORD, REDIS_SENTINEL_PASSWORD, REDIS_KEY_PREFIX,
 * UPSTASH_REDIS_REST_TOKEN). Without a URL the environment's own store is used, as the
 * application would.
 *
 *   redis://[user:pass@]host:6379[/db]          REDIS_URL (rediss:// for TLS)
 *   redis+sentinel://[user:pass@]h:p,h:p/name   REDIS_SENTINELS + REDIS_SENTINEL_NAME
 *   redis+cluster://[user:pass@]h:p,h:p         REDIS_CLUSTER_NODES
 *   https://[:token@]host                       UPSTASH_REDIS_REST_URL (+ the token)
 *   postgres://user:pass@host:5432/db           DATABASE_URL (postgresql:// too)
 *   pglite:./dir                                DATABASE_URL, PGlite in that directory
 *   memory:                                     this process's memory (for trying a command)
 * Redis and Upstash URLs take `?prefix=<keyPrefix>` (REDIS_KEY_PREFIX for that store).
 *
 * @module
 */
import { storeFromEnv, type EnvStore } from "../env/index.ts";
import { urlSecrets } from "./secrets.ts";
import { usageError, type Io } from "./shell.ts";

export { maskUrl } from "./secrets.ts";

const STORE_VARIABLES = [
  "UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "REDIS_URL", "REDIS_SENTINELS", "REDIS_SENTINEL_NAME", "REDIS_CLUSTER_NODES", "DATABASE_URL",
];

export const STORE_URL_HELP = `Store URLs (or leave the option out: the store your environment describes, as storeFromEnv reads it):
  redis://[user:pass@]host:6379[/db]            one Redis (rediss:// for TLS)
  redis+sentinel://[user:pass@]h:p,h:p/<name>   Redis behind Sentinel, master <name>
  redis+cluster://[user:pass@]h:p,h:p           a Redis Cluster (any of its nodes)
  https://[:<token>@]<host>                     Upstash (token also from UPSTASH_REDIS_REST_TOKEN)
  postgres://user:pass@host:5432/db             PostgreSQL; pglite:./dir for PGlite
  memory:                                       this process only (to try a command)
  Redis and Upstash URLs take ?prefix=<keyPrefix>; REDIS_USERNAME, REDIS_PASSWORD,
  REDIS_SENTINEL_PASSWORD and REDIS_KEY_PREFIX are read as the application reads them.`;

interface Split {
  scheme: string;
  user: string;
  password: string;
  rest: string;
  prefix: string | undefined;
}

/** `scheme://[user[:password]@]rest[?prefix=...]`, for the URLs `new URL` cannot take (host lists). */
function split(url: string, what: string): Split {
  // The userinfo runs to the last "@": a password may hold a raw "@", a host list never does.
  const match = /^([a-z][a-z0-9+.-]*):\/\/(?:(.*)@)?([^@]*)$/i.exec(url);
  // Not echoed: what is not a URL may be anything, a password pasted in the wrong place too.
  if (!match) throw usageError(`${what} is not a URL (no scheme://); see --help for the forms a store URL takes.`);
  const [, scheme, userinfo = "", tail] = match;
  const colon = userinfo.indexOf(":");
  const query = tail!.indexOf("?");
  const params = new URLSearchParams(query < 0 ? "" : tail!.slice(query + 1));
  const unknown = [...params.keys()].filter((key) => key !== "prefix");
  if (unknown.length > 0 && !/^(postgres|postgresql|https?|rediss?)$/i.test(scheme!)) {
    throw usageError(`${what} has the query parameter ${unknown[0]}, which cloakroom does not take; only ?prefix= is.`);
  }
  return {
    scheme: scheme!.toLowerCase(),
    user: decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon)),
    password: colon < 0 ? "" : decodeURIComponent(userinfo.slice(colon + 1)),
    rest: query < 0 ? tail! : tail!.slice(0, query),
    prefix: params.get("prefix") ?? undefined,
  };
}

/** Removes `prefix` from a URL's query, keeping everything else as written. */
function withoutPrefix(url: string): string {
  return url.replace(/([?&])prefix=[^&]*(&|$)/, (_, lead: string, tail: string) => (tail ? lead : "")).replace(/\?$/, "");
}

/** The environment `storeFromEnv` gets for `url`, and the secrets in it. */
export function environmentFor(url: string, base: Readonly<Record<string, string | undefined>>, what: string): { env: Record<string, string>; secrets: string[] } {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) if (value !== undefined && !STORE_VARIABLES.includes(name)) env[name] = value;
  if (/^memory:?$/i.test(url)) return { env, secrets: [] };
  if (/^pglite:/i.test(url)) return { env: { ...env, DATABASE_URL: url }, secrets: [] };
  const parts = split(url, what);
  const secrets = [parts.password, ...urlSecrets(url)];
  if (parts.prefix !== undefined) env.REDIS_KEY_PREFIX = parts.prefix;
  const auth = () => {
    if (parts.user) env.REDIS_USERNAME = parts.user;
    if (parts.password) env.REDIS_PASSWORD = parts.password;
  };
  switch (parts.scheme) {
    case "redis":
    case "rediss":
      env.REDIS_URL = withoutPrefix(url);
      break;
    case "redis+sentinel": {
      const slash = parts.rest.indexOf("/");
      const name = slash < 0 ? "" : decodeURIComponent(parts.rest.slice(slash + 1));
      if (!name) throw usageError(`${what} needs the master name after the sentinels: redis+sentinel://host:26379,host:26379/mymaster.`);
      env.REDIS_SENTINELS = parts.rest.slice(0, slash);
      env.REDIS_SENTINEL_NAME = name;
      auth();
      break;
    }
    case "redis+cluster":
      env.REDIS_CLUSTER_NODES = parts.rest.replace(/\/$/, "");
      auth();
      break;
    case "postgres":
    case "postgresql":
      env.DATABASE_URL = url;
      break;
    case "https":
    case "http": {
      const token = parts.password || parts.user || base.UPSTASH_REDIS_REST_TOKEN;
      if (!token) throw usageError(`${what} is an Upstash REST URL but no token was given: put it in the URL (https://:<token>@host) or in UPSTASH_REDIS_REST_TOKEN.`);
      secrets.push(token);
      env.UPSTASH_REDIS_REST_URL = `${parts.scheme}://${parts.rest}`;
      env.UPSTASH_REDIS_REST_TOKEN = token;
      break;
    }
    default:
      throw usageError(`${what} has the scheme ${parts.scheme}:, which cloakroom cannot open; use redis://, redis+sentinel://, redis+cluster://, https:// (Upstash), postgres:// or pglite:.`);
  }
  return { env, secrets: secrets.filter(Boolean) };
}

export interface OpenOptions {
  /** Create the Postgres table when missing (a migration's target). @default false */
  migrate?: boolean;
  /** For messages: "--store", "--from", "--to". */
  what: string;
}

/** Opens the store `url` names (or the environment's); the caller closes it. */
export async function openStore(url: string | undefined, io: Io, options: OpenOptions): Promise<EnvStore> {
  const { env, secrets } = url === undefined
    ? { env: { ...io.env } as Record<string, string>, secrets: [] }
    : environmentFor(url, io.env, options.what);
  io.secret(...secrets, env.REDIS_PASSWORD, env.REDIS_SENTINEL_PASSWORD, env.UPSTASH_REDIS_REST_TOKEN);
  for (const name of ["DATABASE_URL", "REDIS_URL"]) io.secret(...urlSecrets(env[name]));
  // The outage lines of the drivers are for a long-running app; a command reports its own failure.
  return storeFromEnv(env, { log: false, migrate: options.migrate ?? false });
}
