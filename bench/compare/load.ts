/**
 * HTTP load with autocannon: 10 connections, keep-alive, no pipelining, for a fixed time. Runs in
 * the orchestrator process, never in the server's. Every request carries the cookie of one of
 * the signed-in visitors; each connection walks the visitors from its own starting point, so
 * the connections do not ask for the same session in lockstep.
 *
 * autocannon's own latency histogram keeps whole milliseconds, too coarse for requests that take
 * well under one; every response's time is kept here instead (autocannon measures it with
 * `process.hrtime`, so it is precise to the microsecond).
 *
 * @module
 */
import autocannon from "autocannon";

export interface LoadResult {
  /** Responses with a 2xx status, per second of the run. */
  rps: number;
  ok: number;
  /** Non-2xx responses, errors and timeouts: any of them spoils the line. */
  failed: number;
  seconds: number;
  /** Response times in ms, every 2xx response. */
  latencies: Float64Array;
}

export async function load(
  port: number,
  cookies: readonly string[],
  options: { seconds: number; connections: number },
): Promise<LoadResult> {
  const requests = cookies.map((cookie) => ({ method: "GET", path: "/me", headers: (cookie ? { cookie } : {}) as Record<string, string> }));
  let client = 0;
  const per = Math.max(1, Math.floor(requests.length / options.connections));
  let latencies = new Float64Array(1 << 16);
  let kept = 0;
  const instance = autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: options.connections,
    duration: options.seconds,
    pipelining: 1,
    requests,
    setupClient(c) {
      const shift = (client++ * per) % requests.length;
      c.setRequests([...requests.slice(shift), ...requests.slice(0, shift)]);
    },
    skipAggregateResult: true,
  });
  instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status < 200 || status > 299) return;
    if (kept === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[kept++] = ms;
  });
  const result = await instance;
  const ok = result["2xx"];
  return {
    rps: ok / result.duration,
    ok,
    failed: result.non2xx + result.errors + result.timeouts,
    seconds: result.duration,
    latencies: latencies.subarray(0, kept),
  };
}

/** The q-quantile of values (sorted in place); NaN for none. */
export function quantile(values: Float64Array, q: number): number {
  if (values.length === 0) return NaN;
  values.sort();
  return values[Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1))]!;
}
