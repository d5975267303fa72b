/**
 * The reconnect example's routes: a room every signed-in tab posts to and follows live over
 * Server-Sent Events (a streamed `fetch`, so the resume token goes in a JSON body, never in a
 * URL). A tab that loses its connection comes back with its resume token and gets exactly what
 * it missed, in order, once; the server keeps no per-connection state to make that work.
 *
 *   GET  /            the page (page.ts)          GET  /app.js, /app.css   its script and style
 *   POST /login       {"user"} -> {"user"}        POST /logout   204
 *   GET  /me          {"user"}                    POST /events   {"text"} -> {"seq"}
 *   POST /stream      {"member","token"?} -> text/event-stream; 409 {"reason"} for a refused token
 *                     (forged, expired, revoked, other-session, replayed)
 *   POST /ack         {"member","seq"} -> {"token"}: a fresh resume token at that position
 *   GET  /members     {"members":[{"member","seq","heartbeatAt"}]}
 *
 * Stream events: `hello` {from, token} first, then `events` {events:[{seq, event, at}]} as they
 * come, and `gap` {oldest} when what the tab missed is gone.
 *
 * @module
 */
import { SessionError, type Sessions } from "cloakroom";
import { sessionMiddleware, type SessionVariables } from "cloakroom/hono";
import type { ReplayLog } from "cloakroom/replay";
import { Hono, type MiddlewareHandler } from "hono";
import { streamSSE } from "hono/streaming";
import { pageScript, pageStyle, renderPage } from "./page.ts";

export interface RoomEvent {
  from: string;
  text: string;
}

export interface ReconnectEnv {
  Variables: SessionVariables & { user: string };
}

export interface ReconnectOptions {
  /** The one room of the example. @default "room" */
  channel?: string;
  /** How often a stream looks for appends made by other processes, in ms. @default 1000 */
  pollMs?: number;
  /** Seconds a tab stays a live member without a heartbeat. @default 15 */
  memberTtl?: number;
}

const NAME = /^[A-Za-z0-9._-]{1,40}$/;
const MEMBER = /^[A-Za-z0-9_-]{8,64}$/;

async function json(request: Request): Promise<Record<string, unknown>> {
  if (!(request.headers.get("content-type") ?? "").startsWith("application/json")) return {};
  const body = await request.json().catch(() => ({}));
  return typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
}

/**
 * @example
 * const app = createReconnectApp(sessions, createReplayLog<RoomEvent>({ backend: memoryReplay(), sessions }));
 */
export function createReconnectApp(sessions: Sessions, log: ReplayLog<RoomEvent>, options: ReconnectOptions = {}): Hono<ReconnectEnv> {
  const channel = options.channel ?? "room";
  const pollMs = options.pollMs ?? 1000;
  const memberTtl = options.memberTtl ?? 15;
  const app = new Hono<ReconnectEnv>();
  const session = sessionMiddleware(sessions);
  // Wakes the streams of this process when it appends; appends of other processes are found by polling.
  const waiting = new Set<() => void>();
  const wake = () => {
    for (const resolve of waiting) resolve();
    waiting.clear();
  };

  const signedIn: MiddlewareHandler<ReconnectEnv> = async (c, next) => {
    const user = c.get("session").userId;
    if (user === null) return c.json({ error: "not signed in; POST /login first." }, 401);
    c.set("user", user);
    await next();
  };

  app.use("*", async (c, next) => {
    await next();
    c.header("cache-control", "no-store");
  });
  // Every POST takes JSON: a page on another site cannot send it without a CORS preflight,
  // which this app never answers, so a cross-site form cannot use the cookie.
  app.use("*", async (c, next) => {
    if (c.req.method === "POST" && !(c.req.header("content-type") ?? "").startsWith("application/json")) {
      return c.json({ error: "send JSON (content-type: application/json)." }, 415);
    }
    await next();
  });

  app.get("/", (c) => {
    c.header("content-security-policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src data:; base-uri 'none'; frame-ancestors 'none'");
    return c.html(renderPage());
  });
  app.get("/app.js", (c) => c.body(pageScript, 200, { "content-type": "text/javascript; charset=utf-8" }));
  app.get("/app.css", (c) => c.body(pageStyle, 200, { "content-type": "text/css; charset=utf-8" }));

  app.post("/login", session, async (c) => {
    const user = (await json(c.req.raw)).user;
    if (typeof user !== "string" || !NAME.test(user)) return c.json({ error: "user must be 1-40 letters, digits, dots, dashes or underscores." }, 400);
    const current = c.get("session");
    current.userId = user;
    await current.regenerate();
    return c.json({ user });
  });

  app.post("/logout", session, (c) => {
    c.get("session").destroy();
    return c.body(null, 204);
  });

  app.get("/me", session, signedIn, (c) => c.json({ user: c.get("user") }));

  app.post("/events", session, signedIn, async (c) => {
    const text = (await json(c.req.raw)).text;
    if (typeof text !== "string" || text.trim() === "" || text.length > 500) return c.json({ error: "text must be 1-500 characters." }, 400);
    const { seq } = await log.append(channel, { from: c.get("user"), text: text.trim() });
    wake();
    return c.json({ seq });
  });

  app.post("/ack", session, signedIn, async (c) => {
    const { member, seq } = await json(c.req.raw);
    if (typeof member !== "string" || !MEMBER.test(member) || !Number.isSafeInteger(seq) || (seq as number) < 0) {
      return c.json({ error: "ack needs {member, seq}." }, 400);
    }
    await log.ack(channel, member, seq as number);
    return c.json({ token: await log.issueResumeToken(c.get("session"), channel, seq as number) });
  });

  app.get("/members", session, signedIn, async (c) => {
    const members = await log.members(channel);
    return c.json({ members: members.map(({ member, seq, heartbeatAt }) => ({ member, seq, heartbeatAt })) });
  });

  // Not behind signedIn: a token says for itself whose it is, and a signed-out tab is told
  // "revoked" rather than a plain 401.
  app.post("/stream", session, async (c) => {
    const body = await json(c.req.raw);
    const member = body.member;
    if (typeof member !== "string" || !MEMBER.test(member)) return c.json({ error: "stream needs {member}: an id of this tab." }, 400);
    const current = c.get("session");
    let from: number;
    if (body.token !== undefined) {
      const resumed = await log.resume(body.token as string, current);
      if (!resumed.ok) return c.json({ reason: resumed.reason }, 409);
      from = resumed.seq;
    } else if (current.userId === null) {
      return c.json({ error: "not signed in; POST /login first." }, 401);
    } else {
      // A tab that has seen nothing yet starts with the last few events.
      const latest = await log.since(channel, 0, { limit: 1 });
      from = Math.max(0, latest.head - 20);
    }
    await log.heartbeat(channel, member, { ttl: memberTtl });
    const token = await log.issueResumeToken(current, channel, from);

    return streamSSE(c, async (stream) => {
      let open = true;
      stream.onAbort(() => {
        open = false;
        wake();
      });
      await stream.writeSSE({ event: "hello", data: JSON.stringify({ from, token }) });
      let position = from;
      let lastBeat = Date.now();
      while (open) {
        const page = await log.since(channel, position, { limit: 200 });
        if (page.gap) {
          await stream.writeSSE({ event: "gap", data: JSON.stringify({ oldest: page.oldest }) });
          position = page.oldest - 1;
          continue;
        }
        if (page.events.length > 0) {
          await stream.writeSSE({ event: "events", data: JSON.stringify({ events: page.events }) });
          position = page.events[page.events.length - 1]!.seq;
          if (page.more) continue;
        }
        if (Date.now() - lastBeat > (memberTtl * 1000) / 3) {
          await log.heartbeat(channel, member, { ttl: memberTtl });
          lastBeat = Date.now();
        }
        await new Promise<void>((resolve) => {
          const woken = () => (clearTimeout(timer), resolve());
          const timer = setTimeout(() => (waiting.delete(woken), resolve()), pollMs);
          waiting.add(woken);
        });
      }
    }, async (error, stream) => {
      // The store failed mid-stream: say so and end; the tab resumes with its token.
      console.error(`reconnect example: stream ended: ${error.message}`);
      await stream.writeSSE({ event: "unavailable", data: "{}" });
    });
  });

  app.onError((error, c) => {
    if (error instanceof SessionError && error.code === "ERR_SESSION_STORE") return c.json({ error: "the store is unavailable; try again shortly." }, 503);
    if (error instanceof SessionError && error.code === "ERR_SESSION_DATA") return c.json({ error: error.message }, 400);
    console.error(error);
    return c.json({ error: "internal error." }, 500);
  });
  return app;
}
