/**
 * The session a read hands out when it has none to give: anonymous, with the reason (if any)
 * reported as an `invalid` event. Shared by the read path (read.ts) and retired-id reads
 * (renewal.ts).
 *
 * @module
 */
import type { Context } from "./context.ts";
import type { InvalidReason } from "./events.ts";
import { Session } from "./session.ts";

export function anonymous<Data extends object>(ctx: Context, hadCookie: boolean, reason: InvalidReason | null, handle?: string): Session<Data> {
  if (reason) ctx.emit?.(handle ? { type: "invalid", reason, handle } : { type: "invalid", reason });
  ctx.emit?.({ type: "read", outcome: reason ? "invalid" : "anonymous" });
  return new Session<Data>(ctx.newState({ hadCookie, invalidReason: reason }));
}
