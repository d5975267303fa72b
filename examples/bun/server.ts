/**
 * cloakroom on Bun with no framework: `Bun.serve` and `withSession`, the Fetch handler that
 * reads the session, runs the route and commits. Run it from the repository root after
 * `npm run build` (it imports the built package):
 *
 *   bun examples/bun/server.ts                                  sessions in memory
 *   REDIS_URL=redis://127.0.0.1:6379 bun examples/bun/server.ts  on Redis (ioredis)
 *   DATABASE_URL=postgres://... bun examples/bun/server.ts       on PostgreSQL (pg)
 *
 * Environment: PORT (default 3000), HOST (default 127.0.0.1), SESSION_KEYS (output of
 * `npx cloakroom keygen`; without it a throwaway key signs everyone out on restart).
 *
 *   POST /login   {"user":"ann"} -> {"user"}            a new session id on sign-in
 *   GET  /me      -> {"user","count"} | 401
 *   POST /count   -> {"count"} | 401
 *   POST /logout  -> 204
 *
 * @module
 */
import { createSessions, generateKey, withSession, type Session } from "cloakroom";
import { openStore } from "./store.ts";

type Data = { count: number };

const keys = process.env.SESSION_KEYS?.trim() || generateKey("ephemeral");
if (!process.env.SESSION_KEYS?.trim()) {
  console.warn("cloakroom example: SESSION_KEYS is not set; a throwaway key is in use and sessions end on restart (npx cloakroom keygen).");
}
const { store, kind, close } = await openStore(process.env);
const sessions = createSessions<Data>({ store, keys });

const json = (body: unknown, status = 200) => Response.json(body, { status });
const notSignedIn = () => json({ error: "not signed in; POST /login first." }, 401);

async function route(request: Request, session: Session<Data>): Promise<Response> {
  const { pathname } = new URL(request.url);
  const route = `${request.method} ${pathname}`;
  if (route === "POST /login") {
    // JSON only: a form on another site cannot send it without a CORS preflight, which this server never answers.
    if (!request.headers.get("content-type")?.startsWith("application/json")) return json({ error: 'send {"user":"..."} as application/json.' }, 415);
    const body = (await request.json().catch(() => null)) as { user?: unknown } | null;
    const user = typeof body?.user === "string" ? body.user.trim() : "";
    if (user === "" || user.length > 64) return json({ error: '"user" must be a name of 1 to 64 characters.' }, 400);
    // userId first (the new handle carries the user's tag), then a new id, so one planted before sign-in is worthless.
    session.userId = user;
    await session.regenerate();
    session.clear();
    return json({ user });
  }
  if (route === "GET /me") {
    if (session.userId === null) return notSignedIn();
    return json({ user: session.userId, count: session.get("count") ?? 0 });
  }
  if (route === "POST /count") {
    if (session.userId === null) return notSignedIn();
    return json({ count: session.update("count", (n = 0) => n + 1) });
  }
  if (route === "POST /logout") {
    session.destroy();
    return new Response(null, { status: 204 });
  }
  return json({ error: `no route for ${route}.` }, 404);
}

/** Browsers send Origin on every POST; one naming another site is a cross-site request. */
function crossSite(request: Request): boolean {
  const origin = request.headers.get("origin");
  return request.method !== "GET" && origin !== null && origin !== new URL(request.url).origin;
}

const handle = withSession(sessions, route);

const server = Bun.serve({
  port: Number(process.env.PORT ?? 3000),
  hostname: process.env.HOST ?? "127.0.0.1",
  fetch: (request) => (crossSite(request) ? json({ error: "cross-site request refused." }, 403) : handle(request)),
  error(error) {
    console.error(error);
    return json({ error: "internal error." }, 500);
  },
});
console.log(`cloakroom bun example: listening on ${server.url} (${kind} store)`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await server.stop(); // lets requests in flight finish
    await close();
    process.exit(0);
  });
}
