/**
 * Runs the shared Redis session scripts through an ioredis client (standalone, Sentinel or
 * Cluster), and the plain GET of a read whose touch is not due. Scripts go as EVALSHA, and EVAL
 * once when the server answers NOSCRIPT (after a restart, a failover to a replica that never saw
 * the script, or SCRIPT FLUSH). EVAL caches the script on
 * that server, so the next call is one EVALSHA again. Cluster routes each call by its first key,
 * and every key of one script shares a slot (see ../redis/keys.ts).
 *
 * `defineCommand` would do the same but adds a method to the application's client; the adapter
 * leaves the client as it found it.
 *
 * @module
 */
import type { Cluster, Redis } from "ioredis";
import { SessionError } from "../../src/errors.ts";
import { globLiteral } from "../redis/keys.ts";
import type { RedisScript, ScriptRunner } from "../redis/script-runner.ts";

/** The ioredis methods the runner uses; `Redis` and `Cluster` both have them. */
type ScriptClient = Pick<Redis, "evalsha" | "eval" | "get" | "ping"> | Pick<Cluster, "evalsha" | "eval" | "get" | "ping">;

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}

function isWrongType(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("WRONGTYPE");
}

/**
 * A store error that says what failed. ioredis hangs the command's arguments on its errors
 * (`error.command.args`), and the arguments of a write hold the session's data: the cause is
 * passed on as a plain copy of the name, message and stack only.
 */
export function storeError(what: string, error: unknown): SessionError {
  const original = error instanceof Error ? error : new Error(String(error));
  const cause = new Error(original.message);
  cause.name = original.name;
  if (original.stack) cause.stack = original.stack;
  return new SessionError(
    "ERR_SESSION_STORE",
    `the ioredis store could not run ${what} (${original.name}: ${original.message}). Check that Redis is reachable, and the client's options (README, "Redis (ioredis)").`,
    { cause },
  );
}

/**
 * The servers a scan walks: a Cluster's masters in address order (so a saved cursor names the
 * same one in another process), or the one server.
 */
function scanTargets(client: Redis | Cluster): Redis[] {
  if (!client.isCluster) return [client as Redis];
  return (client as Cluster).nodes("master")
    .map((node) => [addressOf(node), node] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, node]) => node);
}

const addressOf = (node: Redis): string => `${node.options.host}:${node.options.port}`;

/** `<server>:<SCAN cursor>:<masters>`: the server by its place in scanTargets, and which masters those were. */
const SCAN_CURSOR = /^(\d{1,4}):(\d{1,20}):([0-9a-f]{8})$/;

/** FNV-1a of the servers' addresses: a cursor from another set of masters must not be followed. */
function fingerprint(targets: Redis[]): string {
  let hash = 0x811c9dc5;
  for (const char of targets.map(addressOf).join(",")) {
    hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

export function ioredisRunner(client: Redis | Cluster): ScriptRunner {
  // ioredis prefixes the keys of commands with the client's keyPrefix, but not SCAN's pattern
  // or its replies: the runner adds it to one and takes it off the other.
  const clientPrefix = String((client.options as { keyPrefix?: unknown }).keyPrefix ?? "");
  const scripts = client as ScriptClient;
  // The SHA-1 of each script, computed once; the steady state reads it from `known` without
  // waiting on a promise.
  const known = new Map<RedisScript, string>();
  const hashing = new Map<RedisScript, Promise<string>>();
  function shaOf(script: RedisScript): Promise<string> {
    let pending = hashing.get(script);
    if (!pending) {
      pending = sha1Hex(script.lua).then((sha) => {
        known.set(script, sha);
        return sha;
      });
      hashing.set(script, pending);
    }
    return pending;
  }

  return {
    async run(script, keys, args) {
      const sha = known.get(script) ?? (await shaOf(script));
      const params = [keys.length, ...keys, ...args];
      try {
        return await scripts.evalsha(sha, ...(params as [number, ...(string | number)[]]));
      } catch (error) {
        if (!isNoScript(error)) throw storeError(`the ${script.name} script`, error);
      }
      try {
        return await scripts.eval(script.lua, ...(params as [number, ...(string | number)[]]));
      } catch (error) {
        throw storeError(`the ${script.name} script`, error);
      }
    },

    get(key) {
      return scripts.get(key).catch((error: unknown) => {
        // A key of another type where a session should be is not a record: no session.
        if (isWrongType(error)) return null;
        throw storeError("GET", error);
      });
    },

    async scan(cursor, pattern, count) {
      const targets = scanTargets(client);
      const set = fingerprint(targets);
      const at = cursor === null ? ["0", "0", set] : SCAN_CURSOR.exec(cursor)?.slice(1);
      if (!at) throw new SessionError("ERR_SESSION_STATE", `the ioredis store's scan got a cursor it did not make (${JSON.stringify(cursor).slice(0, 40)}); start again from null.`);
      // Another set of masters (a shard added or removed): places and cursors mean other keys now.
      if (at[2] !== set) {
        throw new SessionError("ERR_SESSION_STATE", "the Redis Cluster's masters changed since this scan started, so its cursor no longer says where it was; start the scan again from null (cloakroom migrate --restart). Nothing is copied twice.");
      }
      let server = Number(at[0]);
      if (server >= targets.length) return { keys: [], next: null };
      let reply: [string, string[]];
      try {
        reply = await targets[server]!.scan(at[1]!, "MATCH", `${globLiteral(clientPrefix)}${pattern}`, "COUNT", count);
      } catch (error) {
        throw storeError("SCAN", error);
      }
      const keys = reply[1].filter((key) => key.startsWith(clientPrefix)).map((key) => key.slice(clientPrefix.length));
      const position = reply[0];
      if (position === "0") {
        server++;
        if (server >= targets.length) return { keys, next: null };
      }
      return { keys, next: `${server}:${position}:${set}` };
    },

    async ping() {
      const started = performance.now();
      try {
        await scripts.ping();
      } catch (error) {
        throw storeError("PING", error);
      }
      return performance.now() - started;
    },
  };
}
