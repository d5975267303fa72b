/**
 * The Redis session layer shared by the ioredis and Upstash adapters: key layout, Lua
 * scripts and the store built on a `ScriptRunner`. Internal: applications use
 * `cloakroom/adapters/ioredis` or `cloakroom/adapters/upstash`, which bundle it.
 *
 * @module
 */
export { redisSessionStore, type RedisSessionStore, type RedisSessionStoreOptions } from "./store.ts";
export { keyLayout, DEFAULT_KEY_PREFIX, type KeyLayout } from "./keys.ts";
export type { RedisScript, ScriptRunner } from "./script-runner.ts";
export { SCRIPTS } from "./scripts.ts";
