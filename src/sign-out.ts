/**
 * Deleting a session on `destroy()` (a sign-out).
 *
 * Without `renew` that is one delete of the session's handle. With it, a parallel request may
 * have renewed the id a moment ago: the handle this request read is a retired marker by now, the
 * session lives on under the successor, and the renewing response (which sets the successor's
 * cookie) may reach the browser after this one's clearing cookie. Deleting the marker alone
 * would leave the user signed in. So the handle is read first and the chain of renewals
 * followed: the live session at its end is deleted, then the handle itself. One more store
 * call than without `renew`, on a sign-out only; two more when a renewal did race it.
 *
 * @module
 */
import type { Context } from "./context.ts";
import { followChain } from "./retired-chain.ts";
import type { SessionState } from "./session.ts";

export async function deleteSession(ctx: Context, state: SessionState, now: number): Promise<void> {
  const handle = state.record ? state.handle : undefined;
  if (!handle) return;
  if (ctx.config.renew) {
    const end = await followChain(ctx, handle, now, { through: "renewals", userId: state.record!.userId });
    const live = end.record && end.handle !== handle ? end.handle : undefined;
    // The successor first: if the marker's delete then fails, signing out again from the same
    // cookie still finds nothing live, while the other order could leave the successor behind.
    if (live) {
      await ctx.storeCall("delete", () => ctx.store.delete(live));
      ctx.emit?.({ type: "destroyed", handle: live });
    }
  }
  await ctx.storeCall("delete", () => ctx.store.delete(handle));
  ctx.emit?.({ type: "destroyed", handle });
}
