/**
 * One line's server process: `node bench/compare/server.ts <scenario> <redis-url>`, started by
 * bench/compare.ts with an IPC channel. It builds the app, listens on a free loopback port, says
 * `{ ready, port }`, then runs what the orchestrator asks (protocol.ts). Each line has a process
 * of its own, so `process.cpuUsage()` here is that line's server CPU and nothing else's; the
 * load generator runs in the orchestrator, another process.
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { Session as Inspector } from "node:inspector/promises";
import type { AddressInfo } from "node:net";
import { timerOverheadMs } from "../measure.ts";
import { buildApp, type Answer, type App } from "./apps.ts";
import type { Command, Counted, Hello, Reply, Seeded, Usage } from "./protocol.ts";
import { scenario, userOf, type ScenarioId } from "./scenarios.ts";

const [id, redisUrl = ""] = process.argv.slice(2) as [ScenarioId, string?];
const line = scenario(id);
const send = (message: Hello | Reply) => process.send!(message);

/** The cookie header a browser would send after these Set-Cookie headers (last one of a name wins). */
function cookieAfter(setCookie: readonly string[]): string {
  const jar = new Map<string, string>();
  for (const header of setCookie) {
    const pair = header.split(";", 1)[0]!;
    const eq = pair.indexOf("=");
    jar.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
}

const bytes = (headers: readonly string[]) => headers.reduce((sum, value) => sum + Buffer.byteLength(value), 0);

/** Why an answer to GET /me for visitor n is not the right one, or undefined when it is. */
function wrongAnswer(answer: Answer, n: number): string | undefined {
  if (answer.status !== 200) return `status ${answer.status}: ${answer.body.slice(0, 200)}`;
  if (!line.session) return undefined;
  const expected = JSON.stringify({ user: userOf(n) });
  return answer.body === expected ? undefined : `answered ${answer.body.slice(0, 200)}, expected ${expected}`;
}

let app: App;
let cookies: string[] = [];
let next = 0;
let handled = 0;
const get = (n: number) => app.call({ method: "GET", path: "/me", cookie: cookies[n] || undefined });

async function seed(count: number): Promise<Seeded> {
  const sizes: number[] = [];
  let headers = 0;
  cookies = [];
  for (let n = 0; n < count; n++) {
    const answer = await app.call({ method: "POST", path: `/login?u=${n}` });
    if (answer.status !== 200) throw new Error(`${id}: sign-in answered ${answer.status}: ${answer.body.slice(0, 200)}`);
    if (line.session && answer.setCookie.length === 0) throw new Error(`${id}: sign-in sent no Set-Cookie`);
    sizes.push(bytes(answer.setCookie));
    headers = answer.setCookie.length;
    cookies.push(cookieAfter(answer.setCookie));
  }
  for (let n = 0; n < count; n++) {
    const wrong = wrongAnswer(await get(n), n);
    if (wrong) throw new Error(`${id}: GET /me for visitor ${n} right after sign-in ${wrong}`);
  }
  if (line.session) {
    const anonymous = await app.call({ method: "GET", path: "/me" });
    if (anonymous.status !== 401) throw new Error(`${id}: GET /me without a cookie answered ${anonymous.status}, expected 401`);
  }
  sizes.sort((a, b) => a - b);
  return { cookies, signInBytes: sizes[Math.floor(sizes.length / 2)]!, signInHeaders: headers };
}

async function count(requests: number): Promise<Counted> {
  const counted: Counted = { requests, setCookieBytes: 0, setCookieHeaders: 0, wrong: 0 };
  for (let i = 0; i < requests; i++) {
    const n = next++ % cookies.length;
    const answer = await get(n);
    counted.setCookieBytes += bytes(answer.setCookie);
    counted.setCookieHeaders += answer.setCookie.length;
    const wrong = wrongAnswer(answer, n);
    if (wrong) {
      counted.wrong++;
      counted.firstWrong ??= wrong;
    }
  }
  return counted;
}

let overheadMs: number | undefined;
async function slice(ms: number): Promise<number[]> {
  overheadMs ??= timerOverheadMs();
  const samples: number[] = [];
  const end = performance.now() + ms;
  for (;;) {
    const n = next++ % cookies.length;
    const start = performance.now();
    const answer = await get(n);
    const stop = performance.now();
    if (answer.status !== 200) throw new Error(`${id}: GET /me answered ${answer.status} while timing`);
    samples.push(Math.max(0, stop - start - overheadMs) * 1000);
    if (stop >= end) return samples;
  }
}

let inspector: Inspector | undefined;
async function profileStart(): Promise<void> {
  inspector = new Inspector();
  inspector.connect();
  await inspector.post("Profiler.enable");
  await inspector.post("Profiler.start");
}

async function profileStop(file: string): Promise<void> {
  if (!inspector) throw new Error(`${id}: profile-stop without profile-start`);
  const { profile } = await inspector.post("Profiler.stop");
  inspector.disconnect();
  inspector = undefined;
  writeFileSync(file, JSON.stringify(profile));
}

function usage(): Usage {
  const { user, system } = process.cpuUsage();
  return { cpuUs: user + system, systemUs: system, handled };
}

try {
  app = await buildApp(id, redisUrl);
  const server = createServer((req, res) => {
    handled++;
    app.listener(req, res);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  process.on("message", async (message: Command & { seq: number }) => {
    try {
      let result: unknown;
      switch (message.cmd) {
        case "seed":
          result = await seed(message.count);
          break;
        case "count":
          result = await count(message.requests);
          break;
        case "slice":
          result = await slice(message.ms);
          break;
        case "usage":
          result = usage();
          break;
        case "profile-start":
          await profileStart();
          break;
        case "profile-stop":
          await profileStop(message.file);
          break;
        case "stop":
          server.closeAllConnections();
          server.close();
          await app.close();
          send({ seq: message.seq, ok: true, result: null });
          process.disconnect();
          return;
      }
      send({ seq: message.seq, ok: true, result });
    } catch (error) {
      send({ seq: message.seq, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  });
  // The orchestrator gone (crashed, Ctrl-C) means this process has nothing left to do.
  process.on("disconnect", () => process.exit(0));
  send({ ready: true, port: (server.address() as AddressInfo).port });
} catch (error) {
  send({ ready: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
}
