/**
 * The drill's cache outage, short (npm run drill holds it 30 s and prints figures): Redis in
 * front of Postgres, both from storeFromEnv, two app instances under load, and the Redis
 * stopped for a few seconds, then brought back two ways:
 * - SIGSTOP, then SIGCONT: a freeze; commands sent meanwhile run when it wakes;
 * - SAVE, SIGKILL, then a new redis-server from that save: it comes back with what it held
 *   before the outage, sessions since changed, signed out and revoked included.
 * Sessions change, and some are signed out or revoked everywhere, while it is out. Nobody is
 * signed out, nothing answers 5xx, no read is stale (during or after), nothing is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheOutage } from "../support/drill.ts";
import { startPostgres, type PostgresServer } from "../support/postgres-server.ts";

let postgres: PostgresServer;

beforeAll(async () => {
  postgres = await startPostgres();
});

afterAll(async () => {
  await postgres?.stop();
});

describe("a Redis cache out for a few seconds in front of Postgres", () => {
  for (const kind of ["stop", "restart"] as const) {
    it(`${kind === "stop" ? "frozen and continued" : "killed and restarted with its old data"}: no logout, no 5xx, no stale read`, async () => {
      const figures = await cacheOutage({ kind, postgres, outageMs: 2500, visitors: 40, workers: 4, afterMs: 1500 });
      console.log(`cache outage (${kind}): ${JSON.stringify({ ...figures, logged: figures.logged.length })}`);
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
      // The sign-outs made while Redis was out were acknowledged, and none came back.
      expect(figures.signOutsAcknowledged).toBe(6);
      expect(Number.isFinite(figures.cacheBackS), "the cache back in use on every instance").toBe(true);
    }, 60_000);
  }
});
