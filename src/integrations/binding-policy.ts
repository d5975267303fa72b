/**
 * What every session binding (Hono, Express, the Fetch handler) checks when it is created, so
 * they refuse the same mistakes with the same words: a manager that is not one, an unknown
 * option, a store-error policy that is not one of the two, an `onUnavailable` that is not a
 * function.
 *
 * @module
 */
import { SessionError } from "../errors.ts";
import type { HealthReport } from "../health.ts";
import type { ReadOptions, Sessions } from "../manager.ts";

export type StoreErrorPolicyOption = "fail-closed" | "anonymous";

/** Refuses anything but the manager `createSessions` returns. */
export function checkManager(sessions: unknown, binding: string): void {
  const candidate = sessions as Partial<Sessions> | undefined;
  if (!candidate || typeof candidate.read !== "function" || typeof candidate.commitCookies !== "function") {
    throw new SessionError("ERR_SESSION_CONFIG", `${binding} needs the manager returned by createSessions().`);
  }
}

/**
 * Checks a binding's `{ onStoreError, onUnavailable }` and returns the read options the policy
 * means. `known` lists the binding's options (a typo fails at start-up); `unavailableShape`
 * says in the error what `onUnavailable` must look like in that framework.
 */
export function resolvePolicy(
  options: { onStoreError?: unknown; onUnavailable?: unknown },
  binding: string,
  unavailableShape: string,
  known: readonly string[] = ["onStoreError", "onUnavailable"],
): ReadOptions {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new SessionError("ERR_SESSION_CONFIG", `unknown ${binding} option ${key}; the options are ${known.join(" and ")}.`);
    }
  }
  const policy = options.onStoreError ?? "fail-closed";
  if (policy !== "fail-closed" && policy !== "anonymous") {
    throw new SessionError("ERR_SESSION_CONFIG", `${binding} onStoreError must be "fail-closed" or "anonymous"; got ${String(policy)}.`);
  }
  if (options.onUnavailable !== undefined && typeof options.onUnavailable !== "function") {
    throw new SessionError("ERR_SESSION_CONFIG", `${binding} onUnavailable must be a function ${unavailableShape}.`);
  }
  return { onStoreError: policy === "anonymous" ? "anonymous" : "throw" };
}

/** Refuses a health handler's source that has no `health()`, in every binding's words. */
export function checkHealthSource(sessions: unknown): void {
  if (!sessions || typeof (sessions as Partial<Sessions>).health !== "function") {
    throw new SessionError("ERR_SESSION_CONFIG", "healthHandler needs the manager returned by createSessions().");
  }
}

/** 200 while sessions can be served ("ok" or "degraded"), 503 only when they cannot ("down"). */
export const healthStatus = (report: HealthReport): 200 | 503 => (report.status === "down" ? 503 : 200);
