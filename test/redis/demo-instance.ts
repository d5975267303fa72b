/**
 * Demo app instances for tests, each built the way server.ts builds one (configFromEnv +
 * storeFromEnv from cloakroom/env + createDemoApp), without the HTTP server; driven through
 * `app.request()`. The store's log lines are kept per instance instead of printed.
 */
import { expect } from "vitest";
import { createDemoApp, type DemoData } from "../../examples/hono-node/app.ts";
import { configFromEnv, type Env } from "../../examples/hono-node/config.ts";
import { storeFromEnv } from "../../env/index.ts";
import { createSessions } from "../../src/index.ts";

export function demoInstances() {
  const opened: Array<() => Promise<void>> = [];
  /** One demo instance, as server.ts builds it, without the HTTP server. */
  async function demoInstance(env: Env) {
    const config = configFromEnv(env);
    const logged: string[] = [];
    const choice = await storeFromEnv(env, { log: (line) => logged.push(line) });
    opened.push(choice.close);
    const app = createDemoApp(createSessions<DemoData>({ ...config.sessions, store: choice.store }));
    const call = async (method: string, path: string, cookie?: string, body?: unknown) => {
      const headers: Record<string, string> = {};
      if (cookie) headers.cookie = cookie;
      if (body !== undefined) headers["content-type"] = "application/json";
      const response = await app.request(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await response.text();
      return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, setCookie: response.headers.get("set-cookie") };
    };
    return {
      store: choice.store,
      description: choice.description,
      logged,
      close: choice.close,
      call,
      async login(user: string) {
        const response = await call("POST", "/login", undefined, { user });
        expect(response.status).toBe(200);
        return response.setCookie!.split(";")[0]!;
      },
    };
  }
  return {
    demoInstance,
    /** Closes every instance's clients, as the servers would on shutdown. */
    async closeAll() {
      for (const close of opened.splice(0)) await close();
    },
  };
}
