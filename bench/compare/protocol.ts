/**
 * What the orchestrator (bench/compare.ts) and a server process (server.ts) say to each other
 * over the IPC channel: one request, one reply, matched by `seq`.
 *
 * @module
 */

export type Command =
  /** Signs visitors 0..count-1 in through `POST /login`, in process; checks that `GET /me` knows each. */
  | { cmd: "seed"; count: number }
  /** `requests` GET /me in process, round robin over the visitors; untimed (the round-trip count). */
  | { cmd: "count"; requests: number }
  /** GET /me in process for `ms`, one at a time, round robin; per-request times in µs. */
  | { cmd: "slice"; ms: number }
  /** CPU this process has used (user + system, µs) and HTTP requests it has received. */
  | { cmd: "usage" }
  /** V8's CPU profiler on (BENCH_COMPARE_PROFILE), then off, writing the profile to `file`. */
  | { cmd: "profile-start" }
  | { cmd: "profile-stop"; file: string }
  | { cmd: "stop" };

export interface Seeded {
  /** Cookie header per visitor ("" for the lines without a session). */
  cookies: string[];
  /** Bytes of the Set-Cookie header values of one sign-in response (median over the visitors). */
  signInBytes: number;
  /** Set-Cookie headers on one sign-in response. */
  signInHeaders: number;
}

export interface Counted {
  requests: number;
  /** Set-Cookie header values' bytes over all responses. */
  setCookieBytes: number;
  setCookieHeaders: number;
  /** Answers that were not the visitor's user (or not 200). */
  wrong: number;
  firstWrong?: string;
}

export interface Usage {
  cpuUs: number;
  /** The kernel's share of cpuUs (socket reads and writes, mostly). */
  systemUs: number;
  handled: number;
}

export type Reply =
  | { seq: number; ok: true; result: unknown }
  | { seq: number; ok: false; error: string };

export type Hello = { ready: true; port: number } | { ready: false; error: string };
