/**
 * Following retired ids (store rule 10) to the session that replaced them.
 *
 * A marker left by `renew` names the *same* session under a new id. One left by `regenerate`
 * (a sign-in, a sign-out, a switch of user, a privilege change) names what is, for the holder
 * of the old id, *another* session: a request from before a sign-in must not write into the
 * signed-in session, an id planted before a sign-in must not read it, and an old ticket of a
 * user who signed out must not end the session of whoever signed in next on that device.
 *
 * So a chain is followed through renewals only, and never across a change of user. Reuse
 * detection alone also goes through a regenerate that kept the user (a privilege change): a
 * copy of the ticket from before it is still that user's, and `onReuse: "revoke"` must reach
 * the session it became.
 *
 * @module
 */
import type { Context } from "./context.ts";
import { isSessionRecord } from "./record.ts";
import type { SessionState } from "./session.ts";
import type { ReadResult, SessionRecord, TouchRequest } from "./store.ts";

/** How many markers a chain is followed through before giving up on it. */
export const MAX_HOPS = 16;

/**
 * Where a chain ends: in a live session (not a marker), with its handle; or in nothing, with
 * the last marker of the chain (null when not even the first handle belongs to it).
 */
export type ChainEnd =
  | { handle: string; record: SessionRecord; touched: boolean }
  | { handle: string | null; record: null; touched: false };

export interface FollowOptions {
  /**
   * "renewals": through "renew" markers only (serving, writing, signing out, resuming).
   * "same-user": through any marker of the same user (reuse detection).
   */
  through: "renewals" | "same-user";
  /** The user every record of the chain must have; by default the first record's. */
  userId?: string | null;
  /** Passed to each read, so the live end is touched in the same call (markers never are). */
  touch?: TouchRequest;
}

/**
 * Reads `start`, then its successors while they are markers the rule lets through, to the
 * first live session. One store call per handle on the chain.
 */
export async function followChain(ctx: Context, start: string, now: number, options: FollowOptions): Promise<ChainEnd> {
  let userId = options.userId;
  let at = start;
  let last: string | null = null;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const handle = at;
    const found = await ctx.storeCall("read", () => ctx.store.read(handle, options.touch));
    const record = found?.record;
    if (!found || !isSessionRecord(record) || record.expiresAt <= now || record.absoluteExpiresAt <= now) break;
    if (userId !== undefined && record.userId !== userId) break;
    userId = record.userId;
    last = handle;
    if (record.successor === undefined) return { handle, record, touched: found.touched };
    if (options.through === "renewals" && record.data.retired !== "renew") break;
    at = record.successor;
  }
  return { handle: last, record: null, touched: false };
}

/**
 * A commit whose compare-and-set lost re-reads and may find a marker. A renewal's is followed:
 * the write goes to the successor, so a request in flight during a renewal loses nothing; the
 * session then no longer knows its id, and sets no cookie. Any other marker reads as the
 * session gone (null), as it would without markers: a request from before a sign-in or a
 * sign-out drops its changes rather than write them into the session that came after.
 */
export async function followRetired(ctx: Context, state: SessionState, found: ReadResult | null): Promise<ReadResult | null> {
  let current = found;
  for (let hop = 0; current && isSessionRecord(current.record) && current.record.successor !== undefined; hop++) {
    if (hop >= MAX_HOPS || current.record.data.retired !== "renew") return null;
    const next = current.record.successor;
    state.handle = next;
    state.sid = undefined;
    current = await ctx.storeCall("read", () => ctx.store.read(next));
  }
  return current;
}
