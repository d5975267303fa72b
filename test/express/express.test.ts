/**
 * cloakroom/express on Express 4 and Express 5, over real HTTP: the commit lands before the
 * headers whichever way the response is written, a failed commit answers 503 (or is reported
 * once the headers are out), parallel requests lose nothing, and the rate limit and health
 * handlers answer like the Hono ones.
 */
import { Readable } from "node:stream";
import express5 from "express";
import express4 from "express4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSessions, generateKey, SessionError, type Sessions } from "../../src/index.ts";
import { healthHandler, rateLimitMiddleware, sessionMiddleware } from "../../src/integrations/express.ts";
import { memoryStore, type MemoryStore } from "../../adapters/memory/index.ts";
import { CookieJar, serve, type Served } from "./support.ts";

declare module "../../src/integrations/express.ts" {
  interface SessionData {
    count: number;
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function buildApp(express: typeof express5, store: MemoryStore, sessions: Sessions, errors: unknown[]) {
  const app = express();
  app.get("/health", healthHandler(sessions));
  app.use("/limited", rateLimitMiddleware({ store, limit: 2, window: 60, prefix: "test", key: () => "everyone" }));
  // Per route: this one can be served signed out when the store is down.
  app.get("/anonymous/count", sessionMiddleware(sessions, { onStoreError: "anonymous" }), (req, res) => {
    res.json({ count: req.session.get("count") ?? 0, degraded: req.session.isDegraded });
  });
  app.use(sessionMiddleware(sessions));
  const bump = (req: express5.Request) => req.session.update("count", (n = 0) => n + 1);
  app.post("/json", (req, res) => void res.json({ count: bump(req) }));
  app.post("/send", (req, res) => void res.send(String(bump(req))));
  app.post("/redirect", (req, res) => {
    bump(req);
    res.redirect("/json");
  });
  app.post("/end", (req, res) => {
    bump(req);
    res.statusCode = 201;
    res.end();
  });
  app.post("/write-head", (req, res) => {
    bump(req);
    res.writeHead(200, { "set-cookie": "theme=dark; Path=/", "cache-control": "public, max-age=600" });
    res.end("ok");
  });
  app.post("/stream", (req, res) => {
    bump(req);
    res.setHeader("content-type", "text/plain");
    Readable.from((async function* () {
      yield "a";
      await pause(5);
      yield "b";
    })()).pipe(res);
  });
  app.post("/later", async (req, res) => {
    res.write("first ");
    await pause(5);
    bump(req);
    res.end("then saved");
  });
  app.post("/sign-in-later", async (req, res) => {
    res.write("too late ");
    await pause(5);
    req.session.userId = "ada";
    res.end("for a cookie");
  });
  app.get("/count", (req, res) => void res.json({ count: req.session.get("count") ?? 0, degraded: req.session.isDegraded }));
  app.post("/limited", (_req, res) => void res.json({ ok: true }));
  app.use((error: unknown, _req: express5.Request, res: express5.Response, next: express5.NextFunction) => {
    errors.push(error);
    if (res.headersSent) return next(error);
    res.status(500).json({ error: "handler failed" });
  });
  return app;
}

for (const [label, express] of [["Express 5", express5], ["Express 4", express4]] as const) {
  describe(`cloakroom/express on ${label}`, () => {
    const store = memoryStore();
    const sessions = createSessions({ store, keys: generateKey("k1"), cookie: { name: "session", secure: false } });
    const errors: unknown[] = [];
    let served: Served;
    beforeAll(async () => {
      served = await serve(buildApp(express as typeof express5, store, sessions, errors));
    });
    afterAll(() => served?.close());
    const url = (path: string) => `${served.url}${path}`;

    it("commits before the headers whichever way the response is written", async () => {
      for (const [path, status] of [["/json", 200], ["/send", 200], ["/redirect", 302], ["/end", 201], ["/stream", 200]] as const) {
        const jar = new CookieJar();
        const first = await jar.fetch(url(path), { method: "POST" });
        expect(first.status, path).toBe(status);
        expect(first.headers.getSetCookie(), path).toEqual([expect.stringMatching(/^session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/)]);
        expect(first.headers.get("cache-control"), path).toBe("no-store");
        if (path === "/stream") expect(await first.text()).toBe("ab");
        const second = await jar.fetch(url(path), { method: "POST" });
        expect(second.headers.getSetCookie(), path).toEqual([]);
        expect(await (await jar.fetch(url("/count"))).json(), path).toEqual({ count: 2, degraded: false });
      }
    });

    it("keeps the cookies writeHead sets and overrides its cache-control", async () => {
      const response = await fetch(url("/write-head"), { method: "POST" });
      expect(response.headers.getSetCookie()).toEqual(["theme=dark; Path=/", expect.stringMatching(/^session=/)]);
      expect(response.headers.get("cache-control")).toBe("no-store");
    });

    it("keeps a response served to a stored session private when the cookie does not change", async () => {
      const jar = new CookieJar();
      expect((await jar.fetch(url("/count"))).headers.get("cache-control")).toBeNull(); // no session: cacheable
      await jar.fetch(url("/json"), { method: "POST" });
      const read = await jar.fetch(url("/count"));
      expect(read.headers.getSetCookie()).toEqual([]);
      expect(read.headers.get("cache-control")).toBe("private, no-store");
      // A handler's own Cache-Control is its decision when no cookie is set (writeHead's here).
      const written = await jar.fetch(url("/write-head"), { method: "POST" });
      expect(written.headers.getSetCookie().filter((c) => c.startsWith("session="))).toEqual([]);
      expect(written.headers.get("cache-control")).toBe("public, max-age=600");
    });

    it("loses nothing when parallel requests change the same session", async () => {
      const jar = new CookieJar();
      await jar.fetch(url("/json"), { method: "POST" });
      const answers = await Promise.all(Array.from({ length: 12 }, () => fetch(url("/json"), { method: "POST", headers: { cookie: jar.header } })));
      expect(answers.map((r) => r.status)).toEqual(Array(12).fill(200));
      expect(await (await jar.fetch(url("/count"))).json()).toEqual({ count: 13, degraded: false });
    });

    it("saves a change made after the headers went out, when it needs no new cookie", async () => {
      const jar = new CookieJar();
      await jar.fetch(url("/json"), { method: "POST" });
      const response = await jar.fetch(url("/later"), { method: "POST" });
      expect(await response.text()).toBe("first then saved");
      expect(await (await jar.fetch(url("/count"))).json()).toEqual({ count: 2, degraded: false });
    });

    it("reports a change that needs a cookie after the headers went out, and fails the response", async () => {
      errors.length = 0;
      const outcome = await fetch(url("/sign-in-later"), { method: "POST" }).then((r) => r.text()).then(
        (text) => ({ ok: true, text }),
        () => ({ ok: false }),
      );
      expect(outcome).toEqual({ ok: false });
      expect(String(errors[0])).toMatch(/after the response's headers were sent/);
    });

    it("answers 503 when the store is down, and 503 when the commit fails before the headers", async () => {
      const jar = new CookieJar();
      await jar.fetch(url("/json"), { method: "POST" });
      const { read, write } = store;
      store.read = () => Promise.reject(new Error("ECONNREFUSED"));
      try {
        const down = await jar.fetch(url("/count"));
        expect(down.status).toBe(503);
        expect(down.headers.get("retry-after")).toBe("1");
        expect(await (await jar.fetch(url("/anonymous/count"))).json()).toEqual({ count: 0, degraded: true });
      } finally {
        store.read = read;
      }
      store.write = () => Promise.reject(new Error("ECONNRESET"));
      try {
        const failed = await jar.fetch(url("/write-head"), { method: "POST" });
        expect(failed.status).toBe(503);
        expect(failed.headers.getSetCookie()).toEqual([]);
        expect(await failed.json()).toEqual({ error: "The session store is unavailable; try again shortly." });
      } finally {
        store.write = write;
      }
      expect(await (await jar.fetch(url("/count"))).json()).toEqual({ count: 1, degraded: false });
    });

    it("rate-limits with the Hono binding's answers, and serves health", async () => {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(url("/limited"), { method: "POST" })).status);
      expect(statuses).toEqual([200, 200, 429]);
      const health = await fetch(url("/health"));
      expect(health.status).toBe(200);
      expect(health.headers.get("cache-control")).toBe("no-store");
      expect((await health.json()).status).toBe("ok");
    });
  });
}

describe("cloakroom/express options", () => {
  it("are checked when the middleware is made", () => {
    const sessions = createSessions({ store: memoryStore(), keys: generateKey("k1") });
    const code = (make: () => unknown) => {
      try {
        make();
      } catch (error) {
        return error instanceof SessionError ? error.code : String(error);
      }
      return "accepted";
    };
    expect(code(() => sessionMiddleware(sessions, { onStoreErrors: "anonymous" } as never))).toBe("ERR_SESSION_CONFIG");
    expect(code(() => sessionMiddleware(sessions, { onStoreError: "open" as never }))).toBe("ERR_SESSION_CONFIG");
    expect(code(() => sessionMiddleware({} as never))).toBe("ERR_SESSION_CONFIG");
    expect(code(() => rateLimitMiddleware({ store: memoryStore(), limit: 1, window: 1 } as never))).toBe("ERR_SESSION_CONFIG");
    expect(code(() => sessionMiddleware(sessions))).toBe("accepted");
  });
});
