/**
 * One request through a Node request listener (Express) with no network: a real
 * `IncomingMessage` and `ServerResponse` on a socket stand-in that keeps what is written. What
 * `app.fetch(request)` is for a Hono app, this is for an Express app; light-my-request does the
 * same for Fastify. The cost of building the two objects is part of every sample, as building a
 * `Request` is for the Hono lines.
 *
 * @module
 */
import { IncomingMessage, ServerResponse, type RequestListener } from "node:http";
import type { Socket } from "node:net";
import { Writable } from "node:stream";

export interface Injected {
  status: number;
  setCookie: string[];
  /** Everything written to the socket after the head: the body (not chunked: Express sets Content-Length). */
  body: string;
}

function socketStandIn(): { socket: Socket; written: () => string } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      done();
    },
  });
  Object.assign(sink, {
    remoteAddress: "127.0.0.1",
    encrypted: false,
    setTimeout: () => sink,
    setNoDelay: () => sink,
    setKeepAlive: () => sink,
  });
  return { socket: sink as unknown as Socket, written: () => Buffer.concat(chunks).toString("latin1") };
}

export function inject(
  listener: RequestListener,
  input: { method: string; path: string; cookie?: string | undefined },
): Promise<Injected> {
  return new Promise((resolve, reject) => {
    const { socket, written } = socketStandIn();
    const req = new IncomingMessage(socket);
    req.method = input.method;
    req.url = input.path;
    req.headers = input.cookie ? { host: "localhost", cookie: input.cookie } : { host: "localhost" };
    req.httpVersion = "1.1";
    req.httpVersionMajor = 1;
    req.httpVersionMinor = 1;
    req.push(null);
    const res = new ServerResponse(req);
    res.assignSocket(socket);
    res.once("error", reject);
    res.once("finish", () => {
      const raw = written();
      const head = raw.indexOf("\r\n\r\n");
      const setCookie = res.getHeader("set-cookie");
      resolve({
        status: res.statusCode,
        setCookie: setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [String(setCookie)],
        body: head < 0 ? "" : Buffer.from(raw.slice(head + 4), "latin1").toString("utf8"),
      });
    });
    try {
      listener(req, res);
    } catch (error) {
      reject(error);
    }
  });
}
