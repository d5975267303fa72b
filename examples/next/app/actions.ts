"use server";
/**
 * Server Actions that change the session. Next checks that an action's Origin matches the
 * host, so a page on another site cannot post to them. `redirect` throws to end the action,
 * so it comes after the commit.
 */
import { commitSession, readSession } from "cloakroom/next";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { getSessions } from "../lib/sessions";

/** Letters, digits and . _ @ - ; a name, not a secret, shown back on the account page. */
const USER = /^[\p{L}\p{N}._@-]{1,64}$/u;

/** Signs in as whoever the form names: this example checks no password. */
export async function signIn(form: FormData): Promise<void> {
  const user = String(form.get("user") ?? "").trim();
  if (!USER.test(user)) redirect("/login?error=user");
  const sessions = getSessions();
  const jar = await cookies();
  const session = await readSession(sessions, jar);
  // userId first (the new id carries the user's tag); a new id on sign-in makes an id planted
  // before it worthless, and clear() drops what a previous visitor of this browser left.
  session.userId = user;
  await session.regenerate();
  session.clear();
  await commitSession(sessions, session, jar);
  redirect("/account");
}

export async function signOut(): Promise<void> {
  const sessions = getSessions();
  const jar = await cookies();
  const session = await readSession(sessions, jar);
  session.destroy();
  await commitSession(sessions, session, jar);
  redirect("/login");
}
