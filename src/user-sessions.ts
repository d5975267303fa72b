/**
 * A user's sessions: list them ("your devices"), end them all ("sign out everywhere"), end
 * one by its public handle. Needs a store with the per-user index.
 *
 * @module
 */
import type { Context } from "./context.ts";
import { SessionError } from "./errors.ts";
import { isSessionRecord } from "./record.ts";
import { sessionState, type Session } from "./session.ts";
import { isHandle, tagOf, userTag } from "./session-id.ts";
import type { SessionStore } from "./store.ts";

/** One of a user's sessions, as `listUser` shows it. */
export interface SessionInfo {
  /** Public handle; pass it to `revokeSession` to sign that device out. */
  handle: string;
  userId: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  absoluteExpiresAt: number;
  data: Record<string, unknown>;
  /** Whether this is the session passed as `current`. */
  current: boolean;
}

function requireCapability<K extends "listUser" | "revokeUser">(store: SessionStore, name: K): NonNullable<SessionStore[K]> {
  const method = store[name];
  if (typeof method !== "function") {
    throw new SessionError(
      "ERR_SESSION_UNSUPPORTED",
      `the ${store.name} store has no per-user index, so ${name} is not available; use a store that implements listUser and revokeUser.`,
    );
  }
  return method.bind(store) as NonNullable<SessionStore[K]>;
}

function checkUserId(userId: unknown, operation: string): asserts userId is string {
  if (typeof userId !== "string" || userId.length === 0) {
    throw new SessionError("ERR_SESSION_STATE", `${operation} needs a non-empty userId string.`);
  }
}

export async function listUser(ctx: Context, userId: string, current?: Session<object>): Promise<SessionInfo[]> {
  checkUserId(userId, "listUser");
  const list = requireCapability(ctx.store, "listUser");
  const now = ctx.config.clock();
  const currentHandle = current ? sessionState(current).handle : undefined;
  const found = await ctx.storeCall("listUser", () => list(userId));
  return found
    .filter(({ record }) => isSessionRecord(record) && record.userId === userId && record.expiresAt > now && record.absoluteExpiresAt > now)
    .map(({ handle, record }) => ({
      handle,
      userId,
      createdAt: record.createdAt,
      lastSeenAt: record.lastSeenAt,
      expiresAt: record.expiresAt,
      absoluteExpiresAt: record.absoluteExpiresAt,
      data: record.data,
      current: handle === currentHandle,
    }))
    .sort((a, b) => b.lastSeenAt - a.lastSeenAt);
}

export async function revokeUser(ctx: Context, userId: string, except?: Session<object> | string): Promise<number> {
  checkUserId(userId, "revokeUser");
  const revoke = requireCapability(ctx.store, "revokeUser");
  const spared = typeof except === "string" ? except : except ? sessionState(except).handle : undefined;
  const count = await ctx.storeCall("revokeUser", () => revoke(userId, spared ? { except: spared } : {}));
  ctx.emit?.({ type: "revoked", userId, count });
  return count;
}

export async function revokeSession(ctx: Context, userId: string, handle: string): Promise<boolean> {
  checkUserId(userId, "revokeSession");
  // A user's sessions all carry the user's tag, so anything else is not theirs: no store call.
  if (!isHandle(handle) || tagOf(handle) !== userTag(userId)) return false;
  const found = await ctx.storeCall("read", () => ctx.store.read(handle));
  if (!found || !isSessionRecord(found.record) || found.record.userId !== userId) return false;
  await ctx.storeCall("delete", () => ctx.store.delete(handle));
  ctx.emit?.({ type: "destroyed", handle });
  return true;
}
