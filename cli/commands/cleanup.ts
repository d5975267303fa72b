/**
 * `cloakroom cleanup`: deletes expired sessions and counters from the Postgres tables, in
 * batches (`deleteExpired`), with progress. Expired rows are never served; this reclaims space.
 */
import { openPostgres, planPostgres } from "../../env/postgres.ts";
import type { PostgresStore } from "../../adapters/postgres/index.ts";
import { urlSecrets } from "../secrets.ts";
import { EXIT, integerOption, option, usageError, type Command } from "../shell.ts";

/** Batches per deleteExpired call: one progress line each. */
const BATCHES_PER_LINE = 10;

export const cleanup: Command = {
  name: "cleanup",
  summary: "delete expired sessions from Postgres in batches (deleteExpired), with progress",
  help: `Usage: cloakroom cleanup [--database-url <url>] [--batch-size <rows>] [--max-batches <n>]

Deletes expired sessions and counters from the session tables in batches, through the expiry
index, skipping rows another cleanup holds (several may run at once). Reads never return
expired rows: this only reclaims space. Run it from cron.

  --database-url <url>  postgres://user:pass@host:5432/db or pglite:./dir; default DATABASE_URL
  --batch-size <rows>   rows per statement, each a short transaction (default 1000)
  --max-batches <n>     stop after n batches per table, to fit a time budget (default: until done)`,
  options: { "database-url": { type: "string" }, "batch-size": { type: "string" }, "max-batches": { type: "string" } },
  async run(args, io) {
    const given = option(args, "database-url");
    const url = given ?? io.env.DATABASE_URL?.trim();
    if (!url) throw usageError("no database: pass --database-url postgres://... or set DATABASE_URL.");
    io.secret(...urlSecrets(url));
    const batchSize = integerOption(args, "batch-size", 1000, 1, 100_000);
    const maxBatches = integerOption(args, "max-batches", Number.MAX_SAFE_INTEGER, 1, Number.MAX_SAFE_INTEGER);
    let plan;
    try {
      plan = planPostgres(url);
    } catch (error) {
      throw given ? usageError((error as Error).message.replace(/^cloakroom: DATABASE_URL/, "--database-url")) : error;
    }
    const opened = await openPostgres(plan, { migrate: false, log: () => {} });
    const store = opened.store as PostgresStore;
    try {
      const started = performance.now();
      const total = { sessions: 0, counters: 0, batches: 0 };
      for (let left = maxBatches; left > 0; ) {
        const chunk = Math.min(BATCHES_PER_LINE, left);
        const run = await store.deleteExpired({ batchSize, maxBatches: chunk });
        total.sessions += run.sessions;
        total.counters += run.counters;
        total.batches += run.batches;
        left -= chunk;
        const seconds = (performance.now() - started) / 1000;
        io.err(`deleted ${total.sessions} expired sessions and ${total.counters} counters in ${total.batches} batches (${Math.round((total.sessions + total.counters) / Math.max(seconds, 0.001))}/s)`);
        // A table with a short last batch is done; a full chunk may have more behind it.
        if (run.sessions < batchSize * chunk && run.counters < batchSize * chunk) break;
      }
      io.out(`done: ${total.sessions} expired sessions and ${total.counters} expired counters deleted from ${store.table} (${plan.description.replace(/ \(DATABASE_URL\)$/, "")}).`);
      return EXIT.ok;
    } finally {
      await opened.close();
    }
  },
};
