/**
 * cloakroom: server-side sessions behind an encrypted ticket, for Node, Bun, Deno and
 * Cloudflare Workers. The browser holds a small JWE that names a session; the session lives
 * in a store; keys rotate without signing anyone out.
 *
 * @example
 * import { createSessions } from "cloakroom";
 * import { memoryStore } from "cloakroom/adapters/memory";
 *
 * const sessions = createSessions<{ count: number }>({ store: memoryStore(), keys: process.env.SESSION_KEYS });
 * const session = await sessions.read(request);
 * session.update("count", (count = 0) => count + 1);
 * const setCookie = await sessions.commit(session);
 *
 * @module
 */
export { createSessions } from "./manager.ts";
export type { Sessions, SessionInfo, HealthReport, ReadOptions } from "./manager.ts";
export type { StoreErrorPolicy } from "./read.ts";
export type { HealthStatus } from "./health.ts";
export type { Session, Binding } from "./session.ts";
export type { DeviceBound, DeviceAlgorithm, DeviceBoundOptions, ProofRefusal } from "./dbsc/index.ts";
export type { RenewOptions } from "./renew-options.ts";
export type { SessionsOptions, CookieOptions, CookieCacheOptions } from "./options.ts";
export type { SessionAdoption } from "./adopt-hook.ts";
export type { CookieSource } from "./cookie.ts";
export { SessionError } from "./errors.ts";
export type { SessionErrorCode } from "./errors.ts";
export type { SessionEvent, InvalidReason, EventListener, ReadOutcome } from "./events.ts";
export { generateKey, parseKeys } from "./keyring.ts";
export type { KeyInput, KeysInput } from "./keyring.ts";
export { inspectKeys } from "./key-report.ts";
export type { InspectKeysOptions, KeyReport, KeyReportEntry, KeyRole } from "./key-report.ts";
export { userTag, tagOf, isHandle } from "./session-id.ts";
export { guardedStore } from "./resilience/guarded-store.ts";
export type { GuardedStore, GuardOptions } from "./resilience/guarded-store.ts";
export { tieredStore } from "./resilience/tiered-store.ts";
export type { TieredStore, TieredStoreOptions } from "./resilience/tiered-store.ts";
export type { BreakerOptions, BreakerState } from "./resilience/circuit-breaker.ts";
export { migratingStore } from "./migration/migrating-store.ts";
export type { CopyOutcome, MigratingStore, MigratingStoreOptions } from "./migration/migrating-store.ts";
export { copySessions } from "./migration/copy-sessions.ts";
export type { CopyProgress, CopySessionsOptions } from "./migration/copy-sessions.ts";
export { rateLimit } from "./rate-limit.ts";
export { withSession } from "./integrations/fetch.ts";
export type { WithSessionOptions } from "./integrations/fetch.ts";
export type { RateLimiter, RateLimitOptions, RateLimitResult } from "./rate-limit.ts";
export type {
  SessionStore, SessionRecord, ReadResult, TouchRequest, UserSession, CounterResult, StoreHealth, ScanPage, ScanOptions,
} from "./store.ts";
