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
 *   even then, nor is one whose successor was regenerated since: within the grace it reads as
 *   not found, as before markers existed (retired-chain.ts says why).
 * - After the grace it is *reuse*: one of two parties holds a copy. It reads as no session
 *   (reason "reused"), raises `ticket-reused` with the live successor's handle, and with
 *   `onReuse: "revoke"` ends the successor too; the chain is followed only while it stays the
 *   same user's, so a ticket from before a sign-out never reaches the next user's session.
 *
 * The normal path costs nothing: a live ticket's read is still one store call, and a marker is
 * found by that same call. Only a retired ticket pays for following the chain of successors.
 *
 * @module
 */
import { anonymous } from "./anonymous.ts";
import type { Context } from "./context.ts";
import { followChain } from "./retired-chain.ts";
import { Session, stateOfRecord, type SessionState } from "./session.ts";
import { drawId } from "./session-id.ts";
import type { SessionRecord } from "./store.ts";
import type { OpenedEntry } from "./ticket-cache.ts";

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

  if (now - marker.lastSeenAt < graceMs) {
    // In flight while the id was regenerated (a sign-in, a privilege change): not reuse, but
    // never the new session either, or an id planted before sign-in would work after it.
    if (marker.data.retired !== "renew") return anonymous(ctx, true, "not-found", retired);
    // In flight during the renewal: served from the successor, which this read touches. Only
    // through renewals: a sign-in right after the renewal is no more this id's than one before.
    const touch = { now, interval: ctx.config.touchIntervalMs };
    const end = await followChain(ctx, marker.successor!, now, { through: "renewals", userId: marker.userId, touch });
    if (!end.record) return anonymous(ctx, true, "not-found", retired);
    const { record, handle } = end;
    if (end.touched) ctx.emit?.({ type: "touched", handle });
    ctx.emit?.({ type: "read", outcome: "session" });
    return new Session<Data>(
      ctx.newState({
        ticket,
        hadCookie: true,
        // Unknown on purpose: this request cannot seal a ticket for the successor (commit.ts).
        sid: undefined,
        handle,
        kid: entry.kid,
        ...stateOfRecord(record),
      }),
    );
  }

  // Reuse: a copy of this cookie is in use somewhere, by the thief or by the victim.
  // Followed only while it stays the same user's: the ticket of a user who signed out must not
  // end the session of whoever signed in next on that device.
  const end = await followChain(ctx, marker.successor!, now, { through: "same-user", userId: marker.userId });
  let revoked = false;
  if (end.record && renew?.onReuse === "revoke") {
    const live = end.handle;
    await ctx.storeCall("delete", () => ctx.store.delete(live));
    ctx.emit?.({ type: "destroyed", handle: live });
    revoked = true;
  }
  ctx.emit?.({ type: "ticket-reused", handle: retired, successor: end.handle, live: end.record !== null, userId: marker.userId, revoked });
  return anonymous(ctx, true, "reused", retired);
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
  const { sid, handle } = await drawId(base.userId);
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
    // Unknown whether the marker landed. Moving to the successor would be wrong if it did not
    // and the session was revoked meanwhile (the successor was created after the revocation: a
    // live copy of a revoked session). So the successor goes and the browser stays on the old
    // id; if the marker did land, the worst case is that id reading as not found, or as reuse
    // after the grace: a sign-out, on the safe side.
    retired = false;
  }
  if (!retired) {
    // A parallel request wrote (or renewed) first, or the marker's write failed: the old id
    // stands, and a later request renews instead.
    await ctx.storeCall("delete", () => ctx.store.delete(handle)).catch(() => {});
    return;
  }
  ctx.emit?.({ type: "renewed", handle, previous });
  Object.assign(state, { sid, handle, record: successor, ticket: undefined, kid: undefined, issuedAt: now });
}
