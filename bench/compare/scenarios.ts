/**
 * The lines of `npm run bench:compare`, as the report names them. Every line serves the same
 * two routes: `POST /login?u=<n>` signs visitor n in (the session holds `{ id: "user-<n>",
 * name: "User <n>" }`), and `GET /me` reads the session and answers `{ user: { id, name } }`,
 * or 401 without a session. The apps themselves are in apps.ts (loaded by the server process).
 *
 * @module
 */

export type ScenarioId =
  | "hono"
  | "floor"
  | "cloakroom-redis"
  | "cloakroom-memory"
  | "express-session"
  | "cloakroom-express"
  | "iron-session"
  | "hono-sessions"
  | "express";

export interface Scenario {
  id: ScenarioId;
  /** The number for the line; "ref" for a reference line the issue did not ask for. */
  n: string;
  label: string;
  /** Short label for the chart. */
  short: string;
  /** What one GET /me does, for the notes under the table. */
  does: string;
  /** Uses the bench's redis-server. */
  redis: boolean;
  /** Keeps a session: GET /me must answer the signed-in visitor (the ceilings answer a constant). */
  session: boolean;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: "hono",
    n: "1",
    label: "Hono, no session (ceiling)",
    short: "Hono, no session",
    does: "Hono on @hono/node-server answers the same JSON with no cookie read at all.",
    redis: false,
    session: false,
  },
  {
    id: "floor",
    n: "2",
    label: "plain id cookie + Redis GET (floor)",
    short: "plain id + GET",
    does:
      "Hono; the cookie holds a random 256-bit id in clear (no signature, no crypto); one `GET` through ioredis, `JSON.parse`, answer. What any server-side session pays at least.",
    redis: true,
    session: true,
  },
  {
    id: "cloakroom-redis",
    n: "3",
    label: "cloakroom + Hono + ioredis",
    short: "cloakroom + ioredis",
    does:
      "`sessionMiddleware(createSessions({ store: ioredisStore({ client }) }))`, default options: JWE ticket (remembered after its first request), one `EVALSHA` read (touch included when due), commit with nothing to write.",
    redis: true,
    session: true,
  },
  {
    id: "cloakroom-memory",
    n: "4",
    label: "cloakroom + Hono + memory store",
    short: "cloakroom + memory",
    does: "The same with `memoryStore()`: no network at all.",
    redis: false,
    session: true,
  },
  {
    id: "express-session",
    n: "5",
    label: "express-session + connect-redis",
    short: "express-session + connect-redis",
    does:
      "Express 5, `session({ store: new RedisStore({ client }), secret, resave: false, saveUninitialized: false })` as connect-redis's README sets it up, with the node-redis client it requires: cookie signature check (HMAC), `GET`, and on an unchanged session `store.touch` (`EXPIRE`).",
    redis: true,
    session: true,
  },
  {
    id: "cloakroom-express",
    n: "5b",
    label: "cloakroom + Express + ioredis",
    short: "cloakroom + Express",
    does:
      "Express 5 with `sessionMiddleware(sessions)` from cloakroom/express, on the same ioredis store and options as line 3: line 5 with the session library swapped and the framework held constant. The middleware holds the response's headers until the commit settles (nothing to write here).",
    redis: true,
    session: true,
  },
  {
    id: "iron-session",
    n: "6",
    label: "iron-session (sealed cookie)",
    short: "iron-session",
    does:
      "Hono; `getIronSession(webCookies(c.req.raw, headers), { password, cookieName })` (iron-session's Web-standard binding): the whole session sealed in the cookie (iron: PBKDF2 key derivation, AES-256-CBC, HMAC-SHA-256), unsealed on every request, no store.",
    redis: false,
    session: true,
  },
  {
    id: "hono-sessions",
    n: "7",
    label: "hono-sessions (CookieStore)",
    short: "hono-sessions",
    does:
      "Hono; `sessionMiddleware({ store: new CookieStore(), encryptionKey, expireAfterSeconds: 1800 })` as its README sets it up: unseal (iron) on every request, and since the expiry slides, seal again and send a new Set-Cookie on every response. (Chosen over `@hono/session`: bench/README.md says why.)",
    redis: false,
    session: true,
  },
  {
    id: "express",
    n: "ref",
    label: "Express, no session (reference)",
    short: "Express, no session",
    does: "Express 5 answering the same JSON with no session: how much of line 5 is Express itself.",
    redis: false,
    session: false,
  },
];

export const FLOOR: ScenarioId = "floor";

export function scenario(id: ScenarioId): Scenario {
  const found = SCENARIOS.find((s) => s.id === id);
  if (!found) throw new Error(`bench:compare: no scenario "${id}"`);
  return found;
}

/** The user visitor n signs in as; every app stores and answers exactly this. */
export function userOf(n: number): { id: string; name: string } {
  return { id: `user-${n}`, name: `User ${n}` };
}
