/**
 * `userIdOf` meets legacy sessions it did not expect: an express-session app (its own
 * MemoryStore) has anonymous visitors beside signed-in ones, and the cloakroom app's
 * `userIdOf` was written for the signed-in ones only. Such a session reads as no session
 * ("corrupt", the legacy cookie cleared, one event saying which option and how to fix it),
 * never as a store fault (503) or a crash (500), and never again on the next request.
 */
import express, { type Request } from "express";
import session from "express-session";
import { afterAll, describe, expect, it } from "vitest";
import { createSessions, generateKey, type SessionEvent } from "../../src/index.ts";
import { sessionMiddleware } from "../../src/integrations/express.ts";
import { adoptExpressSession } from "../../src/integrations/express-session.ts";
import { memoryStore } from "../../adapters/memory/index.ts";
import { CookieJar, serve, type Served } from "./support.ts";

const SECRET = "secret-of-the-legacy-app";
type Legacy = session.Session & Record<string, unknown>;
const legacyOf = (req: Request) => (req as unknown as { session: Legacy }).session;

const legacyStore = new session.MemoryStore();
const served: Served[] = [];
afterAll(() => Promise.all(served.map((s) => s.close())));

/** The application before the move: passport-style sign-in, and carts for anonymous visitors. */
async function legacyVisitor(fields: Record<string, unknown>): Promise<CookieJar> {
  const app = express();
  app.use(session({ store: legacyStore, secret: SECRET, resave: false, saveUninitialized: false }));
  app.post("/visit", (req, res, next) => {
    Object.assign(legacyOf(req), fields);
    legacyOf(req).save((error) => (error ? next(error) : res.json({})));
  });
  const legacy = await serve(app);
  try {
    const jar = new CookieJar();
    expect((await jar.fetch(`${legacy.url}/visit`, { method: "POST" })).status).toBe(200);
    return jar;
  } finally {
    await legacy.close();
  }
}

async function cloakroomApp(userIdOf: (legacy: Record<string, unknown>) => unknown) {
  const events: SessionEvent[] = [];
  const sessions = createSessions({
    store: memoryStore(),
    keys: generateKey("k1"),
    cookie: { name: "session", secure: false },
    onEvent: (event) => events.push(event),
    adopt: adoptExpressSession({ secret: SECRET, store: legacyStore, userIdOf: userIdOf as never }),
  });
  const app = express();
  app.use(sessionMiddleware(sessions));
  app.get("/me", (req, res) => void res.json({ user: req.session.userId, invalid: req.session.invalidReason }));
  const instance = await serve(app);
  served.push(instance);
  return { url: instance.url, events };
}

const CLEARED = "connect.sid=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT";

describe("adoptExpressSession with a userIdOf that fails on some legacy sessions", () => {
  it("reads an anonymous legacy session userIdOf throws on as no session: 200, its cookie cleared, one event naming userIdOf", async () => {
    const app = await cloakroomApp((legacy) => (legacy.passport as { user: string }).user);
    const anonymous = await legacyVisitor({ cart: ["tea"] });
    const first = await anonymous.fetch(`${app.url}/me`);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ user: null, invalid: "corrupt" });
    expect(first.headers.getSetCookie()).toEqual([CLEARED]);
    expect(anonymous.cookies.size).toBe(0);
    const invalid = app.events.filter((event) => event.type === "invalid");
    expect(invalid).toEqual([{ type: "invalid", reason: "corrupt", detail: expect.stringMatching(/^adoptExpressSession userIdOf threw \(TypeError\) .*\(s\) => s\.passport\?\.user \?\? null/) }]);
    expect(app.events.some((event) => event.type === "store-error")).toBe(false);

    // The same userIdOf still adopts the sessions it was written for.
    const signedIn = await legacyVisitor({ passport: { user: "ada" } });
    expect(await (await signedIn.fetch(`${app.url}/me`)).json()).toEqual({ user: "ada", invalid: null });
  });

  it("reads a legacy session userIdOf names no usable user for as no session, never a 500", async () => {
    const app = await cloakroomApp((legacy) => legacy.userId);
    for (const [userId, said] of [["", "an empty string"], [{ id: "ada" }, "an object"], ["x".repeat(300), "a string of 300 characters"], [true, "a boolean"]] as const) {
      const visitor = await legacyVisitor({ userId });
      const response = await visitor.fetch(`${app.url}/me`);
      expect(response.status, said).toBe(200);
      expect(await response.json()).toEqual({ user: null, invalid: "corrupt" });
      expect(response.headers.getSetCookie()).toEqual([CLEARED]);
      expect(app.events.at(-2)).toEqual({ type: "invalid", reason: "corrupt", detail: expect.stringContaining(`adoptExpressSession userIdOf returned ${said} for a legacy session`) });
    }
  });
});
