/**
 * Committing a session: nothing changed -> no write and no cookie; changed -> compare-and-set
 * with replay of the recorded operations; new, regenerated, re-keyed or sealed with an old
 * key -> a fresh ticket in the Set-Cookie.
 *
 * @module
 */
import type { Context } from "./context.ts";
import { clearingCookie, ticketCookie } from "./cookie.ts";
import { SessionError } from "./errors.ts";
import { isSessionRecord } from "./record.ts";
import { renewIfDue, retiredMarker } from "./renewal.ts";
import { followRetired } from "./retired-chain.ts";
import { FLASH_KEY, replay, sessionState, type Session, type SessionState } from "./session.ts";
import { drawId, tagOf, userTag, type DrawnId } from "./session-id.ts";
import { deleteSession } from "./sign-out.ts";
import type { SessionRecord } from "./store.ts";
import { deepFreeze, sealTicket, type Snapshot, type TicketClaims } from "./ticket.ts";

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function nextRecord(state: SessionState, base: SessionRecord, now: number): SessionRecord {
  const absoluteExpiresAt = state.absoluteChanged ? base.createdAt + state.absoluteMs : base.absoluteExpiresAt;
  return {
    userId: state.userId,
    data: state.data,
    version: base.version + 1,
    createdAt: base.createdAt,
    lastSeenAt: now,
    expiresAt: Math.min(now + state.idleMs, absoluteExpiresAt),
    absoluteExpiresAt,
    idleTimeout: state.idleMs,
    ...(base.device !== undefined && { device: base.device }),
  };
}

/**
 * Compare-and-set `make(base)` over the record under the session's handle, re-reading and
 * replaying the recorded operations on every conflict. Returns the record written, or null
 * when the record vanished meanwhile (signed out or revoked elsewhere).
 */
async function compareAndSet(
  ctx: Context,
  state: SessionState,
  make: (base: SessionRecord) => SessionRecord,
): Promise<SessionRecord | null> {
  const { store, config } = ctx;
  let base = state.record!;
  for (let attempt = 0; ; attempt++) {
    const next = make(base);
    // Read each time: a re-read that finds a retired id moves the session to its successor.
    const handle = state.handle!;
    if (await ctx.storeCall("write", () => store.write(handle, next, base.version))) return next;
    if (attempt >= config.conflictRetries) {
      throw new SessionError(
        "ERR_SESSION_CONFLICT",
        `the session kept changing under ${attempt + 1} write attempts; raise conflictRetries or write the session less often.`,
      );
    }
    ctx.emit?.({ type: "conflict-retried", handle, attempt: attempt + 1 });
    // Full jitter spreads out writers that collided, so the next round mostly does not.
    await wait(Math.random() * Math.min(250, 4 * 2 ** attempt));
    const fresh = await followRetired(ctx, state, await ctx.storeCall("read", () => store.read(handle)));
    if (!fresh || !isSessionRecord(fresh.record)) return null;
    base = fresh.record;
    replay(state, base);
  }
}

/**
 * A new id: the old record is retired first, by compare-and-set, so a regenerate can neither
 * bring back a session revoked meanwhile nor lose a parallel request's change (both show up
 * as a conflict, and the replay sees them). Then the new record is created. A failure in
 * between leaves the user signed out, never holding two live ids.
 *
 * The absolute lifetime carries over when the user stays the same: regenerating must not
 * extend a session past its absolute expiry. Signing in (a new user) starts a new one.
 * Returns false when the old record vanished (the commit then saves nothing).
 */
async function renew(ctx: Context, state: SessionState, now: number): Promise<boolean> {
  const { store, emit } = ctx;
  const previous = state.record ? state.handle : undefined;
  // With renew on, the old id stays behind as a marker naming the new one (store rule 10, for
  // reuse detection), so the new id is drawn first.
  const marks = previous !== undefined && ctx.config.renew !== undefined;
  let drawn = state.nextId ? await state.nextId : undefined;
  state.nextId = undefined;
  state.nextHandle = undefined;
  if (marks && !fitsUser(drawn, state.userId)) drawn = await drawId(state.userId);
  let lifetime: { createdAt: number; absoluteExpiresAt: number } | undefined;
  let device: string | undefined;
  if (previous) {
    // Retired: expiresAt now, so it reads as gone at once and counts as version 0 after.
    const retired = await compareAndSet(ctx, state, (base) => {
      device = base.device;
      return marks ? retiredMarker(base, drawn!.handle, now, "regenerate") : { ...base, version: base.version + 1, lastSeenAt: now, expiresAt: now };
    });
    if (!retired) return false;
    if (retired.userId === state.userId) {
      lifetime = {
        createdAt: retired.createdAt,
        absoluteExpiresAt: state.absoluteChanged ? retired.createdAt + state.absoluteMs : retired.absoluteExpiresAt,
      };
    } else {
      // Another user on this device: the device binding belonged to the one before.
      device = undefined;
    }
  }

  // The id carries the user's tag; one drawn before userId changed is drawn again.
  const { sid, handle } = fitsUser(drawn, state.userId) ? drawn : await drawId(state.userId);
  const createdAt = lifetime?.createdAt ?? now;
  const absoluteExpiresAt = lifetime?.absoluteExpiresAt ?? now + state.absoluteMs;
  const record: SessionRecord = {
    userId: state.userId,
    data: state.data,
    version: 1,
    createdAt,
    lastSeenAt: now,
    expiresAt: Math.min(now + state.idleMs, absoluteExpiresAt),
    absoluteExpiresAt,
    idleTimeout: state.idleMs,
    ...(device !== undefined && { device }),
  };
  if (!(await ctx.storeCall("write", () => store.write(handle, record, 0)))) {
    throw new SessionError(
      "ERR_SESSION_STORE",
      `the ${store.name} store already holds a record under a freshly drawn id (a retried commit, or a store that ignores versions); commit again.`,
    );
  }
  if (previous) {
    // The retired record is dead already; removing it is housekeeping and may fail harmlessly.
    // (A marker stays: it is what tells a reused ticket.)
    if (!marks) await ctx.storeCall("delete", () => store.delete(previous)).catch(() => {});
    if (state.ticket) ctx.cache.delete(state.ticket);
    emit?.({ type: "regenerated", handle, previous });
  } else {
    emit?.({ type: "created", handle });
  }
  Object.assign(state, {
    sid, handle, record, kid: undefined, ticket: undefined, regenerate: false, readUserId: state.userId, issuedAt: now, reissued: true,
  });
  return true;
}

function fitsUser(drawn: DrawnId | undefined, userId: string | null): drawn is DrawnId {
  return drawn !== undefined && (userId === null || tagOf(drawn.sid) === userTag(userId));
}


/**
 * The cookie cache's copy of the session, trusted until `validUntil`. A session served from a
 * snapshot and sealed again without a store call in between (a key rotation re-seals it)
 * keeps its old snapshot's window (`carried`), or the window would grow with every re-seal
 * and a revocation could go unseen past it. The data is a frozen copy: the snapshot outlives
 * this request in the ticket cache, and the request may go on changing its own data.
 */
function snapshotOf(ctx: Context, record: SessionRecord, now: number, carried?: { at: number; until: number }): Snapshot {
  const include = ctx.config.cookieCacheInclude;
  const data = include ? include(record.data) : record.data;
  // Flash messages always ride along: reading one from a partial snapshot would miss it.
  const flashes = include && record.data[FLASH_KEY] !== undefined ? { [FLASH_KEY]: record.data[FLASH_KEY] } : undefined;
  const at = carried?.at ?? now;
  return {
    userId: record.userId,
    version: record.version,
    data: deepFreeze(structuredClone(flashes ? { ...data, ...flashes } : data)),
    complete: include === undefined,
    createdAt: record.createdAt,
    absoluteExpiresAt: record.absoluteExpiresAt,
    idleTimeout: record.idleTimeout,
    at,
    validUntil: Math.min(at + ctx.config.cookieCacheMs, record.expiresAt, record.absoluteExpiresAt, carried?.until ?? Infinity),
  };
}

async function seal(ctx: Context, state: SessionState, now: number, carried?: { at: number; until: number }): Promise<string> {
  const record = state.record!;
  const key = ctx.activeKey(now);
  const previousKid = state.kid;
  // When the id was issued rides in the ticket only for `renew`, the one reader of it.
  const issuedAt = ctx.config.renew ? state.issuedAt : undefined;
  const claims: TicketClaims = {
    sid: state.sid!,
    exp: Math.ceil(record.absoluteExpiresAt / 1000),
    ...(issuedAt !== undefined && { issuedAt }),
  };
  let snapshot = ctx.config.cookieCacheMs > 0 ? snapshotOf(ctx, record, now, carried) : undefined;
  let ticket = await sealTicket(snapshot ? { ...claims, snapshot } : claims, key);
  if (snapshot && ctx.config.cookie.name.length + 1 + ticket.length > ctx.config.maxCookieBytes) {
    // Too much data to ride along: this ticket goes without a snapshot rather than be refused.
    snapshot = undefined;
    ticket = await sealTicket(claims, key);
  }
  if (previousKid && previousKid !== key.id) {
    ctx.emit?.({ type: "resealed", handle: state.handle!, kid: key.id, fromKid: previousKid });
  }
  if (state.ticket) ctx.cache.delete(state.ticket);
  // The next request carries exactly this string: remember it so it costs no decrypt.
  ctx.cache.set(ticket, {
    sid: state.sid!,
    handle: state.handle!,
    expiresAt: record.absoluteExpiresAt,
    kid: key.id,
    validUntil: Math.min(record.absoluteExpiresAt, key.notAfter),
    ...(issuedAt !== undefined && { issuedAt }),
    ...(snapshot && { snapshot }),
  });
  Object.assign(state, { ticket, kid: key.id, hadCookie: true, snapshotStale: false });
  return ticketCookie(ctx.config.cookie, ticket, record.absoluteExpiresAt, now);
}

function forget(ctx: Context, state: SessionState): void {
  if (state.ticket) ctx.cache.delete(state.ticket);
  Object.assign(state, {
    record: null, sid: undefined, handle: undefined, kid: undefined, ticket: undefined, hadCookie: false,
    ops: [], absoluteChanged: false, regenerate: false, nextId: undefined, nextHandle: undefined,
  });
}

export async function commitSession(ctx: Context, session: Session<object>): Promise<string | null> {
  const state = sessionState(session);
  if (state?.owner !== ctx.owner) {
    throw new SessionError("ERR_SESSION_STATE", "commit got a session that this manager did not read; commit it with its own manager.");
  }
  const { config, store, emit } = ctx;
  const now = config.clock();

  if (state.degraded) {
    // Read while the store was down. A read-only request goes through; a change (sign-in,
    // sign-out, data) cannot be saved, and pretending it was would be worse than a 503.
    if (state.ops.length > 0 || state.regenerate || state.destroy) {
      throw new SessionError("ERR_SESSION_STORE", "the session store is unavailable, so this session's changes cannot be saved; try again shortly.");
    }
    return null;
  }

  if (state.destroy) {
    await deleteSession(ctx, state, now);
    const clear = state.hadCookie;
    forget(ctx, state);
    return clear ? clearingCookie(config.cookie) : null;
  }

  const changed = state.ops.length > 0;
  // A record built from the ticket's snapshot, not read from the store (see snapshotOf).
  const fromSnapshot = state.snapshotWindow !== undefined ? state.record : null;
  if (state.fromSnapshot === "partial" && state.record && (changed || state.regenerate)) {
    // A partial snapshot lacks keys a write would drop: start from the full record.
    const fresh = await ctx.storeCall("read", () => store.read(state.handle!));
    if (!fresh || !isSessionRecord(fresh.record)) {
      emit?.({ type: "invalid", reason: "not-found", handle: state.handle! });
      forget(ctx, state);
      return null;
    }
    state.record = fresh.record;
    replay(state, fresh.record);
  }
  state.fromSnapshot = false;
  const absoluteBefore = state.record?.absoluteExpiresAt;
  const versionBefore = state.record?.version;
  // Any change of user is a privilege change and gets a new id: signing in (which also moves
  // the session under the new user's tag, see session-id.ts), switching user, and signing out,
  // so the id a signed-in user had is not left live for the anonymous session that follows.
  if (state.record && state.userId !== state.record.userId) state.regenerate = true;
  let saved = true;
  if (state.regenerate || (!state.record && changed)) {
    saved = await renew(ctx, state, now);
  } else if (state.record && changed) {
    const written = await compareAndSet(ctx, state, (base) => nextRecord(state, base, config.clock()));
    if (written) state.record = written;
    saved = written !== null;
  }
  if (!saved) {
    // The record vanished under this request (signed out elsewhere, or regenerated by a
    // parallel request). Writing would resurrect it; clearing the cookie could undo the
    // parallel sign-in's new cookie. So: drop the changes, leave the cookie alone.
    emit?.({ type: "invalid", reason: "not-found", handle: state.handle! });
    forget(ctx, state);
    return null;
  }
  state.ops = [];
  state.absoluteChanged = false;
  // A record from a cookie-cache snapshot may be partial: renewal waits for a store read.
  // Without renew, no call at all: this runs on every commit, a repeat visitor's included.
  if (config.renew && state.record !== fromSnapshot) await renewIfDue(ctx, state, now);

  const record = state.record;
  if (!record) {
    // A ticket that can never open again (expired, or its key retired) is cleared. A record
    // the store did not find is not: a replica that lags or a store that fails over can
    // answer "not found" for a moment, and clearing would make that moment a logout.
    const dead = state.hadCookie && (state.invalidReason === "expired" || state.invalidReason === "key-retired" || state.invalidReason === "reused");
    state.hadCookie = false;
    return dead ? clearingCookie(config.cookie) : null;
  }
  // With the cookie cache on, a ticket also goes out when its snapshot is out of date: the
  // session was read from the store (the snapshot had expired) or has just been written.
  const snapshotDue = config.cookieCacheMs > 0 && (state.snapshotStale || record.version !== versionBefore);
  const needsTicket =
    state.ticket === undefined || state.kid !== ctx.activeKey(now).id || record.absoluteExpiresAt !== absoluteBefore || snapshotDue;
  // The cap holds while the record is still the snapshot's: nothing written, nothing read.
  if (record !== fromSnapshot) state.snapshotWindow = undefined;
  // A request that followed a retired id to its successor does not know the successor's id
  // (renewal.ts): the response that renewed it carries the ticket.
  if (state.sid === undefined) return null;
  return needsTicket ? seal(ctx, state, now, state.snapshotWindow) : null;
}
