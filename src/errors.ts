/**
 * The one error type cloakroom throws. Every error carries a stable `code` that callers can
 * switch on, and a message that starts with "cloakroom:" and names the option or input at
 * fault and how to fix it. Messages never contain a secret, a session id or a ticket.
 *
 * @module
 */

export type SessionErrorCode =
  /** An option passed to a factory is missing or invalid. */
  | "ERR_SESSION_CONFIG"
  /** The key list is malformed, or a key is too weak. */
  | "ERR_SESSION_KEYS"
  /** Every key's `notAfter` has passed, so nothing can seal a ticket. */
  | "ERR_SESSION_NO_ACTIVE_KEY"
  /** The store failed or timed out. Never read this as "no session". */
  | "ERR_SESSION_STORE"
  /** A compare-and-set write kept conflicting past the retry budget. */
  | "ERR_SESSION_CONFLICT"
  /** The store does not implement an optional capability the call needs. */
  | "ERR_SESSION_UNSUPPORTED"
  /** The session was used in a way its life cycle does not allow. */
  | "ERR_SESSION_STATE"
  /** A value that cannot be stored exactly (not JSON, a NUL character, a lone surrogate). */
  | "ERR_SESSION_DATA";

export class SessionError extends Error {
  override readonly name = "SessionError";
  readonly code: SessionErrorCode;

  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(`cloakroom: ${message}`, options);
    this.code = code;
  }
}

export function configError(message: string): SessionError {
  return new SessionError("ERR_SESSION_CONFIG", message);
}
