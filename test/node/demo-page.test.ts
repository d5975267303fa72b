/**
 * The page's inline script, run in a bare `vm` context against the demo app: no browser is
 * installed here, so a tiny stand-in DOM records what the script writes. It catches a script
 * that does not parse, an id the markup lacks, or a flow that ends on the wrong screen.
 */
import vm from "node:vm";
import { createSessions, generateKey } from "cloakroom";
import { memoryStore } from "cloakroom/adapters/memory";
import { expect, it } from "vitest";
import { createDemoApp } from "../../examples/hono-node/app.ts";
import { renderPage } from "../../examples/hono-node/page.ts";

/** Just what the script uses of an element. */
class FakeElement {
  textContent: unknown = "";
  hidden = false;
  className = "";
  children: FakeElement[] = [];
  readonly listeners = new Map<string, Array<(event: unknown) => void>>();
  addEventListener(type: string, listener: (event: unknown) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  dispatch(type: string, event: unknown = {}) {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
  replaceChildren(...children: FakeElement[]) {
    this.children = children;
  }
  append(...children: FakeElement[]) {
    this.children.push(...children);
  }
}

/** The page in a sandbox with one browser's cookie jar; `settle` waits for every request. */
function browser(name: string) {
  const app = createDemoApp(createSessions({ store: memoryStore(), keys: generateKey("k1") }));
  const jar = { cookie: "" };
  const pending = new Set<Promise<unknown>>();
  const fetch = (path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) => {
    // What a browser adds on its own: Origin on a POST, and the cookie from its jar.
    const headers: Record<string, string> = { ...init.headers, origin: "http://localhost", "sec-fetch-site": "same-origin" };
    if (jar.cookie) headers.cookie = jar.cookie;
    const done = Promise.resolve(app.request(path, { ...init, headers })).then((response) => {
      for (const setCookie of response.headers.getSetCookie()) {
        const pair = setCookie.split(";")[0]!;
        jar.cookie = pair.endsWith("=") ? "" : pair;
      }
      return response;
    });
    pending.add(done);
    void done.finally(() => pending.delete(done));
    return done;
  };

  const html = renderPage("test-nonce");
  const elements = new Map<string, FakeElement>();
  for (const [, id] of html.matchAll(/\sid="([\w-]+)"/g)) elements.set(id!, new FakeElement());
  const $ = (id: string) => {
    const element = elements.get(id);
    if (!element) throw new Error(`the markup has no #${id}`);
    return element;
  };
  const script = /<script nonce="test-nonce">([\s\S]*?)<\/script>/.exec(html)![1]!;
  const context = vm.createContext({
    document: { getElementById: $, createElement: () => new FakeElement() },
    fetch,
    FormData: class {
      get(field: string) {
        return field === "user" ? name : null;
      }
    },
    JSON, Date, Error, encodeURIComponent,
  });
  vm.runInContext(script, context);

  async function settle() {
    // Each answer may start the next request (an action, then the refresh), after the script
    // has read the body: drain until a few event-loop turns in a row start nothing new.
    for (let quiet = 0; quiet < 5; ) {
      const before = pending.size;
      await Promise.allSettled([...pending]);
      await new Promise((resolve) => setImmediate(resolve));
      quiet = before === 0 && pending.size === 0 ? quiet + 1 : 0;
    }
  }
  const signIn = () => $("login").dispatch("submit", { preventDefault() {}, target: {} });
  return { $, jar, settle, signIn };
}

it("signs in, counts, lists the device, signs out everywhere and from the device list", async () => {
  const { $, jar, settle, signIn } = browser("alice");
  await settle();
  expect($("signed-out").hidden).toBe(false);
  expect($("signed-in").hidden).toBe(true);

  signIn();
  await settle();
  expect($("error").textContent).toBe("");
  expect($("signed-in").hidden).toBe(false);
  expect($("user").textContent).toBe("alice");
  expect($("handle").textContent).toMatch(/^[A-Za-z0-9_-]{4}\.[A-Za-z0-9_-]{43}$/);

  $("plus").dispatch("click");
  await settle();
  $("plus").dispatch("click");
  await settle();
  expect($("count").textContent).toBe(2);
  expect($("devices").children).toHaveLength(1);
  expect($("devices").children[0]!.className).toBe("current");

  $("logout-all").dispatch("click");
  await settle();
  expect($("note").textContent).toContain("1 session");
  expect($("signed-out").hidden).toBe(false);
  expect(jar.cookie).toBe("");

  signIn();
  await settle();
  const signOutButton = $("devices").children[0]!.children.at(-1)!;
  expect(signOutButton.textContent).toBe("Sign out");
  signOutButton.dispatch("click");
  await settle();
  expect($("signed-out").hidden).toBe(false);
  expect($("error").textContent).toBe("");
  expect(jar.cookie).toBe("");
});
