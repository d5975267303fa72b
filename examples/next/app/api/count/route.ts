/**
 * POST /api/count: +1 on the session's counter. A Route Handler is a `(Request) => Response`
 * function, so the core's `withSession` serves it: read, run, commit, Set-Cookie, and a 503
 * (never "signed out") when the store is down. Answers {"count"} as JSON, or 303 back to
 * /account for the page's plain HTML form.
 */
import { withSession } from "cloakroom";
import { getSessions, type AppData } from "../../../lib/sessions";

/**
 * SameSite=Lax keeps the cookie off cross-site posts; this refuses the same-site ones too (a
 * sibling subdomain's form), as Next does for Server Actions. Sec-Fetch-Site comes from every
 * current browser, Origin from older ones; a request with neither is not from a browser, so it
 * carries no victim's cookie (curl goes through).
 */
function isCrossOrigin(request: Request): boolean {
  const site = request.headers.get("sec-fetch-site");
  if (site !== null) return site !== "same-origin" && site !== "none";
  const origin = request.headers.get("origin");
  return origin !== null && origin !== new URL(request.url).origin;
}

let handler: ((request: Request) => Promise<Response>) | undefined;

export function POST(request: Request): Promise<Response> {
  // Made on first use, not at import: `next build` imports this module and needs no SESSION_KEYS.
  handler ??= withSession<AppData>(getSessions(), async (request, session) => {
    if (isCrossOrigin(request)) return Response.json({ error: "cross-origin request refused." }, { status: 403 });
    if (session.userId === null) return Response.json({ error: "not signed in; sign in at /login first." }, { status: 401 });
    const count = session.update("count", (n = 0) => n + 1);
    const fromForm = request.headers.get("content-type")?.startsWith("application/x-www-form-urlencoded");
    return fromForm ? new Response(null, { status: 303, headers: { location: "/account" } }) : Response.json({ count });
  });
  return handler(request);
}
