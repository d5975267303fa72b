/**
 * The types of cloakroom/express, checked by `tsc -p tsconfig.json` (npm test runs it): the
 * `declare module` augmentation makes `req.session` the typed cloakroom Session, it wins over
 * express-session's own `req.session` (whose types this repository also has installed, as a
 * team in the middle of moving would), and the middleware, rate limit and health handler fit
 * where Express takes handlers. At run time the type assertions are no-ops: they fail the type
 * check, not the test.
 */
/// <reference types="express-session" />
import express, { type Request } from "express";
import { expect, expectTypeOf, it } from "vitest";
import { createSessions, generateKey, type Session } from "cloakroom";
import { healthHandler, rateLimitMiddleware, sessionMiddleware, type SessionData } from "cloakroom/express";
import type { ExpressSessionStore } from "cloakroom/express-session";
import type connectPgSimple from "connect-pg-simple";
import type { RedisStore } from "connect-redis";
import { memoryStore } from "cloakroom/adapters/memory";

declare module "cloakroom/express" {
  interface SessionData {
    cart: string[];
  }
}

it("types req.session as the cloakroom Session of the augmented SessionData", () => {
  const store = memoryStore();
  const sessions = createSessions<SessionData>({ store, keys: generateKey("k1") });
  const app = express();
  app.use(sessionMiddleware(sessions));
  app.use(rateLimitMiddleware({ store, limit: 5, window: 60, key: (req: Request) => req.ip ?? null }));
  app.get("/health", healthHandler(sessions));
  app.get("/", (req, res) => {
    expectTypeOf(req.session).toEqualTypeOf<Session<SessionData>>();
    expectTypeOf(req.session.get("cart")).toEqualTypeOf<string[] | undefined>();
    expectTypeOf(req.session.userId).toEqualTypeOf<string | null>();
    req.session.update("cart", (cart = []) => [...cart, "tea"]);
    // @ts-expect-error a key SessionData does not declare
    req.session.get("basket");
    // @ts-expect-error a value of the wrong type
    req.session.set("cart", "tea");
    // @ts-expect-error express-session's callback API is not cloakroom's
    req.session.save(() => {});
    res.json({ cart: req.session.get("cart") ?? [] });
  });
  // express-session's augmentation is there (on the global Express.Request); cloakroom's, on
  // Express's own Request, is the one handlers see.
  expectTypeOf<Express.Request["session"]>().not.toEqualTypeOf<Session<SessionData>>();
  // @ts-expect-error onStoreError is "fail-closed" or "anonymous" (and refused at run time too)
  expect(() => sessionMiddleware(sessions, { onStoreError: "open" })).toThrow(/onStoreError/);
});

it("takes the connect-redis and connect-pg-simple store instances as adoptExpressSession's store", () => {
  expectTypeOf<RedisStore>().toExtend<ExpressSessionStore>();
  expectTypeOf<InstanceType<ReturnType<typeof connectPgSimple>>>().toExtend<ExpressSessionStore>();
  expectTypeOf<{ get(sid: string): string }>().not.toExtend<ExpressSessionStore>();
});
