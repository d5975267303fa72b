/**
 * The seam between the Redis session logic (shared) and a Redis client (ioredis over TCP,
 * @upstash/redis over HTTP). All session semantics live in Lua scripts in this folder; a
 * client adapter only has to run a script atomically on the server.
 *
 * Web-standard: this folder is used by the Upstash adapter in workerd.
 *
 * @module
 */

/** A Lua script with the name it is reported under (events, errors). */
export interface RedisScript {
  readonly name: string;
  readonly lua: string;
}

export interface ScriptRunner {
  /**
   * Runs `script` atomically with KEYS and ARGV, in one round trip in the steady state
   * (EVALSHA, falling back to EVAL once on NOSCRIPT). Returns the raw reply: integers as
   * numbers, bulk strings as strings, nil as null, arrays as arrays. Throws on a connection
   * or server error; never returns an error as a value.
   */
  run(script: RedisScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;

  /**
   * A plain `GET` of one key (optional): the string, or null when the key is missing or holds
   * another type (WRONGTYPE: not a record this store wrote). Throws on a connection or server
   * error. A runner that has it lets the store read a session whose touch is not due with the
   * cheapest command there is; without it every read runs the READ script.
   */
  get?(key: string): Promise<string | null>;

  /**
   * One SCAN step over every server holding keys (optional): the keys matching `pattern`, as
   * the store names them (without a prefix the client adds itself), and the cursor to continue
   * from, null when the walk is done. `cursor` null starts it. The cursor is opaque to the store
   * and may be saved. Without it the store scans with a script (one server only).
   */
  scan?(cursor: string | null, pattern: string, count: number): Promise<{ keys: string[]; next: string | null }>;

  /** PING round trip in ms, for health. */
  ping(): Promise<number>;
}
