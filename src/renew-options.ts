/**
 * The `renew` option of `createSessions`: rotating session ids with reuse detection. Checked
 * once, when the manager is created (see options.ts).
 *
 * @module
 */
import { configError } from "./errors.ts";
import type { SessionStore } from "./store.ts";

export interface RenewOptions {
  /**
   * An active session gets a fresh id (and ticket) at most this often, in seconds, on a normal
   * response: one create and one compare-and-set in the store, one Set-Cookie.
   */
  every: number;
  /**
   * Seconds a retired ticket stays good after its renewal, for requests that were already in
   * flight with it (their changes reach the new id). After it, the old ticket is *reuse*.
   * At most 60, and at most `every`. @default 5
   */
  grace?: number;
  /**
   * What a reused ticket does besides reading as no session and raising `ticket-reused`:
   * `"event"` nothing more; `"revoke"` also ends the live successor, so both holders of the
   * copy (thief and victim) are signed out and the victim signs in again.
   * @default "event"
   */
  onReuse?: "event" | "revoke";
}

export interface ResolvedRenew {
  everyMs: number;
  graceMs: number;
  onReuse: "event" | "revoke";
}

const KNOWN = new Set(["every", "grace", "onReuse"]);

export function resolveRenew(input: unknown, store: SessionStore): ResolvedRenew | undefined {
  if (input === undefined || input === false) return undefined;
  if (typeof input !== "object" || input === null) {
    throw configError("renew must be { every: seconds, grace?: seconds, onReuse?: \"event\" | \"revoke\" }.");
  }
  for (const key of Object.keys(input)) {
    if (!KNOWN.has(key)) throw configError(`unknown option renew.${key}; the options are every, grace, onReuse.`);
  }
  const { every, grace = 5, onReuse = "event" } = input as RenewOptions;
  if (typeof every !== "number" || !Number.isFinite(every) || every <= 0) {
    throw configError(`renew.every must be a positive number of seconds, for example 300; got ${String(every)}.`);
  }
  if (typeof grace !== "number" || !Number.isFinite(grace) || grace <= 0 || grace > 60 || grace > every) {
    throw configError(`renew.grace must be a number of seconds above 0, at most 60 and at most renew.every (${every}); got ${String(grace)}.`);
  }
  if (onReuse !== "event" && onReuse !== "revoke") {
    throw configError(`renew.onReuse must be "event" or "revoke"; got ${String(onReuse)}.`);
  }
  if (store.retiredIds !== true) {
    throw configError(
      `renew needs a store that keeps retired ids (store rule 10, \`retiredIds: true\`); the ${store.name} store does not declare it. ` +
        "Use one of cloakroom's stores, or implement rule 10 and pass the retired-ids section of cloakroom/testing.",
    );
  }
  return { everyMs: every * 1000, graceMs: grace * 1000, onReuse };
}
