/**
 * The Cloudflare Workers example, end to end: wrangler bundles it from the top-level
 * wrangler.toml (`wrangler deploy --dry-run`), and that very bundle runs in workerd through
 * Miniflare with nodejs_compat off, on Upstash: the REST bridge of the harness in front of a
 * throwaway redis-server. Requests carry the Cookie header by hand, so the `__Host-`/Secure
 * cookie works over Miniflare's plain-http dispatch.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { decodeProtectedHeader } from "jose";
import { Miniflare } from "miniflare";
import { afterAll, describe, expect, it } from "vitest";
import { generateKey } from "../../src/index.ts";
import { command, startStandaloneRedis } from "../support/redis-server.ts";
import { startUpstashBridge } from "../support/upstash-bridge.ts";
import { bundleWithWrangler, kib, nodeBuiltinsIn, readWranglerToml, type WranglerBundle } from "./wrangler-bundle.ts";

const settings = readWranglerToml();
const outdir = mkdtempSync(join(tmpdir(), "cloakroom-worker-"));
let bundle: WranglerBundle;
try {
  bundle = bundleWithWrangler(outdir);
} catch (error) {
  rmSync(outdir, { recursive: true, force: true });
  throw error;
}

const server = await startStandaloneRedis();
const bridge = await startUpstashBridge({ redisPort: server.port }).catch(async (error: unknown) => {
  await server.stop();
  rmSync(outdir, { recursive: true, force: true });
  throw error;
});
let mf: Miniflare | undefined;

/** Every step runs even when one fails (dispose rejects when workerd never started), so no server outlives the run. */
async function cleanUp(): Promise<void> {
  const steps = await Promise.allSettled([mf?.dispose(), bridge.close()]);
  await server.stop();
  rmSync(outdir, { recursive: true, force: true });
  const failed = steps.find((step) => step.status === "rejected");
  if (failed) throw failed.reason;
}
afterAll(cleanUp);

console.log(`wrangler bundle of examples/hono-workers: ${kib(bundle.raw)} raw, ${kib(bundle.gzip)} gzipped (${bundle.raw} / ${bundle.gzip} bytes)`);

type Bindings = Record<string, string>;
const upstash: Bindings = { UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token, UPSTASH_DISABLE_TELEMETRY: "1" };

function workerOptions(bindings: Bindings) {
  return {
    modules: true,
    scriptPath: bundle.script,
    // Module names are relative to modulesRoot, and Miniflare refuses one that climbs out with
    // "..": the bundle's own directory is the root.
    modulesRoot: dirname(bundle.script),
    compatibilityDate: settings.compatibilityDate,
    compatibilityFlags: settings.compatibilityFlags,
    bindings,
  };
}

/** Starts the Worker, or restarts it with new bindings: a new isolate, module scope and all. */
async function startWorker(bindings: Bindings): Promise<void> {
  if (mf) await mf.setOptions(workerOptions(bindings));
  else mf = new Miniflare(workerOptions(bindings));
  await mf.ready;
}

interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  setCookies: string[];
}

async function call<T = Record<string, unknown>>(method: string, path: string, options: { cookie?: string; json?: unknown; client?: string } = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  if (options.cookie) headers.cookie = options.cookie;
  // What Cloudflare's edge sets to the visitor's address.
  if (options.client) headers["cf-connecting-ip"] = options.client;
  if (options.json !== undefined) headers["content-type"] = "application/json";
  const response = await mf!.dispatchFetch(`http://localhost${path}`, {
    method,
    headers,
    body: options.json === undefined ? undefined : JSON.stringify(options.json),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T, setCookies: response.headers.getSetCookie() };
}

/** `name=value` of the session cookie a response set, for the next request's Cookie header. */
function sessionCookie(answer: Answer<unknown>): string {
  const set = answer.setCookies.find((c) => c.startsWith("__Host-session="));
  if (!set) throw new Error(`no session cookie in ${JSON.stringify(answer.setCookies)}`);
  return set.split(";")[0]!;
}

const kidOf = (cookie: string) => decodeProtectedHeader(cookie.slice(cookie.indexOf("=") + 1)).kid;

/** Session keys the Worker's Upstash store holds, read from Redis itself. */
async function sessionKeysInRedis(): Promise<string[]> {
  return ((await command(server.port, ["KEYS", "cloakroom:*:s:*"])) as Buffer[]).map(String);
}

async function signIn(user: string, client?: string): Promise<{ cookie: string; session: string; setCookie: string }> {
  const login = await call<{ user: string; session: string }>("POST", "/login", { json: { user }, client });
  expect(login.status).toBe(200);
  expect(login.body.user).toBe(user);
  return { cookie: sessionCookie(login), session: login.body.session, setCookie: login.setCookies[0]! };
}

describe("wrangler deploy --dry-run", () => {
  it("bundles examples/hono-workers from wrangler.toml, with no nodejs_compat", () => {
    expect(settings.main).toBe("examples/hono-workers/src/index.ts");
    expect(settings.compatibilityFlags.filter((flag) => flag.startsWith("nodejs"))).toEqual([]);
    expect(bundle.output).toMatch(/Total Upload: [\d.]+ KiB \/ gzip: [\d.]+ KiB/);
    // The example's sources, the core and the adapters made it in; the aliases point at the tree.
    expect(bundle.inputs).toEqual(expect.arrayContaining([
      "examples/hono-workers/src/index.ts",
      "src/manager.ts",
      "adapters/upstash/index.ts",
      "adapters/memory/index.ts",
    ]));
    expect(bundle.raw).toBeGreaterThan(bundle.gzip);
  });

  it("contains no Node built-in: none imported, none polyfilled", () => {
    expect(nodeBuiltinsIn(bundle)).toEqual([]);
  });
});

describe("the built Worker in workerd (Miniflare, nodejs_compat off)", () => {
  const keys = { old: generateKey("old"), new: generateKey("new") };
  // A grace window that is still open: the old key opens tickets but no longer seals them.
  const graceUntil = new Date(Date.now() + 86_400_000).toISOString();

  it("answers /health from the Upstash store", async () => {
    await startWorker({ ...upstash, SESSION_KEYS: keys.old });
    const before = bridge.requests.length;
    const health = await call<{ status: string }>("GET", "/health");
    expect(health.status).toBe(200);
    expect(health.body.status).toBe("ok");
    expect(bridge.requests.length).toBeGreaterThan(before);
  });

  it("signs in, counts +1 twice, signs out; the old cookie then gets 401", async () => {
    await startWorker({ ...upstash, SESSION_KEYS: keys.old });
    const { cookie, session, setCookie } = await signIn("ann");
    // The defaults hold in a Worker too: a script cannot read it, and it never travels over http.
    expect(setCookie).toMatch(/^__Host-session=[\w.-]+; Max-Age=\d+; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(await sessionKeysInRedis()).toEqual([expect.stringContaining(`:s:${session}`)]);

    const me = await call("GET", "/me", { cookie });
    expect(me).toEqual({ status: 200, body: { user: "ann", count: 0, session }, setCookies: [] });
    expect((await call("POST", "/count", { cookie })).body).toEqual({ count: 1 });
    expect((await call("POST", "/count", { cookie })).body).toEqual({ count: 2 });
    expect((await call("GET", "/me", { cookie })).body).toEqual({ user: "ann", count: 2, session });

    const logout = await call("POST", "/logout", { cookie });
    expect(logout.status).toBe(204);
    // The browser is told to drop the cookie, and the record is gone from Redis.
    expect(logout.setCookies).toEqual([expect.stringMatching(/^__Host-session=;.*Max-Age=0/)]);
    expect(await sessionKeysInRedis()).toEqual([]);

    const after = await call("GET", "/me", { cookie });
    expect(after.status).toBe(401);
    expect(after.body).toEqual({ error: "not signed in; POST /login first." });
  });

  it("rotates keys across restarts: the old cookie works and is re-sealed with the new key, then the old key is dropped", async () => {
    await startWorker({ ...upstash, SESSION_KEYS: keys.old });
    const { cookie: oldCookie, session } = await signIn("bea");
    expect(kidOf(oldCookie)).toBe("old");
    expect((await call("POST", "/count", { cookie: oldCookie })).body).toEqual({ count: 1 });

    // The new key in front, the old one kept for its grace window.
    await startWorker({ ...upstash, SESSION_KEYS: `${keys.new},${keys.old}@${graceUntil}` });
    const rotated = await call("GET", "/me", { cookie: oldCookie });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toEqual({ user: "bea", count: 1, session });
    const newCookie = sessionCookie(rotated);
    expect(kidOf(newCookie)).toBe("new");
    // Once re-sealed, the new cookie needs nothing more.
    expect(await call("GET", "/me", { cookie: newCookie })).toEqual({ status: 200, body: { user: "bea", count: 1, session }, setCookies: [] });

    // The old key dropped: its ticket is no key's now, and reads as no session.
    await startWorker({ ...upstash, SESSION_KEYS: keys.new });
    expect((await call("GET", "/me", { cookie: oldCookie })).status).toBe(401);
    expect((await call("POST", "/count", { cookie: newCookie })).body).toEqual({ count: 2 });
  });

  it("refuses to start on Upstash without SESSION_KEYS, and says how to set it", async () => {
    await startWorker({ ...upstash });
    const answer = await call<{ error: string }>("GET", "/health");
    expect(answer.status).toBe(500);
    expect(answer.body.error).toMatch(/SESSION_KEYS is not set.*wrangler secret put SESSION_KEYS/);
    expect(answer.body.error).not.toContain(bridge.token);
  });

  // Also shows the manager lives at module scope: one built per request would start each
  // request on an empty memory store, and the count would never reach 1.
  it("runs on the memory store when no Upstash binding is set (local runs), one store per isolate", async () => {
    await startWorker({ SESSION_KEYS: keys.new });
    const before = bridge.requests.length;
    const { cookie } = await signIn("cy");
    expect((await call("POST", "/count", { cookie })).body).toEqual({ count: 1 });
    expect((await call("GET", "/me", { cookie })).body).toMatchObject({ user: "cy", count: 1 });
    expect(bridge.requests.length).toBe(before);
  });

  it("limits sign-ins per visitor address (CF-Connecting-IP), on the store's counters", async () => {
    await startWorker({ SESSION_KEYS: keys.new });
    // The demo's limit: 20 sign-ins per address per minute; distinct names stay under the per-user limit.
    for (let i = 0; i < 20; i++) await signIn(`visitor-${i}`, "203.0.113.7");
    const refused = await call<{ error: string }>("POST", "/login", { json: { user: "visitor-20" }, client: "203.0.113.7" });
    expect(refused.status).toBe(429);
    expect(refused.setCookies).toEqual([]);
    // Another address has its own count.
    await signIn("visitor-20", "198.51.100.9");
  });
});
