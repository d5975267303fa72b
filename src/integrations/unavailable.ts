/**
 * What every integration answers when the store cannot serve a request: a 503 with
 * Retry-After, never "signed out". Shared so Hono, the Fetch handler and Next.js agree.
 *
 * @module
 */
import { SessionError } from "../errors.ts";

const UNAVAILABLE_CODES = new Set(["ERR_SESSION_STORE", "ERR_SESSION_CONFLICT"]);

/** A store fault or a write that kept conflicting: the request could not be served now. */
export function isUnavailable(error: unknown): error is SessionError {
  return error instanceof SessionError && UNAVAILABLE_CODES.has(error.code);
}

/** The 503's body and headers, for a binding that writes its response itself (Express). */
export const UNAVAILABLE_BODY = { error: "The session store is unavailable; try again shortly." } as const;
export const UNAVAILABLE_HEADERS: Readonly<Record<string, string>> = { "content-type": "application/json", "retry-after": "1", "cache-control": "no-store" };

export function unavailableResponse(): Response {
  return new Response(JSON.stringify(UNAVAILABLE_BODY), { status: 503, headers: UNAVAILABLE_HEADERS });
}
