/**
 * Issuing and redeeming resume tokens: what binds a reconnecting client to its session, its
 * channel and its position, with no socket state kept on the server.
 *
 * Redeeming checks, in this order, and answers the first that fails: the token opens
 * (`forged`) and has not expired (`expired`); the session behind its handle is still in the
 * session store (`revoked`: signed out, revoked or expired); the caller's session is that one
 * (`other-session`); the token has not been used (`replayed`). Only the last step uses the
 * token up, so another session cannot burn a token it got hold of.
 *
 * With `renew` on, the handle a token names may since have become a retired marker: the
 * session lives on at the end of the chain of renewals, which is followed (one read per
 * renewal), and the caller must hold that end. A marker is never "the session": a chain that
 * ends in nothing or passes a regenerate (a sign-out by `userId = null`, a sign-in, a
 * privilege change) is `revoked`, as the token's session no longer exists as it was.
 *
 * @module
 */
import type { Context } from "../context.ts";
import { SessionError } from "../errors.ts";
import { followChain } from "../retired-chain.ts";
import { isHandle } from "../session-id.ts";
import { checkChannel, checkSeq } from "./arguments.ts";
import type { ReplayBackend } from "./backend.ts";
import { openResumeToken, sealResumeToken, tokenHash } from "./resume-token.ts";

/** Why `resume` refused a token. */
export type ResumeRefusal = "forged" | "expired" | "revoked" | "other-session" | "replayed";

export type ResumeResult = { ok: true; channel: string; seq: number } | { ok: false; reason: ResumeRefusal };

/** A session (`sessions.read()`), or its handle. */
export type SessionRef = { readonly handle: string | null } | string | null | undefined;

function handleOf(session: SessionRef): string | null {
  const handle = typeof session === "string" ? session : (session?.handle ?? null);
  return isHandle(handle) ? handle : null;
}

export interface TokenDeps {
  ctx: Context;
  backend: ReplayBackend;
  tokenTtlMs: number;
  clock: () => number;
  /** Runs a backend call; faults become ERR_SESSION_STORE naming the backend. */
  call<T>(operation: string, run: () => Promise<T>): Promise<T>;
}

export async function issueResumeToken(deps: TokenDeps, session: SessionRef, channel: string, seq: number): Promise<string> {
  checkChannel(channel);
  checkSeq(seq, "issueResumeToken's seq");
  const handle = handleOf(session);
  if (handle === null) {
    throw new SessionError(
      "ERR_SESSION_STATE",
      "issueResumeToken needs a stored session (one with a handle): sign the visitor in and commit the session first, or pass its handle.",
    );
  }
  const now = deps.clock();
  const expiresAt = now + deps.tokenTtlMs;
  const token = await sealResumeToken({ handle, channel, seq, expiresAt }, deps.ctx.activeKey(now));
  const hash = await tokenHash(token);
  await deps.call("saveToken", () => deps.backend.saveToken(hash, expiresAt));
  return token;
}

export async function resume(deps: TokenDeps, token: unknown, session: SessionRef): Promise<ResumeResult> {
  const { ctx } = deps;
  const now = deps.clock();
  const opened = await openResumeToken(token, ctx.keyring, now);
  if (!opened.ok) return opened;
  const { claims } = opened;
  const end = await followChain(ctx, claims.handle, now, { through: "renewals" });
  if (!end.record) return { ok: false, reason: "revoked" };
  if (handleOf(session) !== end.handle) return { ok: false, reason: "other-session" };
  const hash = await tokenHash(token as string);
  if (!(await deps.call("consumeToken", () => deps.backend.consumeToken(hash, now)))) return { ok: false, reason: "replayed" };
  return { ok: true, channel: claims.channel, seq: claims.seq };
}
