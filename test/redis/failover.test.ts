/**
 * Sentinel failover under load (issue 3): with down-after-milliseconds 1000, the primary is
 * SIGKILLed (a crash: its sockets reset) or SIGSTOPped (a freeze: its sockets stay open, the
 * case ioredis's defaults never recover from) while visitors keep reading and writing their
 * sessions through createSessions. Then:
 * - every session whose write was acknowledged before the fault is readable, with at least the
 *   acknowledged count, once the sentinels have named the new primary;
 * - reads recover within 5 s of the fault, and none issued after recovery fails;
 * - no read ever answers "no session" for a live session (a fault is never a logout).
 * The measured figures are printed; the only timing asserted is the 5 s recovery bound.
 *
 * The client uses the options the README recommends (failoverSafeOptions, adapters/ioredis).
 */
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { failoverSafeOptions, ioredisStore } from "../../adapters/ioredis/index.ts";
import { createSessions, generateKey } from "../../src/index.ts";
import { startSentinelGroup, type SentinelGroup } from "../support/redis-sentinel.ts";
import { sleep, uniqueKeyPrefix } from "../support/redis-server.ts";
import { cookieFrom } from "../shared/helpers.ts";

type Data = { count: number };

const VISITORS = 40;
const WORKERS = 6;
const RECOVERY_BOUND_MS = 5_000;

let group: SentinelGroup | undefined;
let client: Redis | undefined;

afterEach(async () => {
  client?.disconnect();
  await group?.stop();
  client = group = undefined;
});

interface Outcome {
  startedAt: number;
  endedAt: number;
  ok: boolean;
  /** A read that found no session for a visitor whose session is live: must never happen. */
  loggedOut?: boolean;
}

async function failoverUnderLoad(fault: "SIGKILL" | "SIGSTOP") {
  group = await startSentinelGroup({ downAfterMs: 1000, failoverTimeoutMs: 5000 });
  client = new Redis({ ...failoverSafeOptions(), sentinels: group.sentinelAddresses, name: group.name });
  client.on("error", () => {}); // reconnects are expected here; outcomes are counted per request
  const store = ioredisStore({ client, keyPrefix: uniqueKeyPrefix("failover") });
  const keys = generateKey("k1");
  const sessions = createSessions<Data>({ store, keys });

  // Visitors sign in; each remembers the highest count a commit acknowledged.
  const visitors: { cookie: string; acked: number }[] = [];
  for (let i = 0; i < VISITORS; i++) {
    const session = await sessions.read(null);
    session.set("count", 0);
    visitors.push({ cookie: cookieFrom(await sessions.commit(session)), acked: 0 });
  }

  const reads: Outcome[] = [];
  let writesFailed = 0;
  let slowestCommitMs = 0;
  let running = true;
  let next = 0;
  const worker = async () => {
    while (running) {
      const visitor = visitors[next++ % VISITORS]!;
      const startedAt = performance.now();
      let session;
      try {
        session = await sessions.read(visitor.cookie);
      } catch {
        reads.push({ startedAt, endedAt: performance.now(), ok: false });
        continue;
      }
      const loggedOut = session.isNew;
      reads.push({ startedAt, endedAt: performance.now(), ok: !loggedOut, loggedOut });
      if (loggedOut) continue;
      const count = (session.get("count") ?? 0) + 1;
      session.set("count", count);
      const committing = performance.now();
      try {
        await sessions.commit(session);
        if (count > visitor.acked) visitor.acked = count;
      } catch {
        writesFailed++;
      }
      slowestCommitMs = Math.max(slowestCommitMs, performance.now() - committing);
    }
  };
  const workers = Array.from({ length: WORKERS }, worker);

  await sleep(1500);
  const primary = await group.primaryAddress();
  const ackedBeforeFault = visitors.map((v) => v.acked);
  const faultAt = performance.now();
  group.serverAt(primary).signal(fault);
  const promoted = await group.waitForNewPrimary(primary, 30_000);
  const knownAt = performance.now();
  // Keep the load on a little longer, so reads after recovery are observed too.
  await sleep(2000);
  running = false;
  // Workers whose request never returns (ioredis's defaults on a frozen primary) are counted, not awaited.
  let pending = workers.length;
  for (const w of workers) void w.finally(() => pending--);
  await Promise.race([Promise.all(workers), sleep(10_000)]);

  // Every session acknowledged before the fault, read once the new primary is known, by a
  // new client and manager (same keys): what another app instance would see.
  const verifier = new Redis({ ...failoverSafeOptions(), sentinels: group.sentinelAddresses, name: group.name });
  const check = createSessions<Data>({ store: ioredisStore({ client: verifier, keyPrefix: store.keys.prefix }), keys });
  const lost: number[] = [];
  try {
    for (let i = 0; i < VISITORS; i++) {
      const session = await check.read(visitors[i]!.cookie);
      if (session.isNew || (session.get("count") ?? -1) < ackedBeforeFault[i]!) lost.push(i);
    }
  } finally {
    verifier.disconnect();
  }

  const afterFault = reads.filter((r) => r.startedAt >= faultAt);
  const firstOk = afterFault.filter((r) => r.ok).sort((a, b) => a.endedAt - b.endedAt)[0];
  const recoveredAt = firstOk?.endedAt ?? Number.POSITIVE_INFINITY;
  const figures = {
    fault,
    promotedPort: promoted.port,
    newPrimaryKnownMs: Math.round(knownAt - faultAt),
    readsRecoveredMs: Math.round(recoveredAt - faultAt),
    readsFailed: reads.filter((r) => !r.ok).length,
    writesFailed,
    readsTotal: reads.length,
    slowestReadMs: Math.round(Math.max(...reads.map((r) => r.endedAt - r.startedAt))),
    slowestCommitMs: Math.round(slowestCommitMs),
    requestsStillHanging: pending,
  };
  console.log(`failover figures: ${JSON.stringify(figures)}`);
  return { figures, lost, reads, recoveredAt, hanging: pending };
}

describe("Sentinel failover with the recommended client options", () => {
  for (const fault of ["SIGKILL", "SIGSTOP"] as const) {
    it(`keeps acknowledged sessions and recovers reads within 5 s when the primary gets ${fault}`, async () => {
      const { figures, lost, reads, recoveredAt, hanging } = await failoverUnderLoad(fault);
      expect(hanging, "requests that never returned").toBe(0);
      expect(lost, "sessions acknowledged before the fault but missing after it").toEqual([]);
      expect(reads.filter((r) => r.loggedOut)).toEqual([]);
      expect(figures.readsRecoveredMs).toBeLessThan(RECOVERY_BOUND_MS);
      expect(reads.filter((r) => r.startedAt > recoveredAt && !r.ok)).toEqual([]);
    }, 90_000);
  }
});
