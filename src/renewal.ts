/**
 * Rotating session ids with reuse detection (the `renew` option).
 *
 * - An active session gets a fresh id at most every `renew.every` seconds, on a response that
 *   carries nothing else new: the successor is created under the new id, then the old record
 *   becomes a *retired marker* (store rule 10) by one compare-and-set, and the response sets the
 *   new ticket. A parallel write that lands between the two makes the compare-and-set fail: the
 *   successor is deleted again and a later request renews instead, so nothing is lost.
 * - A retired ticket that comes back within `renew.grace` is a request that was in flight
 *   during the renewal: it is served from the successor, its changes are written there, and it
 *   sets no cookie (it does not know the successor's id; the renewing response carries it).
 *   An id retired by `regenerate` (sign-in, privilege change) is not served from its successor
 *   even then: within the grace it reads as not found, as before markers existed.
 * - After the grace it is *reuse*: one of two parties holds a copy. It reads as no session
 *   (reason "reused"), raises `ticket-reused` with the live successor's handle, and with
 *   `onReuse: "revoke"` ends the successor too.
 *
 * The normal path costs nothing: a live ticket's read is still one store call, and a marker is
 * found by that same call. Only a retired ticket pays for following the chain of successors.
 *
 * @module
 */
import type { Context } from "./context.ts";
import { isSessionRecord } from "./record.ts";
import { Session, type SessionState } from "./session.ts";
import { handleOf, newSessionId } from "./session-id.ts";
import type { ReadResult, SessionRecord, TouchRequest } from "./store.ts";
import type { OpenedEntry } from "./ticket-cache.ts";

/** How many renewals a chain of markers is followed through before giving up on it. */
const MAX_HOPS = 16;
/** For markers left by an earlier configuration that had `renew` and no longer does. */
const DEFAULT_GRACE_MS = 5_000;

/** Why an id was retired; a marker's data holds it (the store treats it as any data). */
export type Retirement = "renew" | "regenerate";

/**
 * What an id leaves behind when renew or regenerate retires it (store rule 10): alive until the
 * session's absolute expiry, `lastSeenAt` the moment of retirement, pointing at the session
 * that replaced it, its data only why. One version on from `base`: a compare-and-set over it.
 */
export function retiredMarker(base: SessionRecord, successor: string, now: number, why: Retirement): SessionRecord {
  return {
    userId: base.userId,
    data: { retired: why },
    version: base.version + 1,
    createdAt: base.createdAt,
    lastSeenAt: now,
    expiresAt: base.absoluteExpiresAt,
    absoluteExpiresAt: base.absoluteExpiresAt,
    idleTimeout: base.idleTimeout,
    successor,
  };
}

interface ChainEnd {
  /** The last handle reached. */
  handle: string;
  /** Its record when it is a live session (not a marker); null when the chain ends in nothing. */
  record: SessionRecord | null;
  touched: boolean;
}

/** Follows successors from `handle` to the first live session. */
async function chainEnd(ctx: Context, handle: string, now: number, touch?: TouchRequest): Promise<ChainEnd> {
  let at = handle;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const found = await ctx.storeCall("read", () => ctx.store.read(at, touch));
    const record = found?.record;
    if (!found || !isSessionRecord(record) || record.expiresAt <= now || record.absoluteExpiresAt <= now) {
      return { handle: at, record: null, touched: false };
    }
    if (record.successor === undefined) return { handle: at, record, touched: found.touched };
    at = record.successor;
  }
  return { handle: at, record: null, touched: false };
}

function noSession<Data extends object>(ctx: Context, reason: "not-found" | "reused", handle: string): Session<Data> {
  ctx.emit?.({ type: "invalid", reason, handle });
  ctx.emit?.({ type: "read", outcome: "invalid" });
  return new Session<Data>(ctx.newState({ hadCookie: true, invalidReason: reason }));
}

/** A read that found a retired marker under the ticket's handle. */
export async function readRetired<Data extends object>(
  ctx: Context,
  ticket: string,
  entry: OpenedEntry,
  marker: SessionRecord,
  now: number,
): Promise<Session<Data>> {
  const renew = ctx.config.renew;
  const graceMs = renew?.graceMs ?? DEFAULT_GRACE_MS;
  const retired = entry.handle;

  if (now - marker.lastSeenAt < graceMs && marker.data.retired !== "renew") {
    // In flight while the id was regenerated (a sign-in, a privilege change): not reuse, but
    // never the new session either, or an id planted before sign-in would work after it.
    return noSession(ctx, "not-found", retired);
  }
  if (now - marker.lastSeenAt < graceMs) {
    // In flight during the renewal: served from the successor, which this read touches.
    const end = await chainEnd(ctx, marker.successor!, now, { now, interval: ctx.config.touchIntervalMs });
    const record = end.record;
    if (!record) return noSession(ctx, "not-found", retired);
    if (end.touched) ctx.emit?.({ type: "touched", handle: end.handle });
    ctx.emit?.({ type: "read", outcome: "session" });
    return new Session<Data>(
      ctx.newState({
        ticket,
        hadCookie: true,
        // Unknown on purpose: this request cannot seal a ticket for the successor (commit.ts).
        sid: undefined,
        handle: end.handle,
        kid: entry.kid,
        record,
        data: { ...record.data },
        userId: record.userId,
        readUserId: record.userId,
        idleMs: record.idleTimeout,
        absoluteMs: record.absoluteExpiresAt - record.createdAt,
      }),
    );
  }

  // Reuse: a copy of this cookie is in use somewhere, by the thief or by the victim.
  const end = await chainEnd(ctx, marker.successor!, now);
  let revoked = false;
  if (end.record && renew?.onReuse === "revoke") {
    await ctx.storeCall("delete", () => ctx.store.delete(end.handle));
    ctx.emit?.({ type: "destroyed", handle: end.handle });
    revoked = true;
  }
  ctx.emit?.({ type: "ticket-reused", handle: retired, successor: end.handle, live: end.record !== null, userId: marker.userId, revoked });
  return noSession(ctx, "reused", retired);
}

/**
 * A commit whose compare-and-set lost to a renewal re-reads and finds a marker: its write goes
 * to the successor (followed through the chain), so a request in flight during a renewal loses
 * nothing. The session then no longer knows its id, and sets no cookie.
 */
export async function followRetired(ctx: Context, state: SessionState, found: ReadResult | null): Promise<ReadResult | null> {
  let current = found;
  for (let hop = 0; current && isSessionRecord(current.record) && current.record.successor !== undefined; hop++) {
    if (hop >= MAX_HOPS) return null;
    const next = current.record.successor;
    state.handle = next;
    state.sid = undefined;
    current = await ctx.storeCall("read", () => ctx.store.read(next));
  }
  return current;
}

/**
 * Renews the session's id when `renew.every` has passed since it was issued. Called by commit
 * after the request's own write, on a session read from the store (not from a cookie-cache
 * snapshot). A store failure here leaves the session as it is: renewal is never worth a 503.
 */
export async function renewIfDue(ctx: Context, state: SessionState, now: number): Promise<void> {
  const renew = ctx.config.renew;
  const base = state.record;
  if (!renew || !base || state.sid === undefined || state.destroy || state.degraded) return;
  if (state.issuedAt !== undefined && now - state.issuedAt < renew.everyMs) return;
  const previous = state.handle!;
  // A user's session keeps the user's tag (store rule 8); an anonymous one gets a new random tag.
  const sid = newSessionId(base.userId);
  const handle = await handleOf(sid);
  const successor: SessionRecord = { ...base, version: 1, lastSeenAt: now, expiresAt: Math.min(now + base.idleTimeout, base.absoluteExpiresAt) };
  try {
    if (!(await ctx.storeCall("write", () => ctx.store.write(handle, successor, 0)))) return;
  } catch {
    return;
  }
  let retired: boolean;
  try {
    retired = await ctx.storeCall("write", () => ctx.store.write(previous, retiredMarker(base, handle, now, "renew"), base.version));
  } catch {
    // Unknown whether the marker landed. The successor exists: moving to it is the safe side
    // (at worst the old id stays live, as it was without renew), while staying could leave the
    // browser holding a retired ticket that reads as reuse after the grace.
    retired = true;
  }
  if (!retired) {
    // A parallel request wrote (or renewed) first: its change stands, this renewal waits.
    await ctx.storeCall("delete", () => ctx.store.delete(handle)).catch(() => {});
    return;
  }
  ctx.emit?.({ type: "renewed", handle, previous });
  Object.assign(state, { sid, handle, record: successor, ticket: undefined, kid: undefined, issuedAt: now });
}
