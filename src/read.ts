/**
 * Reading a session: cookie -> ticket (remembered, or opened) -> handle -> one store call.
 * Bad input of any kind reads as a new, empty session with an `invalid` event and never
 * reaches the store; a store fault throws.
 *
 * @module
 */
import { anonymous } from "./anonymous.ts";
import type { Context } from "./context.ts";
import { cookieHeaderOf, findTicket, type CookieSource } from "./cookie.ts";
import { SessionError } from "./errors.ts";
import type { InvalidReason } from "./events.ts";
import { isSessionRecord } from "./record.ts";
import { readRetired } from "./renewal.ts";
import { Session, stateOfRecord } from "./session.ts";
import { handleOf } from "./session-id.ts";
import { openTicket, type Snapshot } from "./ticket.ts";

/** What to do when the store cannot be reached: throw ERR_SESSION_STORE, or go on anonymous. */
export type StoreErrorPolicy = "throw" | "anonymous";

export interface ReadOptions {
  /**
   * "throw" (the default) raises ERR_SESSION_STORE, which the integrations answer with 503
   * ("fail closed"). "anonymous" returns an empty session marked `isDegraded`, whose commit
   * saves nothing and leaves the cookie alone: for pages that can be served signed out.
   * @default "throw"
   */
  onStoreError?: StoreErrorPolicy;
}

/** Clocks of two instances may differ this much; a snapshot from a little ahead still counts. */
const SNAPSHOT_SKEW_MS = 1000;

/**
 * How long this reader trusts a snapshot: the sealer's `validUntil`, but never more than this
 * reader's own `cookieCache.maxAge` after the data was read, nor past the ticket's expiry.
 * Whoever holds the key can seal any snapshot, so the window is the reader's to set: an
 * instance configured for 5 s does not serve an hour-long snapshot for an hour. Null when it is
 * not (or no longer, or not yet) trusted; the session is then read from the store.
 */
function snapshotWindow(maxAgeMs: number, snapshot: Snapshot, ticketExpiresAt: number, now: number) {
  if (maxAgeMs === 0 || snapshot.at > now + SNAPSHOT_SKEW_MS) return null;
  const until = Math.min(snapshot.validUntil, snapshot.at + maxAgeMs + SNAPSHOT_SKEW_MS, ticketExpiresAt);
  return until > now ? { at: snapshot.at, until } : null;
}

export function readSession<Data extends object>(ctx: Context, source: CookieSource, options: ReadOptions = {}): Promise<Session<Data>> {
  const reading = readFromStore<Data>(ctx, source);
  // Not an async wrapper: on the hot path (a store error throws) it would only add a hop.
  if (options.onStoreError !== "anonymous") return reading;
  return reading.catch((error: unknown) => {
    if (!(error instanceof SessionError) || error.code !== "ERR_SESSION_STORE") throw error;
    ctx.emit?.({ type: "read", outcome: "unavailable" });
    return new Session<Data>(ctx.newState({ hadCookie: true, degraded: true }));
  });
}

async function readFromStore<Data extends object>(ctx: Context, source: CookieSource): Promise<Session<Data>> {
  const { config, cache, store, emit } = ctx;
  const now = config.clock();
  const header = cookieHeaderOf(source);
  const found = findTicket(header, config.cookie.name, config.maxCookieBytes);
  if (found.kind === "none") return config.adopt ? config.adopt.readSession<Data>(ctx, header) : anonymous(ctx, false, null);
  if (found.kind === "too-large") return anonymous(ctx, true, "too-large");
  const ticket = found.ticket;

  let entry = cache.get(ticket, now);
  if (!entry) {
    const opened = await openTicket(ticket, ctx.keyring, now);
    if (!opened.ok) return anonymous(ctx, true, opened.reason);
    const expiresAt = opened.claims.exp * 1000;
    entry = {
      sid: opened.claims.sid,
      handle: await handleOf(opened.claims.sid),
      expiresAt,
      kid: opened.key.id,
      validUntil: Math.min(expiresAt, opened.key.notAfter),
      ...(opened.claims.issuedAt !== undefined && { issuedAt: opened.claims.issuedAt }),
      ...(opened.claims.snapshot && { snapshot: opened.claims.snapshot }),
    };
    cache.set(ticket, entry);
  }
  emit?.({ type: "opened", kid: entry.kid });

  const handle = entry.handle;
  const snapshot = entry.snapshot;
  const window = snapshot && snapshotWindow(config.cookieCacheMs, snapshot, entry.expiresAt, now);
  if (snapshot && window) {
    // The cookie cache: trusted for a few seconds, no store call. The data is copied, so what
    // this request does to it (even without set) never reaches the cached snapshot.
    emit?.({ type: "read", outcome: "session" });
    const data = copyOfSnapshotData(snapshot.data);
    return new Session<Data>(
      ctx.newState({
        ticket,
        hadCookie: true,
        sid: entry.sid,
        handle,
        kid: entry.kid,
        record: {
          userId: snapshot.userId,
          data: snapshot.data, // frozen (ticket.ts): read, never changed
          version: snapshot.version,
          createdAt: snapshot.createdAt,
          lastSeenAt: snapshot.at,
          expiresAt: Math.min(snapshot.at + snapshot.idleTimeout, snapshot.absoluteExpiresAt),
          absoluteExpiresAt: snapshot.absoluteExpiresAt,
          idleTimeout: snapshot.idleTimeout,
        },
        data,
        userId: snapshot.userId,
        readUserId: snapshot.userId,
        idleMs: snapshot.idleTimeout,
        absoluteMs: snapshot.absoluteExpiresAt - snapshot.createdAt,
        fromSnapshot: snapshot.complete ? "complete" : "partial",
        snapshotWindow: window,
        issuedAt: entry.issuedAt,
      }),
    );
  }

  const result = await ctx.storeCall("read", () => store.read(handle, { now, interval: config.touchIntervalMs }));
  if (!result) {
    // The entry stays: should the cookie come back, it costs a store call but no decrypt.
    return anonymous(ctx, true, "not-found", handle);
  }
  const record = result.record;
  if (!isSessionRecord(record)) return anonymous(ctx, true, "corrupt", handle);
  if (record.expiresAt <= now || record.absoluteExpiresAt <= now) {
    cache.delete(ticket);
    return anonymous(ctx, true, "expired", handle);
  }
  // An id that renew or regenerate retired (store rule 10): in flight, or reuse.
  if (record.successor !== undefined) return readRetired<Data>(ctx, ticket, entry, record, now);
  if (result.touched) emit?.({ type: "touched", handle });
  emit?.({ type: "read", outcome: "session" });

  return new Session<Data>(
    ctx.newState({
      ticket,
      hadCookie: true,
      sid: entry.sid,
      handle,
      kid: entry.kid,
      ...stateOfRecord(record),
      snapshotStale: config.cookieCacheMs > 0,
      issuedAt: entry.issuedAt,
    }),
  );
}

/**
 * A copy of a snapshot's (frozen) data the request may change. Only nested objects need a deep
 * copy; a flat record of strings and numbers, the usual cookie-cache case, is copied in a
 * hundredth of the time structuredClone takes.
 */
function copyOfSnapshotData(data: Record<string, unknown>): Record<string, unknown> {
  for (const key in data) {
    const value = data[key];
    if (typeof value === "object" && value !== null) return structuredClone(data);
  }
  return { ...data };
}
