/**
 * The demo in a real browser: Debian's Chromium (/usr/bin/chromium) driven by playwright-core,
 * against `node examples/hono-node/server.ts` on the built package, at http://localhost:<port>
 * (a secure context, so the default `__Host-` Secure cookie works over plain http). Two browser
 * contexts are two devices of one user. Never downloads a browser: a missing Chromium fails
 * the file with how to install it.
 *
 * The screenshot (.reports/screenshots/demo.png) is CI's artifact. scripts/summary.mjs counts
 * this directory as the "chromium" runtime.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { exampleInBrowser, root } from "../support/browser.ts";

const SCREENSHOT = join(root, ".reports/screenshots/demo.png");
const BUILT = ["dist/index.js", "dist/hono.js", "dist/env.js", "dist/adapters/memory.js"];
const COOKIE = "__Host-session";

const live = exampleInBrowser("examples/hono-node/server.ts", BUILT, "cloakroom demo: open");

/** A browser context as one device: its own cookie jar and user agent; page errors are collected. */
async function device(name: string): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await live.browser.newContext({ userAgent: `cloakroom browser test, ${name}` });
  // Well inside vitest's 30 s, so a wait that never ends fails with what it waited for.
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems: string[] = [];
  // A CSP violation or a script error shows here: the page must run clean under its own policy.
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    // The page asks /me to learn whether it is signed in; Chromium logs the 401 answer as an error.
    const signedOutProbe = /status of 401/.test(message.text()) && message.location().url.endsWith("/me");
    if (message.type() === "error" && !signedOutProbe) problems.push(`console: ${message.text()}`);
  });
  return { context, page, problems };
}

async function signIn(page: Page, user: string): Promise<void> {
  await page.goto(live.base);
  await page.locator("#signed-out").waitFor({ state: "visible" });
  await page.locator('#login input[name="user"]').fill(user);
  await page.locator("#login button").click();
  await page.locator("#signed-in").waitFor({ state: "visible" });
  expect(await page.locator("#user").textContent()).toBe(user);
}

/** Waits until the page shows `text` in the element `id` (the page refreshes after every action). */
async function shows(page: Page, id: string, text: string): Promise<void> {
  await page.waitForFunction(([id, text]) => document.getElementById(id!)?.textContent === text, [id, text] as const);
}

describe("the demo in Chromium", () => {
  it("signs in, counts twice, lists devices, and is signed out on reload after 'sign out everywhere' on another device", async () => {
    const laptop = await device("laptop");
    const phone = await device("phone");
    const { page } = laptop;

    await signIn(page, "ann");
    await shows(page, "count", "0");
    await page.locator("#plus").click();
    await shows(page, "count", "1");
    await page.locator("#plus").click();
    await shows(page, "count", "2");
    expect(await page.locator("#devices li").count()).toBe(1);
    expect(await page.locator("#devices li.current").textContent()).toContain("cloakroom browser test, laptop  (this device)");

    // HttpOnly: the browser holds the cookie, the page's script cannot see it.
    const [cookie, ...others] = await laptop.context.cookies(live.base);
    expect(others).toEqual([]);
    expect(cookie).toMatchObject({ name: COOKIE, httpOnly: true, secure: true, sameSite: "Lax", path: "/" });
    expect(cookie!.value.length).toBeGreaterThan(0);
    const visibleToScript = await page.evaluate(() => document.cookie);
    expect(visibleToScript).not.toContain(COOKIE);
    expect(visibleToScript).not.toContain(cookie!.value);

    // A second device, same user: both show up in the list.
    await signIn(phone.page, "ann");
    await phone.page.waitForFunction(() => document.querySelectorAll("#devices li").length === 2);
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll("#devices li").length === 2);
    await shows(page, "count", "2");
    const devices = await page.locator("#devices li").allTextContents();
    expect(devices.filter((text) => text.includes("(this device)"))).toHaveLength(1);
    expect(devices.join("\n")).toContain("cloakroom browser test, phone");
    mkdirSync(join(root, ".reports/screenshots"), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);

    // "Sign out everywhere" on the phone ends the laptop's session too.
    await phone.page.locator("#logout-all").click();
    await shows(phone.page, "note", "Signed out of 2 session(s).");
    await phone.page.locator("#signed-out").waitFor({ state: "visible" });

    await page.reload();
    await page.locator("#signed-out").waitFor({ state: "visible" });
    expect(await page.locator("#signed-in").isHidden()).toBe(true);
    const me = await laptop.context.request.get(`${live.base}/me`);
    expect(me.status()).toBe(401);

    expect([...laptop.problems, ...phone.problems]).toEqual([]);
    await laptop.context.close();
    await phone.context.close();
  });
});
