/**
 * cloakroom/next in Next.js 16 itself. First against Next's own cookie classes (what
 * `cookies()` and `NextResponse.cookies` are made of), then the example as a user runs it:
 * `next build` of examples/next from a clean slate (no stale .next), `next start` in a child
 * process stopped by its PID, and the whole flow over plain HTTP, Server Actions included
 * (posted the way a browser without JavaScript posts their forms).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sign } from "cookie-signature";
import session from "express-session";
import { MutableRequestCookiesAdapter, RequestCookiesAdapter } from "next/dist/server/web/spec-extension/adapters/request-cookies.js";
import { RequestCookies, ResponseCookies } from "next/dist/server/web/spec-extension/cookies.js";
import { NextResponse } from "next/server.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryStore } from "../../adapters/memory/index.ts";
import { createSessions, generateKey } from "../../src/index.ts";
import { adoptExpressSession } from "../../src/integrations/express-session.ts";
import { commitSession, readSession } from "../../src/integrations/next.ts";
import { Keyring } from "../../src/keyring.ts";
import { openTicket, sealTicket } from "../../src/ticket.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const example = join(root, "examples/next");
const nextBin = join(root, "node_modules/next/dist/bin/next");

describe("cloakroom/next with Next's own cookie classes", () => {
  const sessions = createSessions<{ count: number }>({ store: memoryStore(), keys: generateKey("k1") });

  it("reads the same session in the proxy (the request) and the page (cookies()) when the cookie comes twice", async () => {
    const signIn = async (user: string) => {
      const session = await readSession(sessions, new RequestCookies(new Headers()));
      session.userId = user;
      return (await sessions.commit(session))!.split(";")[0]!;
    };
    const [ann, bob] = [await signIn("ann"), await signIn("bob")];
    // Two cookies of the session's name (a second path, or one tossed from a sibling host).
    for (const header of [`${ann}; ${bob}`, `${bob}; theme=dark; ${ann}`, `${ann}; __Host-session=%E0%A4%A; ${bob}`]) {
      const headers = new Headers({ cookie: header });
      const proxy = await readSession(sessions, new Request("https://app.test/account", { headers }));
      const page = await readSession(sessions, new RequestCookies(headers));
      expect(proxy.userId, header).toBe(page.userId);
      expect(proxy.handle, header).toBe(page.handle);
    }
  });

  it("commits onto a NextResponse: a Set-Cookie for the browser, and the same cookie for the page behind the proxy", async () => {
    const session = await readSession(sessions, new RequestCookies(new Headers()));
    session.userId = "ann";
    const response = NextResponse.next();
    const setCookie = await commitSession(sessions, session, response);
    const sent = response.headers.get("set-cookie")!;
    expect(sent).toMatch(/^__Host-session=[\w.-]+; Path=\/; Expires=.+; Max-Age=604800; Secure; HttpOnly; SameSite=lax$/);
    expect(sent.split(";")[0]).toBe(setCookie!.split(";")[0]);
    // Next hands cookies set in the proxy on to the render of the same request through this header.
    expect(response.headers.get("x-middleware-set-cookie")).toContain(setCookie!.split(";")[0]);

    const jar = new RequestCookies(new Headers({ cookie: `theme=dark; ${sent.split(";")[0]}` }));
    expect((await readSession(sessions, jar)).userId).toBe("ann");
  });

  it("clears through ResponseCookies.delete with Secure and Path=/, which a __Host- cookie needs to be replaced", async () => {
    const first = await readSession(sessions, new RequestCookies(new Headers()));
    first.userId = "ann";
    const cookie = (await sessions.commit(first))!.split(";")[0]!;
    const session = await readSession(sessions, new RequestCookies(new Headers({ cookie })));
    session.destroy();
    const headers = new Headers();
    await commitSession(sessions, session, new ResponseCookies(headers));
    expect(headers.get("set-cookie")).toBe("__Host-session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; SameSite=lax");
  });
});

describe("cloakroom/next adopting express-session's visitors through cookies()", () => {
  const legacyStore = new session.MemoryStore();
  const secret = "secret-of-the-legacy-app";
  const sessions = createSessions<{ cart: string[] }>({
    store: memoryStore(),
    keys: generateKey("k1"),
    adopt: adoptExpressSession({ secret, store: legacyStore, userIdOf: (legacy) => (legacy.user as string | undefined) ?? null }),
  });

  /** A signed-in express-session visitor: its record, and the Cookie header its browser sends. */
  async function legacyVisitor(user: string): Promise<Headers> {
    // An id whose signature has "+" or "/", which the cookie carries percent-encoded.
    let sid = `${user}-0`;
    for (let i = 1; !/[+/]/.test(sign(sid, secret)); i++) sid = `${user}-${i}`;
    await new Promise<void>((resolve, reject) =>
      legacyStore.set(sid, { cookie: { originalMaxAge: null }, user, cart: ["tea"] } as never, (error) => (error ? reject(error) : resolve())),
    );
    return new Headers({ cookie: `theme=dark; connect.sid=${encodeURIComponent(`s:${sign(sid, secret)}`)}` });
  }

  it("adopts in a Server Action or Route Handler: the ticket set and the legacy cookie cleared through the same cookies()", async () => {
    const headers = await legacyVisitor("ada");
    // A Server Action's (and a Route Handler's) cookies(): Next's mutable wrapper over the request's cookies.
    const jar = MutableRequestCookiesAdapter.wrap(new RequestCookies(headers));
    const adopted = await readSession(sessions, jar);
    expect([adopted.userId, adopted.get("cart"), adopted.invalidReason]).toEqual(["ada", ["tea"], null]);
    const response = new Headers();
    const setCookie = await commitSession(sessions, adopted, new ResponseCookies(response));
    const [ticket, cleared] = response.getSetCookie();
    expect(ticket!.split(";")[0]).toBe(setCookie!.split(";")[0]);
    expect(cleared).toBe("connect.sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
    // The browser's next request carries the ticket only, and reads the same session.
    const next = await readSession(sessions, new RequestCookies(new Headers({ cookie: `theme=dark; ${setCookie!.split(";")[0]}` })));
    expect([next.userId, next.handle]).toEqual(["ada", adopted.handle]);
  });

  it("reads the adopted session in a Server Component's cookies(), which cannot set cookies", async () => {
    const page = RequestCookiesAdapter.seal(new RequestCookies(await legacyVisitor("bob")));
    const read = await readSession(sessions, page);
    expect([read.userId, read.get("cart")]).toEqual(["bob", ["tea"]]);
    await expect(commitSession(sessions, read, page)).rejects.toThrow(/Cookies can only be modified in a Server Action or Route Handler/);
  });
});

/** A port nobody listens on right now: the OS picks it, we release it for the server. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** The environment for next: vitest's NODE_ENV=test would make Next warn and build differently. */
function nextEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ...extra };
  delete env.NODE_ENV;
  delete env.NODE_OPTIONS;
  return env;
}

describe("examples/next: next build, next start, and the flow over HTTP", () => {
  const keys = generateKey("e2e");
  let server: ChildProcess | undefined;
  let log = "";
  let buildOutput = "";
  let base = "";

  beforeAll(async () => {
    // From a clean slate, so nothing a previous build left can stand in for this one.
    rmSync(join(example, ".next"), { recursive: true, force: true });
    const started = performance.now();
    const build = spawnSync(process.execPath, [nextBin, "build"], { cwd: example, env: nextEnv({}), encoding: "utf8" });
    buildOutput = `${build.stdout}${build.stderr}`;
    console.log(`next build: exit ${build.status} after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    if (build.status !== 0) throw new Error(`next build failed:\n${buildOutput}`);

    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, [nextBin, "start", "-H", "127.0.0.1", "-p", String(port)], {
      cwd: example,
      env: nextEnv({ SESSION_KEYS: keys }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const child = server;
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: string) => {
        log += chunk;
        if (log.includes("Ready in")) resolve();
      };
      child.stdout!.setEncoding("utf8").on("data", onData);
      child.stderr!.setEncoding("utf8").on("data", onData);
      child.once("exit", (code) => reject(new Error(`next start exited with ${code} before it was ready:\n${log}`)));
    });
  }, 240_000);

  afterAll(async () => {
    if (!server?.pid || server.exitCode !== null) return;
    const exited = new Promise((resolve) => server!.once("exit", resolve));
    process.kill(server.pid, "SIGTERM");
    await exited;
  });

  const get = (path: string, cookie?: string) =>
    fetch(base + path, { redirect: "manual", headers: cookie ? { cookie } : {} });
  const post = (path: string, body: FormData | undefined, headers: Record<string, string>) =>
    fetch(base + path, { method: "POST", redirect: "manual", body, headers });
  const location = (response: Response) => new URL(response.headers.get("location") ?? "", base).pathname;
  /** The `name=value` part of the response's Set-Cookie, as a browser would send it back. */
  const cookieOf = (response: Response) => {
    const setCookie = response.headers.get("set-cookie");
    if (!setCookie) throw new Error(`expected a Set-Cookie on ${response.status} ${response.url}`);
    return setCookie.split(";")[0]!;
  };
  /** The hidden field Next renders into a Server Action's form; posting it runs the action. */
  const actionField = (html: string) => {
    const field = /name="(\$ACTION_ID_[0-9a-f]+)"/.exec(html)?.[1];
    if (!field) throw new Error(`no Server Action form in:\n${html.slice(0, 500)}`);
    return field;
  };
  const shown = (html: string, id: string) => new RegExp(`id="${id}">([^<]*)<`).exec(html)?.[1];
  /** The same session's ticket without a cookie-cache snapshot, so the proxy must ask the store. */
  const withoutSnapshot = async (cookie: string) => {
    const ring = new Keyring(keys);
    const opened = await openTicket(cookie.slice(cookie.indexOf("=") + 1), ring, Date.now());
    if (!opened.ok) throw new Error(`the server's ticket did not open: ${opened.reason}`);
    const ticket = await sealTicket({ sid: opened.claims.sid, exp: opened.claims.exp }, ring.sealingKey(Date.now())!);
    return `__Host-session=${ticket}`;
  };

  it("builds with the proxy", () => {
    expect(buildOutput).toContain("Proxy (Middleware)");
    expect(buildOutput).toMatch(/ƒ \/account\b/);
    expect(buildOutput).toMatch(/ƒ \/api\/count\b/);
  });

  it("signs in through a Server Action, counts through a Route Handler, reads in a Server Component, signs out", async () => {
    // Anonymous: proxy.ts sends /account to /login, with or without a cookie that means nothing.
    for (const cookie of [undefined, "__Host-session=forged"]) {
      const anonymous = await get("/account", cookie);
      expect(anonymous.status).toBe(307);
      expect(location(anonymous)).toBe("/login");
    }
    expect((await post("/api/count", undefined, {})).status).toBe(401);

    // Sign in: the login page's Server Action, posted as its form is without JavaScript.
    const login = await get("/login");
    expect(login.status).toBe(200);
    const form = new FormData();
    form.set(actionField(await login.text()), "");
    form.set("user", "alice");
    const signedIn = await post("/login", form, { origin: base });
    expect(signedIn.status).toBe(303);
    expect(location(signedIn)).toBe("/account");
    expect(signedIn.headers.get("set-cookie")).toMatch(/^__Host-session=[\w.-]+; Path=\/; .*Secure; HttpOnly; SameSite=lax$/);
    let cookie = cookieOf(signedIn);

    // +1 twice through the Route Handler; each write hands out a ticket with a fresh snapshot.
    for (const expected of [1, 2]) {
      const counted = await post("/api/count", undefined, { cookie });
      expect(counted.status).toBe(200);
      expect(await counted.json()).toEqual({ count: expected });
      cookie = cookieOf(counted);
    }

    // The Server Component behind the proxy shows the user and the count.
    const account = await get("/account", cookie);
    expect(account.status).toBe(200);
    const page = await account.text();
    expect(shown(page, "user")).toBe("alice");
    expect(shown(page, "count")).toBe("2");

    // A ticket with no snapshot makes the proxy read the store: the one the Server Action and
    // the Route Handler wrote, so it lets the visitor in and hands out a fresh snapshot.
    const bare = await withoutSnapshot(cookie);
    const viaStore = await get("/account", bare);
    expect(viaStore.status).toBe(200);
    expect(cookieOf(viaStore)).not.toBe(bare);
    expect(shown(await viaStore.text(), "count")).toBe("2");

    // Sign out: the account page's Server Action deletes the session and clears the cookie.
    // Posted with the snapshot-less ticket, so the proxy in front of the action hands out a fresh
    // ticket too. Next sends the proxy's cookies ahead of the action's, and browsers apply
    // Set-Cookie in order: the deletion must come last, or the fresh snapshot would keep the
    // visitor signed in for the rest of its window.
    const signOut = new FormData();
    signOut.set(actionField(page), "");
    const signedOut = await post("/account", signOut, { origin: base, cookie: bare });
    expect(signedOut.status).toBe(303);
    expect(location(signedOut)).toBe("/login");
    const cookies = signedOut.headers.getSetCookie();
    expect(cookies.at(-1)).toBe("__Host-session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; SameSite=lax");
    for (const earlier of cookies.slice(0, -1)) expect(earlier).toMatch(/^__Host-session=[\w.-]+;/);

    // The browser has no cookie now; and the same session's ticket, once the proxy asks the
    // store, finds it gone.
    for (const after of [undefined, bare]) {
      const again = await get("/account", after);
      expect(again.status).toBe(307);
      expect(location(again)).toBe("/login");
    }
    expect(log).not.toMatch(/error/i);
  });

  it("refuses cross-origin posts to the Server Action and the Route Handler", async () => {
    const login = await get("/login");
    const form = new FormData();
    form.set(actionField(await login.text()), "");
    form.set("user", "mallory");
    const action = await post("/login", form, { origin: "https://evil.test" });
    expect(action.status).toBeGreaterThanOrEqual(400);
    expect(action.headers.get("set-cookie")).toBeNull();

    const signedIn = new FormData();
    signedIn.set(actionField(await (await get("/login")).text()), "");
    signedIn.set("user", "alice");
    const cookie = cookieOf(await post("/login", signedIn, { origin: base }));
    const route = await post("/api/count", undefined, { cookie, origin: "https://evil.test" });
    expect(route.status).toBe(403);
    expect(route.headers.get("set-cookie")).toBeNull();
  });
});
