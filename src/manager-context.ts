/**
 * The link from a `Sessions` object back to its manager's context, for the parts of cloakroom
 * built on the same keyring and store (the replay log's resume tokens). Internal: the public
 * `Sessions` interface stays as it is, and an application cannot reach the keyring through it.
 *
 * @module
 */
import type { Context } from "./context.ts";

const contexts = new WeakMap<object, Context>();

/** Called once by `createSessions` for the object it returns. */
export function attachContext(sessions: object, ctx: Context): void {
  contexts.set(sessions, ctx);
}

/** The context of a manager made by `createSessions`, or undefined for anything else. */
export function contextOf(sessions: unknown): Context | undefined {
  return typeof sessions === "object" && sessions !== null ? contexts.get(sessions) : undefined;
}
