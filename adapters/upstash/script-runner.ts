/**
 * Runs the shared Redis session scripts over @upstash/redis (HTTP). Web-standard: no Node
 * built-ins, so it runs in workerd, Deno, Bun and browsers alike.
 *
 * Three things about the client shape this file:
 *
 * - Its replies are not raw. By default (`automaticDeserialization`) it JSON-parses every
 *   string it receives, so a record stored as JSON would come back as an object, the string
 *   "null" as null and "42" as 42, with no way to tell them from a nil or an integer reply. The
 *   runner therefore wraps each script in a few lines of Lua that prefix every string of the
 *   reply with "~" (no JSON value starts with "~", so the client leaves those strings alone
 *   whatever its options) and to put the reply in a one-element array. The runner strips both.
 * - It can answer without asking the server: when a fixed `signal` has fired, it resolves
 *   with the abort reason (a string, or null for a DOMException) as if Redis had replied.
 *   Read as a reply, that null would be "no session". Anything that is not a one-element
 *   array of prefixed strings, integers and nils is therefore a fault and throws.
 * - Its errors echo the request: an HTTP error reads "<error>, command was: [...]", and the
 *   command holds the record, user data included. The runner keeps only the server's words.
 *
 * @module
 */
import { SessionError } from "../../src/errors.ts";
import type { RedisScript, ScriptRunner } from "../redis/script-runner.ts";

/**
 * The @upstash/redis methods the adapter uses. A `Redis` from "@upstash/redis" or
 * "@upstash/redis/cloudflare" fits; nothing else of the client is touched.
 */
export interface UpstashClient {
  evalsha(sha1: string, keys: string[], args: string[]): Promise<unknown>;
  eval(script: string, keys: string[], args: string[]): Promise<unknown>;
  ping(): Promise<unknown>;
}

// `armor` mirrors how Redis turns a Lua value into a reply: an array ends at the first nil,
// {ok=...} is a status. An {err=...} reply is returned as it is, so the call still fails.
const ARMOR = `
local function armor(value)
  local kind = type(value)
  if kind == "string" then return "~" .. value end
  if kind ~= "table" or value.err ~= nil then return value end
  if value.ok ~= nil then return "~" .. value.ok end
  local out, i = {}, 1
  while rawget(value, i) ~= nil do
    out[i] = armor(rawget(value, i))
    i = i + 1
  end
  return out
end
local reply = cloakroom_script()
if type(reply) == "table" and reply.err ~= nil then return reply end
return {armor(reply)}`;

/** The script as sent: the shared Lua inside a function whose reply is armoured. */
export function armoredLua(lua: string): string {
  // A "#!lua flags=..." line (Redis 7) must stay the first line of the script.
  const shebang = lua.startsWith("#!") ? lua.slice(0, lua.indexOf("\n") + 1 || lua.length) : "";
  const body = lua.slice(shebang.length);
  return `${shebang}local function cloakroom_script()\n${body}\nend${ARMOR}`;
}

class UnexpectedReply extends Error {
  override readonly name = "UnexpectedReply";
}

function unarmor(value: unknown): unknown {
  if (value === null || typeof value === "number") return value;
  if (typeof value === "string") {
    if (!value.startsWith("~")) throw new UnexpectedReply("a string without the runner's prefix");
    return value.slice(1);
  }
  if (Array.isArray(value)) return value.map(unarmor);
  throw new UnexpectedReply(`a value of type ${typeof value}`);
}

/** The script's reply from the armoured one: `[value]`, or `[]` when the value was nil. */
function unwrap(reply: unknown): unknown {
  if (!Array.isArray(reply) || reply.length > 1) {
    throw new UnexpectedReply(`not the script's reply but ${reply === null ? "null" : typeof reply}; is a fixed abort signal set on the client?`);
  }
  return reply.length === 0 ? null : unarmor(reply[0]);
}

/** What the server said, without the client's echo of the command (which holds user data). */
function serverMessage(error: unknown): { message: string; echoed: boolean } {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const at = text.indexOf(", command was: ");
  return at < 0 ? { message: text, echoed: false } : { message: text.slice(0, at), echoed: true };
}

function storeError(what: string, error: unknown): SessionError {
  const { message, echoed } = serverMessage(error);
  return new SessionError(
    "ERR_SESSION_STORE",
    `the Upstash request for ${what} failed (${message}). Check the client's url and token and that the database is reachable.`,
    // The original error is attached only when it does not repeat the command.
    echoed ? {} : { cause: error },
  );
}

const NOSCRIPT = /(?:^|: )NOSCRIPT\b/;

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * A `ScriptRunner` over an @upstash/redis client: EVALSHA, and EVAL once when the server
 * answers NOSCRIPT. Either call is one HTTP request (with the client's auto-pipelining, the
 * calls of one tick share it).
 */
export function upstashRunner(client: UpstashClient): ScriptRunner {
  // Hashing is done once per script, not per call.
  const prepared = new WeakMap<RedisScript, Promise<{ lua: string; sha: string }>>();
  function prepare(script: RedisScript) {
    let entry = prepared.get(script);
    if (!entry) {
      const lua = armoredLua(script.lua);
      entry = sha1Hex(lua).then((sha) => ({ lua, sha }));
      prepared.set(script, entry);
    }
    return entry;
  }

  return {
    async run(script, keys, args) {
      const { lua, sha } = await prepare(script);
      const keyList = [...keys];
      // Numbers go as decimal strings, so no server-side JSON number formatting is involved.
      const argList = args.map(String);
      let reply: unknown;
      try {
        reply = await client.evalsha(sha, keyList, argList).catch((error: unknown) => {
          if (!NOSCRIPT.test(serverMessage(error).message)) throw error;
          return client.eval(lua, keyList, argList);
        });
      } catch (error) {
        throw storeError(`the ${script.name} script`, error);
      }
      try {
        return unwrap(reply);
      } catch (error) {
        throw storeError(`the ${script.name} script`, error);
      }
    },

    async ping() {
      const started = performance.now();
      let reply: unknown;
      try {
        reply = await client.ping();
      } catch (error) {
        throw storeError("PING", error);
      }
      if (reply !== "PONG") throw storeError("PING", new UnexpectedReply("not PONG; is a fixed abort signal set on the client?"));
      return performance.now() - started;
    },
  };
}
