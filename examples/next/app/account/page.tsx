import { readSession } from "cloakroom/next";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { getSessions } from "../../lib/sessions";
import { signOut } from "../actions";

/**
 * A Server Component reads the session; it cannot set cookies (Next refuses while rendering),
 * so it never commits. Changes go through the Route Handler and the Server Action.
 */
export default async function AccountPage() {
  // cookies() first: it is what tells `next build` this page renders per request, before
  // getSessions() would ask for SESSION_KEYS, which a build does not have.
  const jar = await cookies();
  const session = await readSession(getSessions(), jar);
  // proxy.ts already sent anonymous visitors away; this keeps the page safe should its matcher change.
  if (session.userId === null) redirect("/login");
  return (
    <main>
      <h1>
        Signed in as <span id="user">{session.userId}</span>
      </h1>
      <p>
        Count: <output id="count">{session.get("count") ?? 0}</output>
      </p>
      <form action="/api/count" method="post">
        <button type="submit">+1</button>
      </form>
      <form action={signOut}>
        <button type="submit">Sign out</button>
      </form>
      <p>
        <small>
          Session <code>{session.handle?.slice(0, 12)}</code>, read from{" "}
          <span id="source">{session.fromCookieCache ? "the cookie cache" : "the store"}</span>.
        </small>
      </p>
    </main>
  );
}
