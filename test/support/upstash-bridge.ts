/**
 * A local stand-in for Upstash: an HTTP server on 127.0.0.1 that speaks the REST protocol
 * @upstash/redis 1.39 uses (see /work/shared/notes/toolchain.md, last part) and forwards every
 * command to a real redis-server. The real client is then the one under test, against real
 * Redis semantics (Lua, MULTI/EXEC, expiries), without an Upstash account.
 *
 *   POST /            body ["cmd", ...args]         -> 200 {result} | 400 {error}
 *   POST /pipeline    body [["cmd", ...], ...]      -> 200 [{result} | {error}, ...] in order
 *   POST /multi-exec  same body, run in MULTI/EXEC  -> 200 [{result} | {error}, ...] | 400 {error}
 *
 * `Authorization: Bearer <token>` is required (401 otherwise). With `Upstash-Encoding: base64`
 * every bulk and status string is sent as base64 of its bytes, except the status OK, which is
 * sent raw as Upstash does; integers stay JSON numbers and nil is null. Arguments arrive as
 * JSON strings, numbers or booleans and reach Redis as strings.
 *
 * Test harness only; not part of the package.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { connectResp, RespError, RespStatus, type RespClient, type RespReply } from "./resp-client.ts";

export type BridgePath = "/" | "/pipeline" | "/multi-exec";

export interface BridgeRequest {
  path: BridgePath;
  /** The commands as forwarded to Redis (arguments as strings). */
  commands: string[][];
}

export interface UpstashBridgeOptions {
  /** Port of the redis-server on 127.0.0.1 to forward to. */
  redisPort: number;
  /** The bearer token clients must present. @default 24 random bytes, base64url */
  token?: string;
}

export interface UpstashBridge {
  /** `http://127.0.0.1:<port>`, what UPSTASH_REDIS_REST_URL would be. */
  readonly url: string;
  readonly token: string;
  /** Every authorised request, in arrival order: tests count HTTP round trips with it. */
  readonly requests: BridgeRequest[];
  /** Requests refused for a missing or wrong token. */
  readonly refused: number;
  /** Stops listening and drops open connections (so keep-alive clients see the server gone). */
  close(): Promise<void>;
}

type Json = string | number | null | Json[];

class BadRequest extends Error {}

/** A reply as Upstash puts it in `result`. */
function encode(reply: RespReply, base64: boolean): Json {
  if (reply === null || typeof reply === "number") return reply;
  if (Array.isArray(reply)) return reply.map((item) => encode(item, base64));
  if (Buffer.isBuffer(reply)) return base64 ? reply.toString("base64") : reply.toString("utf8");
  if (reply instanceof RespStatus) {
    // The client special-cases a raw "OK"; any other status must be encoded like a bulk string
    // (a raw "PONG" is valid base64 and would decode to garbage).
    if (reply.value === "OK" || !base64) return reply.value;
    return Buffer.from(reply.value, "utf8").toString("base64");
  }
  // An error nested in an array (a Lua table holding {err=...}): Upstash has no shape for it.
  return base64 ? Buffer.from(reply.message, "utf8").toString("base64") : reply.message;
}

function item(reply: RespReply, base64: boolean): { result: Json } | { error: string } {
  return reply instanceof RespError ? { error: reply.message } : { result: encode(reply, base64) };
}

function toArgs(command: unknown): string[] {
  if (!Array.isArray(command) || command.length === 0) throw new BadRequest("ERR a command must be a non-empty array");
  return command.map((arg) => {
    // The client sends numbers and booleans as JSON values (`60`, not `"60"`); Redis wants strings.
    if (typeof arg === "string") return arg;
    if (typeof arg === "number" || typeof arg === "boolean") return String(arg);
    throw new BadRequest(`ERR unsupported argument type ${arg === null ? "null" : typeof arg}`);
  });
}

function parseBody(path: BridgePath, text: string): string[][] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequest("ERR failed to parse the request body as JSON");
  }
  if (path === "/") return [toArgs(body)];
  if (!Array.isArray(body) || body.length === 0) throw new BadRequest("ERR a pipeline must be a non-empty array of commands");
  return body.map(toArgs);
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * @example
 * const bridge = await startUpstashBridge({ redisPort: redis.port });
 * const client = new Redis({ url: bridge.url, token: bridge.token });
 */
export async function startUpstashBridge(options: UpstashBridgeOptions): Promise<UpstashBridge> {
  const token = options.token ?? randomBytes(24).toString("base64url");
  const expected = Buffer.from(`Bearer ${token}`);
  const requests: BridgeRequest[] = [];
  let refused = 0;
  let syncToken = 0;

  // One connection, opened on first use and again after it fails. Commands of concurrent HTTP
  // requests interleave on it only between requests, never inside a MULTI ... EXEC block.
  let redis: Promise<RespClient> | undefined;
  async function forward(commands: string[][]): Promise<RespReply[]> {
    const client = await (redis ??= connectResp(options.redisPort));
    try {
      return await client.send(commands);
    } catch (error) {
      client.close();
      redis = undefined;
      throw error;
    }
  }

  function authorised(request: IncomingMessage): boolean {
    const given = Buffer.from(request.headers.authorization ?? "");
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? "/", "http://bridge").pathname;
    if (request.method !== "POST") return send(response, 405, { error: "ERR only POST is supported" });
    if (!authorised(request)) {
      refused++;
      await readBody(request);
      return send(response, 401, { error: "Unauthorized: invalid or missing auth token" });
    }
    if (path !== "/" && path !== "/pipeline" && path !== "/multi-exec") {
      return send(response, 404, { error: `ERR unknown endpoint ${path}` });
    }
    const base64 = String(request.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const headers = { "upstash-sync-token": String(++syncToken) };
    let commands: string[][];
    try {
      commands = parseBody(path, await readBody(request));
    } catch (error) {
      if (error instanceof BadRequest) return send(response, 400, { error: error.message });
      throw error;
    }
    requests.push({ path, commands });

    if (path === "/") {
      const [reply] = await forward(commands);
      if (reply instanceof RespError) return send(response, 400, { error: reply.message }, headers);
      return send(response, 200, { result: encode(reply!, base64) }, headers);
    }
    if (path === "/pipeline") {
      const replies = await forward(commands);
      return send(response, 200, replies.map((reply) => item(reply, base64)), headers);
    }
    const replies = await forward([["MULTI"], ...commands, ["EXEC"]]);
    const exec = replies.at(-1)!;
    // EXECABORT (a command refused while queueing): nothing ran, so the whole request fails.
    if (exec instanceof RespError) return send(response, 400, { error: exec.message }, headers);
    if (!Array.isArray(exec)) return send(response, 400, { error: "ERR transaction aborted" }, headers);
    return send(response, 200, exec.map((reply) => item(reply, base64)), headers);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      // Redis unreachable or the connection dropped: a server-side failure, as Upstash reports one.
      const message = error instanceof Error ? error.message : String(error);
      if (!response.headersSent) send(response, 500, { error: `ERR bridge could not reach redis: ${message}` });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    get refused() {
      return refused;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      if (redis) (await redis.catch(() => undefined))?.close();
      redis = undefined;
    },
  };
}
