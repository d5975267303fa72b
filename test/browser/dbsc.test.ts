/**
 * Device-bound sessions in the real browser: Debian's Chromium (/usr/bin/chromium, software keys
 * standing in for a TPM) against the demo in its strict device-bound mode, over real HTTPS
 * (../shared/notes/dbsc.md: DBSC does nothing on http, nor with certificate errors ignored).
 *
 * Set-up, all throwaway and under one temporary directory: a CA and a `localhost` certificate made
 * with openssl, the CA trusted in an NSS database (certutil, Debian's libnss3-tools) under a HOME
 * of its own that Chromium is started with, and the demo served by node:https.
 *
 * Device A signs in from the page (its own fetch); DevTools reports the DBSC session created and refreshed, and
 * the demo reads the session as bound. A's cookies are then copied into a second profile (device
 * B, a DBSC browser with no key for this session): once the copied bound cookie has run out, B's
 * session reads as unbound and the strict demo refuses it, while A goes on.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type CDPSession, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SETTLE_MS } from "../../src/dbsc/binding.ts";
import { generateKey } from "../../src/index.ts";
import { CHROMIUM, CHROMIUM_ARGS, ensureBuilt, requireTools, root, startExample, type ExampleServer } from "../support/browser.ts";
import { freePort } from "../support/redis-server.ts";

const ARGS = [
  ...CHROMIUM_ARGS,
  // dbsc.md: DBSC with software keys (no TPM here), its DevTools events, and no refresh quota.
  "--enable-features=DeviceBoundSessions,EnableBoundSessionCredentialsSoftwareKeysForManualTesting,DeviceBoundSessionsDevTools",
  "--disable-features=DeviceBoundSessionsRefreshQuota",
];
const BUILT = ["dist/index.js", "dist/hono.js", "dist/env.js", "dist/adapters/memory.js"];
/** Seconds the bound cookie lives: short, so a refresh comes soon and a copy runs out soon. */
const BOUND_MAX_AGE = 4;
const SCREENSHOT = join(root, ".reports/screenshots/dbsc.png");

let work = "";
let base = "";
let server: ExampleServer | undefined;


function run(command: string, args: string[]): void {
  execFileSync(command, args, { cwd: work, stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA, a localhost certificate it signed, and an NSS database under `home` that trusts the CA. */
function certificates(home: string): { cert: string; key: string } {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  run("openssl", ["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=cloakroom test CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]);
  run("openssl", ["req", ...ec, "-keyout", "localhost.key", "-out", "localhost.csr", "-subj", "/CN=localhost"]);
  writeFileSync(join(work, "ext.cnf"), "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n");
  run("openssl", ["x509", "-req", "-in", "localhost.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
    "-out", "localhost.pem", "-days", "2", "-extfile", "ext.cnf"]);
  const nss = join(home, ".pki/nssdb");
  mkdirSync(nss, { recursive: true });
  run("certutil", ["-d", `sql:${nss}`, "-N", "--empty-password"]);
  run("certutil", ["-d", `sql:${nss}`, "-A", "-t", "C,,", "-n", "cloakroom-test-ca", "-i", join(work, "ca.pem")]);
  return { cert: join(work, "localhost.pem"), key: join(work, "localhost.key") };
}

beforeAll(async () => {
  requireTools([[CHROMIUM, "chromium"], ["/usr/bin/certutil", "libnss3-tools"], ["/usr/bin/openssl", "openssl"]]);
  ensureBuilt(BUILT);
  work = mkdtempSync(join(tmpdir(), "cloakroom-dbsc-"));
  const tls = certificates(join(work, "home"));
  const port = await freePort();
  base = `https://localhost:${port}`;
  server = await startExample(
    "examples/hono-node/server.ts",
    {
      PORT: String(port),
      NODE_ENV: "development",
      SESSION_KEYS: generateKey("k1"),
      DEMO_DEVICE_BOUND: "strict",
      DEMO_DBSC_COOKIE_MAX_AGE: String(BOUND_MAX_AGE),
      DEMO_TLS_CERT: tls.cert,
      DEMO_TLS_KEY: tls.key,
    },
    "cloakroom demo: open https://",
  );
});

afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface DbscEvent {
  succeeded: boolean;
  sessionId?: string;
  creationEventDetails?: { fetchResult: string };
  refreshEventDetails?: { refreshResult: string; fetchResult?: string };
  challengeEventDetails?: { challengeResult: string };
  terminationEventDetails?: { deletionReason: string };
}

/** A Chromium profile of its own (a device), with the DBSC DevTools events recorded. */
async function device(name: string): Promise<{ context: BrowserContext; page: Page; cdp: CDPSession; events: DbscEvent[] }> {
  const context = await chromium.launchPersistentContext(join(work, `profile-${name}`), {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    env: { ...process.env, HOME: join(work, "home") },
    userAgent: `cloakroom DBSC test, ${name}`,
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const cdp = await context.newCDPSession(page);
  const events: DbscEvent[] = [];
  cdp.on("Network.deviceBoundSessionEventOccurred" as never, (event: DbscEvent) => events.push(event));
  await cdp.send("Network.enable");
  await cdp.send("Network.enableDeviceBoundSessions" as never, { enable: true } as never);
  return { context, page, cdp, events };
}

/** A request from the page itself: the browser's own network stack, DBSC deferral included. */
const fromPage = (page: Page, path: string, body?: unknown) =>
  page.evaluate(async ([path, body]) => {
    const init = body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
    const response = await fetch(path, init);
    return { status: response.status, body: await response.json() };
  }, [path, body] as const);

const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

describe("device-bound sessions in Chromium", () => {
  it("binds the session on sign-in, refreshes it, and refuses the copied cookies on another device", async () => {
    const a = await device("a");
    let b: Awaited<ReturnType<typeof device>> | undefined;
    try {
      await a.page.goto(base);
      await a.page.locator("#signed-out").waitFor({ state: "visible" });
      // Signed in by the page's own fetch (what its form does, without the page's follow-up
      // requests: Chromium signs only a few proofs a minute, and each request in scope of a
      // short-lived bound cookie asks for one).
      expect(await fromPage(a.page, "/login", { user: "ann" })).toMatchObject({ status: 200, body: { user: "ann" } });

      await until("the DBSC session to be created", () => a.events.some((e) => e.creationEventDetails));
      const createdAt = Date.now();
      const created = a.events.find((e) => e.creationEventDetails)!;
      expect([created.succeeded, created.creationEventDetails!.fetchResult]).toEqual([true, "Success"]);
      // (deviceRegistered turns true a few seconds after the registration: SETTLE_MS.)
      expect(await fromPage(a.page, "/device")).toMatchObject({ status: 200, body: { user: "ann", binding: "bound" } });

      // The bound cookie lives seconds: the browser answers a challenge with its key and gets a new
      // one. (Chromium refreshes a cookie that ends within about two minutes on every request in
      // scope, and signs only a few proofs a minute: this test keeps A's requests few.)
      await until("a refresh", () => a.events.some((e) => e.refreshEventDetails?.refreshResult === "Refreshed"));
      expect(a.events.some((e) => e.challengeEventDetails?.challengeResult === "Success")).toBe(true);

      // Another device with a copy of every cookie A holds (what an infostealer takes).
      const copied = await a.context.cookies(base);
      expect(copied.map((c) => c.name).sort()).toEqual(["__Host-session", "__Host-session-bound"]);
      const boundEnd = copied.find((c) => c.name === "__Host-session-bound")!.expires;
      b = await device("b");
      await b.context.addCookies(copied);
      await b.page.goto(base);
      // The copied bound cookie runs out and B has no key to get another.
      await until(
        "the copied bound cookie to run out",
        () => Date.now() / 1000 > boundEnd + 0.5 && Date.now() > createdAt + SETTLE_MS + 500,
        (BOUND_MAX_AGE + 2) * 1000 + SETTLE_MS,
      );
      expect(await fromPage(b.page, "/device")).toEqual({ status: 200, body: { user: "ann", binding: "unbound", deviceRegistered: true } });
      expect((await fromPage(b.page, "/me")).status).toBe(401);
      expect(b.events.filter((e) => e.refreshEventDetails?.refreshResult === "Refreshed")).toEqual([]);

      // A goes on: its bound cookie has run out too, the browser refreshes it with its key, and the
      // strict demo serves it.
      expect((await fromPage(a.page, "/me")).status).toBe(200);
      mkdirSync(join(root, ".reports/screenshots"), { recursive: true });
      await a.page.screenshot({ path: SCREENSHOT });
      const seen = a.events.map((e) =>
        e.creationEventDetails ? `creation ${e.creationEventDetails.fetchResult}`
        : e.refreshEventDetails ? `refresh ${e.refreshEventDetails.refreshResult}`
        : e.challengeEventDetails ? `challenge ${e.challengeEventDetails.challengeResult}`
        : e.terminationEventDetails ? `termination ${e.terminationEventDetails.deletionReason}`
        : "other");
      console.log(`DBSC DevTools events on device A: ${[...new Set(seen)].join(", ")} (${seen.length} in all); device B: ${b.events.length}`);
    } finally {
      await b?.context.close();
      await a.context.close();
    }
  }, 60_000);
});
