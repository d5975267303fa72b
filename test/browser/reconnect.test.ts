/**
 * examples/reconnect in a real browser: Debian's Chromium driven by playwright-core, against
 * `node examples/reconnect/server.ts` on the built package (memory, nothing else to install).
 * Two browser contexts are two devices. One goes offline (`context.setOffline`), the other
 * posts, the first comes back and must show what it missed, in order, once; then it signs out
 * and the resume token it holds is refused. scripts/summary.mjs counts this as "chromium".
 */
import type { BrowserContext, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { exampleInBrowser } from "../support/browser.ts";

const BUILT = ["dist/index.js", "dist/hono.js", "dist/env.js", "dist/replay.js", "dist/adapters/memory.js"];


const live = exampleInBrowser("examples/reconnect/server.ts", BUILT, "cloakroom reconnect: open");

async function device(): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await live.browser.newContext();
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    // /me answers 401 when signed out, and fetches fail while offline: Chromium logs both.
    if (message.type() === "error" && !/status of 401|ERR_INTERNET_DISCONNECTED/.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  await page.goto(live.base);
  await page.locator("#login").waitFor({ state: "visible" });
  return { context, page, problems };
}

async function signIn(page: Page, user: string): Promise<void> {
  await page.locator('#login input[name="user"]').fill(user);
  await page.locator("#login button").click();
  await page.waitForFunction(() => document.getElementById("status")?.textContent === "live");
}

async function say(page: Page, text: string): Promise<void> {
  await page.locator('#post input[name="text"]').fill(text);
  await page.locator("#post button").click();
  await page.waitForFunction(() => (document.querySelector('#post input[name="text"]') as HTMLInputElement).value === "");
}

const shown = (page: Page) => page.locator("#events li").allTextContents();
const waitForCount = (page: Page, count: number) => page.waitForFunction((n) => document.querySelectorAll("#events li").length >= n, count);

describe("examples/reconnect in Chromium", () => {
  it("a tab that was offline gets what it missed, in order, once; after sign-out its resume token is refused", async () => {
    const laptop = await device();
    const phone = await device();
    await signIn(laptop.page, "ann");
    await signIn(phone.page, "bob");

    await say(phone.page, "one");
    await waitForCount(laptop.page, 1);
    expect(await shown(laptop.page)).toEqual(["bob: one"]);

    await laptop.context.setOffline(true);
    await laptop.page.waitForFunction(() => document.getElementById("status")?.textContent === "offline");
    for (const text of ["two", "three", "four"]) await say(phone.page, text);
    await waitForCount(phone.page, 4);
    // Nothing reaches the offline tab.
    expect(await shown(laptop.page)).toEqual(["bob: one"]);

    await laptop.context.setOffline(false);
    await waitForCount(laptop.page, 4);
    await laptop.page.waitForFunction(() => document.getElementById("status")?.textContent === "live");
    await say(laptop.page, "back");
    await waitForCount(phone.page, 5);
    await waitForCount(laptop.page, 5);
    const expected = ["bob: one", "bob: two", "bob: three", "bob: four", "ann: back"];
    expect(await shown(laptop.page)).toEqual(expected);
    expect(await shown(phone.page)).toEqual(expected);
    const seqs = await laptop.page.locator("#events li").evaluateAll((items) => items.map((item) => Number((item as HTMLElement).dataset.seq)));
    expect(seqs).toEqual([1, 2, 3, 4, 5]);

    // The laptop acknowledged everything it showed: the server lists it at 5.
    await laptop.page.waitForFunction(async () => {
      const { members } = await (await fetch("/members")).json();
      return members.some((m: { member: string; seq: number }) => m.member === sessionStorage.getItem("member") && m.seq === 5);
    });

    // The tab came back through its token: a refused one would show as a 409 here.
    expect(laptop.problems).toEqual([]);
    expect(phone.problems).toEqual([]);

    // Sign out: the token this tab holds is now refused, as "revoked".
    const token = await laptop.page.evaluate(() => sessionStorage.getItem("token"));
    expect(token).toMatch(/^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/);
    await laptop.page.locator("#logout").click();
    await laptop.page.locator("#login").waitFor({ state: "visible" });
    const refused = await laptop.page.evaluate(async (held) => {
      const response = await fetch("/stream", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ member: sessionStorage.getItem("member"), token: held }) });
      return { status: response.status, body: await response.json() };
    }, token);
    expect(refused).toEqual({ status: 409, body: { reason: "revoked" } });
    await laptop.context.close();
    await phone.context.close();
  });
});
