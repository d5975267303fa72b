/**
 * Holding a Node response's headers until the session's commit has settled. Express (4 and 5)
 * and plain `node:http` send the headers from `writeHead`, which `res.json`, `res.send`,
 * `res.redirect`, a piped stream's first `write` and a bare `res.end` all reach, synchronously.
 * The commit is asynchronous, so the first of `writeHead`, `write`, `end` and `flushHeaders`
 * starts it and every call from then on is queued; when it settles, the cookies go on and the
 * calls run in their order. Nothing leaves the process before the session is saved.
 *
 * Typed by the few members used, so no Node or Express types are needed here.
 *
 * @module
 */

/** What the bindings use of Node's `IncomingMessage` (Express's `req`). */
export interface NodeRequest {
  headers: { cookie?: string | undefined };
}

/** What the bindings use of Node's `ServerResponse` (Express's `res`). */
export interface NodeResponse {
  statusCode: number;
  readonly headersSent: boolean;
  getHeader(name: string): number | string | string[] | undefined;
  setHeader(name: string, value: number | string | readonly string[]): unknown;
  getHeaderNames(): string[];
  removeHeader(name: string): void;
  writeHead(...args: unknown[]): unknown;
  write(...args: unknown[]): boolean;
  end(...args: unknown[]): unknown;
  flushHeaders?(): void;
}

/** Express's `next`. */
export type NextFunction = (error?: unknown) => void;

/** A JSON answer written whole: the middlewares' own 503 and 429. */
export function sendJson(res: NodeResponse, status: number, body: object, headers: Readonly<Record<string, string>>): void {
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify(body));
}

const HELD = ["writeHead", "write", "end", "flushHeaders"] as const;
type Held = (typeof HELD)[number];
type Call = { method: Held; run: (...args: unknown[]) => unknown; args: unknown[] };

export interface HoldOptions {
  /** Saves the session; resolves with the Set-Cookie values to send. */
  commit(): Promise<string[]>;
  /** Whether the session changed since the last commit (then `end` commits again). */
  isDirty(): boolean;
  /** The response's Cache-Control given whether it sets a cookie and what it has (private-response.ts); null keeps it. */
  cacheControl(setsCookie: boolean, current: string | null): string | null;
  /** The commit failed before anything was sent: write the answer (a 503, or an error page). */
  failed(error: unknown): void;
  /** A commit after the headers were sent failed or needed a cookie: report it; the response is not ended. */
  failedAfterHeaders(error: unknown): void;
}

function asArray(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

const isNamed = (name: unknown, wanted: string) => String(name).toLowerCase() === wanted;

/** A header's value as one string, or null when it is not set. */
function headerValue(value: unknown): string | null {
  const values = asArray(value);
  return values.length > 0 ? values.join(", ") : null;
}

/** Decides the Cache-Control from the one the response has (private-response.ts), or null to keep it. */
type CacheControlFor = (current: string | null) => string | null;

/**
 * `writeHead(status, headers)` gives its headers precedence over `setHeader`'s, so cookies and
 * cache-control set beside it would be dropped: they go into (a copy of) its headers instead.
 */
function intoWriteHead(res: NodeResponse, call: Call | undefined, setCookies: string[], cacheControlFor: CacheControlFor): boolean {
  const headers = call?.args.at(-1);
  if (!call || typeof headers !== "object" || headers === null) return false;
  if (Array.isArray(headers)) {
    // The flat [name, value, name, value] form: its set-cookie pairs replace setHeader's.
    const pairs = [...(headers as unknown[])];
    const names = pairs.filter((_, i) => i % 2 === 0);
    const kept = names.some((name) => isNamed(name, "set-cookie")) ? [] : asArray(res.getHeader("set-cookie"));
    const at = pairs.findIndex((pair, i) => i % 2 === 0 && isNamed(pair, "cache-control"));
    const cacheControl = cacheControlFor(at >= 0 ? String(pairs[at + 1]) : headerValue(res.getHeader("cache-control")));
    if (cacheControl && at >= 0) pairs[at + 1] = cacheControl;
    else if (cacheControl) pairs.push("cache-control", cacheControl);
    if (setCookies.length > 0) for (const setCookie of [...kept, ...setCookies]) pairs.push("set-cookie", setCookie);
    call.args[call.args.length - 1] = pairs;
    return true;
  }
  const record: Record<string, unknown> = {};
  let cookies: string[] | undefined;
  let current: string | null = headerValue(res.getHeader("cache-control"));
  for (const [name, value] of Object.entries(headers)) {
    if (isNamed(name, "set-cookie")) cookies = [...(cookies ?? []), ...asArray(value)];
    else if (isNamed(name, "cache-control")) current = headerValue(value);
    else record[name] = value;
  }
  if (setCookies.length > 0 || cookies) record["set-cookie"] = [...(cookies ?? asArray(res.getHeader("set-cookie"))), ...setCookies];
  const cacheControl = cacheControlFor(current);
  if (cacheControl ?? current) record["cache-control"] = cacheControl ?? current;
  call.args[call.args.length - 1] = record;
  return true;
}

function addSessionHeaders(res: NodeResponse, queue: Call[], setCookies: string[], cacheControlFor: CacheControlFor): void {
  if (intoWriteHead(res, queue.find((call) => call.method === "writeHead"), setCookies, cacheControlFor)) return;
  if (setCookies.length > 0) res.setHeader("set-cookie", [...asArray(res.getHeader("set-cookie")), ...setCookies]);
  const cacheControl = cacheControlFor(headerValue(res.getHeader("cache-control")));
  if (cacheControl) res.setHeader("cache-control", cacheControl);
}

/**
 * Installs the hold on `res`. The methods stay wrapped after the flush (another middleware may
 * have captured them): from then on they pass straight through, except that `end` commits a
 * session changed after the headers went out.
 */
export function holdUntilCommitted(res: NodeResponse, options: HoldOptions): void {
  let phase: "open" | "committing" | "sent" = "open";
  /** Set when the first commit failed: its answer's own `end` must not commit again. */
  let gaveUp = false;
  let queue: Call[] = [];
  const target = res as unknown as Record<Held, ((...args: unknown[]) => unknown) | undefined>;

  const flush = async () => {
    let setCookies: string[];
    try {
      setCookies = await options.commit();
    } catch (error) {
      phase = "sent";
      gaveUp = true;
      queue = [];
      // Nothing went out: what the handler had set must not leak into the error answer.
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      options.failed(error);
      return;
    }
    addSessionHeaders(res, queue, setCookies, (current) => options.cacheControl(setCookies.length > 0, current));
    phase = "sent";
    const calls = queue;
    queue = [];
    for (const call of calls) call.run.apply(res, call.args);
  };

  const endAfterHeaders = async (end: (...args: unknown[]) => unknown, args: unknown[]) => {
    let setCookies: string[];
    try {
      setCookies = await options.commit();
    } catch (error) {
      options.failedAfterHeaders(error);
      return;
    }
    if (setCookies.length > 0) {
      options.failedAfterHeaders(
        new Error(
          "cloakroom: req.session changed after the response's headers were sent in a way that needs a new cookie (a sign-in, regenerate() or a new session); the browser cannot receive it. Change the session before writing the response.",
        ),
      );
      return;
    }
    end.apply(res, args);
  };

  for (const method of HELD) {
    const original = target[method];
    if (typeof original !== "function") continue;
    target[method] = function held(...args: unknown[]) {
      if (phase === "sent") {
        if (method === "end" && !gaveUp && options.isDirty()) {
          void endAfterHeaders(original, args);
          return res;
        }
        return original.apply(res, args);
      }
      queue.push({ method, run: original, args });
      if (phase === "open") {
        phase = "committing";
        void flush();
      }
      // What the real methods return: write says "go on writing"; the others return res.
      return method === "write" ? true : res;
    };
  }
}
