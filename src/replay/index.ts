/**
 * `cloakroom/replay`: resumable connections. An ordered log of events per channel, pruned by
 * acknowledgement and by retention, that a reconnecting client catches up from exactly (in
 * order, once, or with a plain gap); live members kept by heartbeats; and single-use resume
 * tokens, sealed with the sessions' keyring and bound to a session, a channel and a position.
 * The server keeps no socket state: everything lives in the backend.
 *
 * Backends sit beside the session store of the same name: `memoryReplay` in
 * `cloakroom/adapters/memory`, `redisReplay` in `cloakroom/adapters/ioredis` and
 * `cloakroom/adapters/upstash`, `postgresReplay` in `cloakroom/adapters/postgres`; and
 * `cachedReplay` (here) puts a Redis window in front of Postgres.
 *
 * @example
 * import { createSessions } from "cloakroom";
 * import { createReplayLog } from "cloakroom/replay";
 * import { memoryReplay } from "cloakroom/adapters/memory";
 *
 * const log = createReplayLog<{ text: string }>({ backend: memoryReplay(), retention: 3600, maxEvents: 1000, sessions });
 * await log.append("room:1", { text: "hello" });                     // { seq: 1 }
 * const token = await log.issueResumeToken(session, "room:1", 1);
 * // ...the connection drops; the client comes back with its token:
 * const resumed = await log.resume(token, session);                   // { ok: true, channel: "room:1", seq: 1 }
 * if (resumed.ok) await log.since(resumed.channel, resumed.seq);      // { gap: false, events, more, head }
 *
 * @module
 */
export { createReplayLog } from "./log.ts";
export type { ReplayLog, ReplayEvent, ReplayMember, SinceResult } from "./log.ts";
export type { ReplayLogOptions } from "./options.ts";
export type { ResumeResult, ResumeRefusal, SessionRef } from "./resume.ts";
export { cachedReplay } from "./cached-backend.ts";
export type { CachedReplay, CachedReplayOptions } from "./cached-backend.ts";
export type { ReplayBackend, ReplayPolicy, ReplayWindow, StoredEvent, MemberRecord, ReadResult as ReplayReadResult } from "./backend.ts";
