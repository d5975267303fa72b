/**
 * The counting pass: runs each line a fixed number of times with `crypto.subtle` and the
 * line's store wrapped, and reports calls per operation. Counts are behaviour, not timing, so
 * they are exact and the same on every run; they are what the design's goals are stated in
 * ("0 Web Crypto calls and 1 store call for a repeat visitor").
 *
 * @module
 */
import { STORE_METHODS, countCalls, countWebCrypto } from "./call-counter.ts";
import type { Scenario } from "./scenario.ts";

export interface OpCounts {
  ops: number;
  /** Web Crypto calls per operation, by method (methods never called are left out). */
  crypto: Record<string, number>;
  cryptoTotal: number;
  /** Store calls per operation, by method; undefined for lines without a store. */
  store: Record<string, number> | undefined;
  storeTotal: number | undefined;
  /** Share of operations that returned a Set-Cookie; undefined for non-request lines. */
  setCookie: number | undefined;
  /** Distinct problems seen in results, with how many operations showed each. */
  problems: Map<string, number>;
}

function perOp(counts: Readonly<Record<string, number>>, ops: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts).filter(([, count]) => count > 0).map(([name, count]) => [name, count / ops]),
  );
}

export async function countPerOp(scenario: Scenario, ops: number): Promise<OpCounts> {
  const problems = new Map<string, number>();
  let setCookies = 0;
  let inspected = false;
  const store = scenario.store ? countCalls(scenario.store, STORE_METHODS) : undefined;
  const crypto = countWebCrypto();
  try {
    for (let i = 0; i < ops; i++) {
      let result: unknown;
      try {
        result = await scenario.run();
      } catch (error) {
        problems.set(`threw: ${String(error)}`, (problems.get(`threw: ${String(error)}`) ?? 0) + 1);
        continue;
      }
      const seen = scenario.inspect?.(result);
      if (!seen) continue;
      inspected = true;
      if (seen.setCookie) setCookies++;
      if (seen.problem) problems.set(seen.problem, (problems.get(seen.problem) ?? 0) + 1);
    }
  } finally {
    crypto.stop();
    store?.stop();
  }
  return {
    ops,
    crypto: perOp(crypto.counts, ops),
    cryptoTotal: crypto.total() / ops,
    store: store && perOp(store.counts, ops),
    storeTotal: store && store.total() / ops,
    setCookie: scenario.group === "request" && inspected ? setCookies / ops : undefined,
    problems,
  };
}
