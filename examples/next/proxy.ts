/**
 * Runs before /account renders: anonymous visitors go to /login. With the cookie cache on
 * (lib/sessions.ts), a ticket sealed in the last 5 seconds authorises with no store call; an
 * older one costs one store read, and the commit hands the browser a fresh snapshot on this
 * response (Next also passes that cookie on to the page rendered behind it). In front of a
 * Server Action that signs out, Next sends this cookie ahead of the action's deletion, and the
 * browser keeps the last one (test/next/next.test.ts checks the order).
 */
import { SessionError } from "cloakroom";
import { commitSession, readSession } from "cloakroom/next";
import { NextResponse, type NextRequest } from "next/server";
import { getSessions } from "./lib/sessions";

export async function proxy(request: NextRequest): Promise<NextResponse> {
  const sessions = getSessions();
  try {
    const session = await readSession(sessions, request);
    const response = session.userId === null ? NextResponse.redirect(new URL("/login", request.url)) : NextResponse.next();
    await commitSession(sessions, session, response);
    return response;
  } catch (error) {
    // A store that is down is not "signed out": fail closed, and say it is temporary.
    if (error instanceof SessionError && (error.code === "ERR_SESSION_STORE" || error.code === "ERR_SESSION_CONFLICT")) {
      return NextResponse.json(
        { error: "The session store is unavailable; try again shortly." },
        { status: 503, headers: { "retry-after": "1", "cache-control": "no-store" } },
      );
    }
    throw error;
  }
}

export const config = {
  matcher: ["/account/:path*"],
};
