/**
 * The drill's failover scenario, short (npm run drill runs it long and prints figures): Redis
 * behind Sentinel (down-after-milliseconds 1000) in front of Postgres, both from storeFromEnv,
 * two app instances under load, and the primary SIGKILLed (a crash) or SIGSTOPped (a freeze).
 * With the durable store behind it nothing may fail: no failed read or write, no logout, no
 * stale read, no session lost, and writes go on within the 5 s goal (asserted with room to
 * spare, the only timing here). Redis alone under the same faults: test/redis/failover.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failover } from "../support/drill.ts";
import { startPostgres, type PostgresServer } from "../support/postgres-server.ts";

let postgres: PostgresServer;

beforeAll(async () => {
  postgres = await startPostgres();
});

afterAll(async () => {
  await postgres?.stop();
});

describe("Sentinel failover under a tiered store (Redis cache + Postgres)", () => {
  for (const fault of ["SIGKILL", "SIGSTOP"] as const) {
    it(`serves every request through a ${fault} of the primary, and loses nothing`, async () => {
      const figures = await failover({ fault, mode: "tiered", postgres, visitors: 40, workers: 4, warmMs: 800, afterMs: 1500 });
      console.log(`tiered failover (${fault}): ${JSON.stringify({ ...figures, logged: figures.logged.length })}`);
      expect(figures.reads, "reads during the window").toBeGreaterThan(100);
      expect(figures.writes, "writes during the window").toBeGreaterThan(100);
      expect({
        readsFailedPct: figures.readsFailedPct,
        writesFailedPct: figures.writesFailedPct,
        serverErrors: figures.serverErrors,
        logouts: figures.logouts,
        staleReads: figures.staleReads,
        sessionsLost: figures.sessionsLost,
      }).toEqual({ readsFailedPct: 0, writesFailedPct: 0, serverErrors: 0, logouts: 0, staleReads: 0, sessionsLost: 0 });
      expect(figures.signOutsAcknowledged, "sign-outs during the failover that were acknowledged").toBe(6);
      expect(figures.firstWriteS).toBeLessThan(5);
      // The cache is used again once the new primary is known (the breaker's probe), so the
      // database does not carry the load for good.
      expect(Number.isFinite(figures.cacheBackS), "the cache back in use on every instance").toBe(true);
    }, 60_000);
  }
});
