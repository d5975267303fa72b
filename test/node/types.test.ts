/**
 * The types a user relies on, checked by the compiler (`tsc -p tsconfig.json`, part of npm test):
 * `Session<Data>` keeps each key's type through get, set, update and the bindings, and refuses
 * a wrong key or value. A regression to `any` fails here: `expectTypeOf(...).toEqualTypeOf`
 * does not accept `any`, and an `@ts-expect-error` with no error is itself an error. The
 * runtime part only proves the file loads; the compiler is the test.
 */
import { Hono } from "hono";
import { describe, expect, expectTypeOf, it } from "vitest";
import { createSessions, generateKey, withSession, type Session, type Sessions } from "cloakroom";
import { sessionMiddleware, type SessionEnv } from "cloakroom/hono";
import { memoryStore } from "cloakroom/adapters/memory";
import { readSession } from "../../src/integrations/next.ts";

type Data = { count: number; prefs: { theme: "dark" | "light" }; tags: string[] };

const sessions = createSessions<Data>({ store: memoryStore(), keys: generateKey() });

function checkSession(session: Session<Data>): void {
  expectTypeOf(session.get("count")).toEqualTypeOf<number | undefined>();
  expectTypeOf(session.get("prefs")).toEqualTypeOf<{ theme: "dark" | "light" } | undefined>();
  expectTypeOf(session.update("count", (n) => (n ?? 0) + 1)).toEqualTypeOf<number>();
  session.update("tags", (tags) => {
    expectTypeOf(tags).toEqualTypeOf<string[] | undefined>();
    return [...(tags ?? []), "x"];
  });
  expectTypeOf(session.toJSON()).toEqualTypeOf<Partial<Data>>();
  expectTypeOf(session.userId).toEqualTypeOf<string | null>();
  expectTypeOf(session.handle).toEqualTypeOf<string | null>();
  session.set("tags", ["a"]);
  // @ts-expect-error: not a key of Data
  session.get("missing");
  // @ts-expect-error: not a key of Data
  session.set("missing", 1);
  // @ts-expect-error: count is a number
  session.set("count", "1");
  // @ts-expect-error: theme is "dark" | "light"
  session.set("prefs", { theme: "blue" });
  // @ts-expect-error: update must return the key's type
  session.update("count", () => "x");
  // @ts-expect-error: not a key of Data
  session.unset("missing");
}

describe("types (checked by tsc)", () => {
  it("Session<Data> from the manager keeps Data", async () => {
    expectTypeOf(sessions).toEqualTypeOf<Sessions<Data>>();
    const session = await sessions.read(null);
    expectTypeOf(session).toEqualTypeOf<Session<Data>>();
    checkSession(session);
  });

  it("c.get(\"session\") in Hono keeps Data", async () => {
    const app = new Hono<SessionEnv<Data>>();
    app.use(sessionMiddleware(sessions));
    app.get("/", (c) => {
      const session = c.get("session");
      expectTypeOf(session).toEqualTypeOf<Session<Data>>();
      checkSession(session);
      // @ts-expect-error: a sessions manager of other data does not fit this app
      sessionMiddleware(createSessions<{ other: boolean }>({ store: memoryStore(), keys: generateKey() })) satisfies Parameters<typeof app.use>[0];
      return c.text("ok");
    });
    expect((await app.request("/")).status).toBe(200);
  });

  it("withSession's handler and Next's readSession keep Data", async () => {
    const handler = withSession(sessions, async (request, session) => {
      expectTypeOf(request).toEqualTypeOf<Request>();
      expectTypeOf(session).toEqualTypeOf<Session<Data>>();
      checkSession(session);
      return new Response("ok");
    });
    expectTypeOf(handler).toEqualTypeOf<(request: Request) => Promise<Response>>();
    expect((await handler(new Request("https://app.test/"))).status).toBe(200);
    expectTypeOf(readSession(sessions, new Headers())).toEqualTypeOf<Promise<Session<Data>>>();
  });
});
