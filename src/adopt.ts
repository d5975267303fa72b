/**
 * Taking over the sessions of another library without signing anyone out. When a request has
 * no ticket but carries the other library's cookie, the manager asks the adoption given as its
 * `adopt` option (for express-session: `adoptExpressSession` from cloakroom/express-session)
 * and moves the session over: same data and user, a cloakroom id, the legacy record deleted
 * and the legacy cookie cleared on that response. This file holds the rules; an adopter only
 * checks a cookie and reads and deletes a record, so this part stays Web-standard. Only
 * `adoptLegacySessions` brings it in: the manager reaches it through the option
 * (adopt-hook.ts), so an application that adopts nothing does not bundle it.
 *
 * Why the new id is derived, not drawn: the legacy cookie is the only thing two requests of
 * one browser share before the browser has the ticket. The adopter gives a secret-keyed digest
 * of the legacy id (`seed`), the id is made from it, and the record is created by
 * compare-and-set on version 0, so parallel requests, on any number of instances, arrive at
 * one session: one creates it, the others join it. A short-lived pointer record lets requests
 * still in flight with the legacy cookie join after the legacy record is gone (the browser had
 * not yet stored the ticket); past that window the legacy cookie reads as no session.
 * Whoever joins gets the session as the store has it now, which with `renew` on may be a
 * retired marker: adopt-join.ts follows renewals and refuses everything else.
 *
 * @module
 */
import { parseCookie } from "cookie";
import { base64url } from "jose";
import type { SessionAdoption } from "./adopt-hook.ts";
import { joinAdopted, noSession } from "./adopt-join.ts";
import type { Context } from "./context.ts";
import { SessionError } from "./errors.ts";
import { isSessionRecord } from "./record.ts";
import { Session } from "./session.ts";
import { handleOf, tagOf, userTag } from "./session-id.ts";
import { assertStorable, isStorableText } from "./storable.ts";
import type { SessionRecord } from "./store.ts";

/**
 * A legacy record the adopter found but cannot turn into a session, because an option of the
 * application's refused it (express-session's `userIdOf` threw, or named no usable user). It
 * reads as "corrupt": no session, the legacy cookie cleared, `refused` in the event's detail.
 * Never a store fault: the store answered, and retrying would only fail again.
 */
export interface RefusedLegacySession {
  /** What went wrong, naming the option and the fix; no legacy data in it. */
  refused: string;
}

/** A legacy session, as the adopter found it. */
export interface LegacySession {
  /** What the cloakroom session holds from now on: a JSON object. */
  data: Record<string, unknown>;
  /** The signed-in user, or null for an anonymous session. */
  userId: string | null;
  /** Epoch ms after which the legacy session was over; null when it had no end of its own. */
  expiresAt: number | null;
}

export type LegacyCookieCheck =
  /**
   * `id` is the legacy session's id; `seed` a secret-keyed digest of it (at least 43
   * base64url characters, 256 bits) that every instance computes alike, from which the
   * cloakroom id is made.
   */
  | { ok: true; id: string; seed: string }
  | { ok: false; reason: "malformed" | "forged" };

/** What the manager's `adopt` option takes. */
export interface SessionAdopter {
  /** Names the legacy store in events and errors, for example "express-session". */
  readonly name: string;
  /** The legacy cookie's name. */
  readonly cookieName: string;
  /** Checks the cookie's raw value with no I/O: a bad one never reaches a store. */
  verify(value: string): LegacyCookieCheck | Promise<LegacyCookieCheck>;
  /**
   * The legacy session, null when it is gone, or `{ refused }` when the application's mapping
   * of it failed (see RefusedLegacySession). A store fault throws.
   */
  read(id: string): Promise<LegacySession | RefusedLegacySession | null>;
  /** Deletes the legacy record; a missing one is fine. */
  remove(id: string): Promise<void>;
  /** The Set-Cookie value that removes the legacy cookie from the browser. */
  readonly clearCookie: string;
}

/** How long requests still carrying the legacy cookie join the session it became. */
export const ADOPTION_GRACE_MS = 60_000;
const SEED = /^[A-Za-z0-9_-]{43,}$/;
const MAX_LEGACY_COOKIE_BYTES = 4096;

/**
 * The manager's `adopt` option over an adopter. Internal for now: cloakroom/express-session's
 * `adoptExpressSession` is the one adopter; another library's would be built the same way.
 *
 * @example
 * createSessions({ store, keys, adopt: adoptLegacySessions(myAdopter) });
 */
export function adoptLegacySessions(adopter: SessionAdopter): SessionAdoption {
  const candidate = adopter as Partial<SessionAdopter> | null;
  const methods = ["verify", "read", "remove"] as const;
  if (
    typeof candidate !== "object" || candidate === null || methods.some((m) => typeof candidate[m] !== "function") ||
    typeof candidate.cookieName !== "string" || typeof candidate.clearCookie !== "string" || typeof candidate.name !== "string"
  ) {
    throw new SessionError("ERR_SESSION_CONFIG", "adoptLegacySessions needs an adopter: { name, cookieName, clearCookie, verify, read, remove } (see SessionAdopter).");
  }
  return {
    cookieName: adopter.cookieName,
    readSession: (ctx, header) => adoptSession(ctx, adopter, header),
  };
}

const digest = async (label: string, seed: string) =>
  base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-512", new TextEncoder().encode(`cloakroom/v1/adopt/${label}\0${seed}`))));

interface AdoptionIds {
  /** The 43 characters after the tag of the session id. */
  body: string;
  /** The tag of an anonymous adopted session. */
  anonymousTag: string;
  /** Handle of the pointer record. */
  pointer: string;
}

async function adoptionIds(seed: string): Promise<AdoptionIds> {
  const [session, pointer] = await Promise.all([digest("session", seed), digest("pointer", seed)]);
  return {
    body: session.slice(0, 43),
    anonymousTag: session.slice(43, 47),
    pointer: await handleOf(`${pointer.slice(0, 4)}.${pointer.slice(4, 47)}`),
  };
}

/** The adopter's store fails like any store: ERR_SESSION_STORE, never "no session". */
async function legacyCall<T>(ctx: Context, adopter: SessionAdopter, operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    ctx.emit?.({ type: "store-error", store: adopter.name, operation, error });
    if (error instanceof SessionError) throw error;
    throw new SessionError(
      "ERR_SESSION_STORE",
      `the ${adopter.name} store failed during ${operation} while adopting a session. Check its connection (the cause is attached).`,
      { cause: error },
    );
  }
}

function isLegacySession(value: unknown): value is LegacySession {
  const legacy = value as Partial<LegacySession> | null;
  if (typeof legacy !== "object" || legacy === null) return false;
  const { data, userId, expiresAt } = legacy;
  if (typeof data !== "object" || data === null || Array.isArray(data)) return false;
  if (userId !== null && (typeof userId !== "string" || userId.length === 0 || userId.length > 256 || !isStorableText(userId))) return false;
  if (expiresAt !== null && typeof expiresAt !== "number") return false;
  try {
    assertStorable(data, "legacy data");
  } catch {
    return false;
  }
  return true;
}

/**
 * The session of a request that carries no ticket, when an adopter is configured: none, the
 * adopted legacy session, or the one it became moments ago.
 */
async function adoptSession<Data extends object>(ctx: Context, adopter: SessionAdopter, header: string | undefined): Promise<Session<Data>> {
  // Most requests without a ticket carry no legacy cookie either: no parse for them.
  const value = header?.includes(adopter.cookieName) ? parseCookie(header, { decode: (raw) => raw })[adopter.cookieName] : undefined;
  if (!value) {
    ctx.emit?.({ type: "read", outcome: "anonymous" });
    return new Session<Data>(ctx.newState({}));
  }
  if (adopter.cookieName.length + 1 + value.length > Math.min(ctx.config.maxCookieBytes, MAX_LEGACY_COOKIE_BYTES)) {
    return noSession(ctx, adopter, "too-large");
  }
  let check: LegacyCookieCheck;
  try {
    check = await adopter.verify(value);
  } catch {
    check = { ok: false, reason: "malformed" };
  }
  if (!check.ok) return noSession(ctx, adopter, check.reason === "forged" ? "forged" : "malformed");
  if (!SEED.test(check.seed)) {
    throw new SessionError("ERR_SESSION_CONFIG", `the ${adopter.name} adopter gave a seed that is not 43+ base64url characters.`);
  }

  const { store, config } = ctx;
  const now = config.clock();
  const ids = await adoptionIds(check.seed);
  const legacyId = check.id;
  const legacy = await legacyCall(ctx, adopter, "read", () => adopter.read(legacyId));
  if (legacy === null) return joinRecent(ctx, adopter, ids, now);
  const refused = (legacy as Partial<RefusedLegacySession>).refused;
  if (typeof refused === "string") return noSession(ctx, adopter, "corrupt", undefined, refused);
  if (!isLegacySession(legacy)) return noSession(ctx, adopter, "corrupt");
  if (legacy.expiresAt !== null && legacy.expiresAt <= now) return noSession(ctx, adopter, "expired");

  const sid = `${legacy.userId === null ? ids.anonymousTag : userTag(legacy.userId)}.${ids.body}`;
  const handle = await handleOf(sid);
  const absoluteExpiresAt = now + config.absoluteTimeoutMs;
  let record: SessionRecord = {
    userId: legacy.userId,
    data: { ...legacy.data },
    version: 1,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: Math.min(now + config.idleTimeoutMs, absoluteExpiresAt),
    absoluteExpiresAt,
    idleTimeout: config.idleTimeoutMs,
  };
  const created = await ctx.storeCall("write", () => store.write(handle, record, 0));
  if (!created) {
    // A parallel request (here or on another instance) adopted it first: join that session.
    const current = await ctx.storeCall("read", () => store.read(handle));
    if (!current || !isSessionRecord(current.record)) return noSession(ctx, adopter, "not-found", handle);
    record = current.record;
  }
  // Before the legacy record goes, so whoever finds it gone can still find the session.
  const pointer: SessionRecord = {
    userId: null,
    data: { adopted: handle },
    version: 1,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + ADOPTION_GRACE_MS,
    absoluteExpiresAt: now + ADOPTION_GRACE_MS,
    idleTimeout: ADOPTION_GRACE_MS,
  };
  await ctx.storeCall("write", () => store.write(ids.pointer, pointer, 0));
  // A legacy record left behind would let the legacy cookie bring the session back after a
  // sign-out, so failing to delete it fails the request (503) rather than going on.
  await legacyCall(ctx, adopter, "delete", () => adopter.remove(legacyId));
  if (created) ctx.emit?.({ type: "adopted", handle, from: adopter.name });
  // Joined, not taken as found: a parallel request's session may have been renewed or
  // regenerated since (adopt-join.ts).
  return joinAdopted(ctx, adopter, sid, handle, record, now);
}

/** The legacy record is gone: the session it became moments ago, if the pointer says so. */
async function joinRecent<Data extends object>(ctx: Context, adopter: SessionAdopter, ids: AdoptionIds, now: number): Promise<Session<Data>> {
  const { store, config } = ctx;
  const found = await ctx.storeCall("read", () => store.read(ids.pointer));
  const adopted = found && isSessionRecord(found.record) ? found.record.data.adopted : undefined;
  if (typeof adopted !== "string" || found!.record.expiresAt <= now) return noSession(ctx, adopter, "not-found");
  const sid = `${tagOf(adopted)}.${ids.body}`;
  const handle = await handleOf(sid);
  if (handle !== adopted) return noSession(ctx, adopter, "corrupt");
  const current = await ctx.storeCall("read", () => store.read(handle, { now, interval: config.touchIntervalMs }));
  if (!current || !isSessionRecord(current.record)) return noSession(ctx, adopter, "not-found", handle);
  return joinAdopted(ctx, adopter, sid, handle, current.record, now);
}
