/**
 * Typed life-cycle events. Events carry the public handle (a SHA-256 of the session id),
 * never the id, the ticket or a secret, so they can go straight to a log.
 *
 * @module
 */

/** Why a cookie read as "no session". */
export type InvalidReason =
  /** Not a well-formed ticket: wrong shape, bad base64url, bad header or payload JSON. */
  | "malformed"
  /** Well-formed but not ours: other algorithms, extra or compression headers, failed tag. */
  | "forged"
  /** The `kid` is not in the key list. */
  | "unknown-key"
  /** The key exists but its `notAfter` has passed. */
  | "key-retired"
  /** The ticket's absolute expiry, or the record's idle or absolute expiry, has passed. */
  | "expired"
  /** The cookie is longer than `maxCookieBytes`; rejected before any decoding. */
  | "too-large"
  /** A valid ticket whose record is gone: signed out, revoked, or expired in the store. */
  | "not-found"
  /** The store returned a record that is not what cloakroom writes. */
  | "corrupt"
  /**
   * The ticket's id was retired (by `renew` or `regenerate`) and it came back after the grace:
   * two parties hold a copy of the cookie. A `ticket-reused` event says which session replaced it.
   */
  | "reused";

/** How a read ended: with a session, without a cookie, with a bad one, or with the store down. */
export type ReadOutcome = "session" | "anonymous" | "invalid" | "unavailable";

export type SessionEvent =
  | { type: "read"; outcome: ReadOutcome }
  | { type: "created"; handle: string }
  /** A session of another library moved over (`adopt` option); `from` names the adopter. */
  | { type: "adopted"; handle: string; from: string }
  /**
   * A cookie read as no session. `detail`, when present, says what the application got wrong
   * and how to fix it (an adopter option that failed on a legacy session): for its logs.
   */
  | { type: "invalid"; reason: InvalidReason; handle?: string; detail?: string }
  | { type: "touched"; handle: string }
  | { type: "resealed"; handle: string; kid: string; fromKid: string }
  | { type: "opened"; kid: string }
  | { type: "regenerated"; handle: string; previous: string }
  | { type: "destroyed"; handle: string }
  /** `renew`: the session got a new id; `previous` is now a retired marker pointing at `handle`. */
  | { type: "renewed"; handle: string; previous: string }
  /**
   * A retired ticket came back after the grace (see InvalidReason "reused"). `handle` is the
   * retired id's handle, `successor` the last handle the chain leads to while it stays the same
   * user's (null when the id was retired by a change of user: a sign-in or a sign-out leaves the
   * old principal no successor), `live` whether it is still a session, `revoked` whether it was
   * ended for this (`onReuse: "revoke"`).
   */
  | { type: "ticket-reused"; handle: string; successor: string | null; live: boolean; userId: string | null; revoked: boolean }
  /** Device-bound sessions (DBSC): a browser registered a key, or proved it and got a fresh bound cookie. */
  | { type: "device-bound"; step: "registered" | "refreshed"; handle: string }
  /** Device-bound sessions (DBSC): a registration or refresh proof was refused, and why. */
  | { type: "device-refused"; step: "registration" | "refresh"; reason: string; handle?: string }
  | { type: "revoked"; userId: string; count: number }
  | { type: "conflict-retried"; handle: string; attempt: number }
  | { type: "store-error"; store: string; operation: string; error: unknown }
  /**
   * A store call finished; `ms` is its latency. The manager reports each call it makes to its
   * store; a guarded store (guardedStore, and a tiered store's cache and durable store) also
   * reports its own.
   */
  | { type: "store-call"; store: string; operation: string; ms: number; ok: boolean }
  /** A guarded store's circuit breaker moved. */
  | { type: "breaker"; store: string; from: "closed" | "open" | "half-open"; to: "closed" | "open" | "half-open" };

export type EventListener = (event: SessionEvent) => void;

/** A listener that throws must never break a request. */
export function safeEmitter(listener: EventListener | undefined): EventListener | undefined {
  if (!listener) return undefined;
  return (event) => {
    try {
      listener(event);
    } catch {
      // Observability is best effort by design.
    }
  };
}
