/**
 * A minimal RESP2 client for the test harness: one TCP connection, commands pipelined, replies
 * matched in order. The Upstash bridge uses it instead of ioredis because it must see replies
 * exactly as Redis sent them: a status reply apart from a bulk string, the bytes of a bulk
 * string (not a decoded string), an error as a value inside an EXEC reply, and no reply
 * transformers (ioredis turns HGETALL into an object, for one).
 *
 * Test harness only; not part of the package.
 */
import { connect, type Socket } from "node:net";

/** A `+...` reply. */
export class RespStatus {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
}

/** A `-...` reply. It is a value here: inside an EXEC reply it is one element among others. */
export class RespError {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

/** Bulk strings are the bytes Redis sent; nil (bulk or array) is null. */
export type RespReply = RespStatus | RespError | number | Buffer | null | RespReply[];

const CRLF = Buffer.from("\r\n");

export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === "string" ? Buffer.from(arg, "utf8") : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

/** Parses one reply at `offset`; undefined when the buffer does not hold all of it yet. */
export function parseReply(buffer: Buffer, offset: number): { value: RespReply; end: number } | undefined {
  const lineEnd = buffer.indexOf(CRLF, offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[offset]!);
  const line = buffer.toString("utf8", offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return { value: new RespStatus(line), end: next };
    case "-":
      return { value: new RespError(line), end: next };
    case ":":
      return { value: Number(line), end: next };
    case "$": {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { value: Buffer.from(buffer.subarray(next, next + length)), end: next + length + 2 };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespReply[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, at);
        if (!item) return undefined;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new Error(`resp-client: unexpected reply type ${JSON.stringify(type)}`);
  }
}

export interface RespClient {
  /**
   * Sends the commands in one write and resolves with their replies in order. One write keeps
   * a MULTI ... EXEC block contiguous on the connection, which is what makes it atomic here.
   */
  send(commands: readonly (readonly (string | Buffer)[])[]): Promise<RespReply[]>;
  close(): void;
}

export function connectResp(port: number, host = "127.0.0.1"): Promise<RespClient> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ port, host });
    const waiting: Array<{ resolve(reply: RespReply): void; reject(error: Error): void }> = [];
    let pending: Buffer = Buffer.alloc(0);
    let failure: Error | undefined;

    const fail = (error: Error) => {
      failure ??= error;
      for (const w of waiting.splice(0)) w.reject(failure);
    };

    socket.setNoDelay(true);
    socket.once("connect", () => resolve(client));
    socket.once("error", (error) => {
      reject(error);
      fail(error);
    });
    socket.once("close", () => fail(new Error("resp-client: connection closed")));
    socket.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let offset = 0;
      for (let parsed = parseReply(pending, offset); parsed; parsed = parseReply(pending, offset)) {
        offset = parsed.end;
        waiting.shift()?.resolve(parsed.value);
      }
      pending = pending.subarray(offset);
    });

    const client: RespClient = {
      send(commands) {
        if (failure) return Promise.reject(failure);
        const replies = commands.map(
          () => new Promise<RespReply>((res, rej) => waiting.push({ resolve: res, reject: rej })),
        );
        socket.write(Buffer.concat(commands.map(encodeCommand)));
        return Promise.all(replies);
      },
      close() {
        socket.destroy();
      },
    };
  });
}
