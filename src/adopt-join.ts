/**
 * The sessions an adoption hands out (src/adopt.ts): none, or the session a legacy session
 * became, joined by every request that comes with the legacy cookie while it may (a parallel
 * request, one still in flight, a retry).
 *
 * With `renew` on, the id an adoption derives is retired like any other (store rule 10), and
 * the record under it is then a marker, never the session. A marker left by renewals is
 * followed to the session they lead to, the way a ticket in flight during a renewal is served
 * (src/renewal.ts); the joining request then does not know that session's id and sets no
 * ticket (the renewing response carries it). Anything else reads as not found: a marker left
 * by regenerate (a sign-in, a sign-out: what came after must not open with the legacy cookie),
 * a chain that ends in nothing, changes user or runs on too long.
 *
 * @module
 */
import { clearOnCommit } from "./adopt-hook.ts";
import type { Context } from "./context.ts";
import type { InvalidReason } from "./events.ts";
import { isSessionRecord } from "./record.ts";
import { Session, stateOfRecord, type SessionState } from "./session.ts";
import type { SessionRecord } from "./store.ts";

/** How many renewals of an adopted id are followed before giving up (renewal.ts follows as many). */
const MAX_RENEWALS = 16;

/** What the joining needs of an adopter: its name and how to clear its cookie. */
export interface AdopterCookie {
  readonly name: string;
  readonly clearCookie: string;
}

function sessionOf<Data extends object>(ctx: Context, state: Partial<SessionState>, adopter: AdopterCookie): Session<Data> {
  const session = new Session<Data>(ctx.newState(state));
  clearOnCommit(session, adopter.clearCookie);
  return session;
}

/**
 * No session, the legacy cookie cleared on the response. `detail` names the adopter option at
 * fault and the fix, when the application's own code refused the legacy session.
 */
export function noSession<Data extends object>(
  ctx: Context,
  adopter: AdopterCookie,
  reason: InvalidReason,
  handle?: string,
  detail?: string,
): Session<Data> {
  ctx.emit?.({ type: "invalid", reason, ...(handle !== undefined && { handle }), ...(detail !== undefined && { detail }) });
  ctx.emit?.({ type: "read", outcome: "invalid" });
  return sessionOf<Data>(ctx, { hadCookie: false, invalidReason: reason }, adopter);
}

function isLive(record: SessionRecord, now: number): boolean {
  return record.expiresAt > now && record.absoluteExpiresAt > now;
}

/**
 * The live session `record` (found under `handle`) stands for: itself, or the end of its
 * chain of renewals, of the same user. Null when there is none to join.
 */
async function liveEnd(ctx: Context, handle: string, record: SessionRecord, now: number): Promise<{ handle: string; record: SessionRecord } | null> {
  let at = { handle, record };
  for (let hop = 0; at.record.successor !== undefined; hop++) {
    if (hop >= MAX_RENEWALS || at.record.data.retired !== "renew") return null;
    const next = at.record.successor;
    const found = await ctx.storeCall("read", () => ctx.store.read(next, { now, interval: ctx.config.touchIntervalMs }));
    const successor = found?.record;
    if (!isSessionRecord(successor) || !isLive(successor, now) || successor.userId !== at.record.userId) return null;
    at = { handle: next, record: successor };
  }
  return at;
}

/**
 * The session the adoption made under `sid`, whose record the store returned: joined with
 * the legacy cookie cleared on the response. Its id was issued when the record was created,
 * so `renew` counts from then: the adopting response itself does not renew.
 */
export async function joinAdopted<Data extends object>(
  ctx: Context,
  adopter: AdopterCookie,
  sid: string,
  handle: string,
  record: SessionRecord,
  now: number,
): Promise<Session<Data>> {
  if (!isLive(record, now)) return noSession(ctx, adopter, "expired", handle);
  const end = await liveEnd(ctx, handle, record, now);
  if (!end) return noSession(ctx, adopter, "not-found", handle);
  const followed = end.handle !== handle;
  ctx.emit?.({ type: "read", outcome: "session" });
  return sessionOf<Data>(
    ctx,
    {
      hadCookie: false,
      // Unknown after a renewal: this request cannot seal a ticket for the successor.
      sid: followed ? undefined : sid,
      handle: end.handle,
      ...stateOfRecord(end.record),
      snapshotStale: ctx.config.cookieCacheMs > 0,
      ...(!followed && { issuedAt: end.record.createdAt }),
    },
    adopter,
  );
}
