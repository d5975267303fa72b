/** Handles and records shaped like the core's, for store tests. */
import { base64url } from "jose";
import { userTag } from "../session-id.ts";
import type { SessionRecord } from "../store.ts";

/**
 * A handle shaped like the core's: `<tag>.<43 base64url characters>`, under the user's tag
 * when it is for a user's session (store rule 8).
 */
export function testHandle(userId: string | null = null): string {
  const random = base64url.encode(crypto.getRandomValues(new Uint8Array(35)));
  return `${userId === null ? random.slice(43, 47) : userTag(userId)}.${random.slice(0, 43)}`;
}

/** A live record (a minute of idle time left, an hour of absolute), with `overrides` applied. */
export function testRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return {
    userId: null,
    data: { count: 1, nested: { list: [1, "two", null], flag: true } },
    version: 1,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + 60_000,
    absoluteExpiresAt: now + 3_600_000,
    idleTimeout: 60_000,
    ...overrides,
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Backends round expiries to their own units (Redis ms, Postgres µs); allow a little slack. */
export const SLACK_MS = 1_000;
