/**
 * A child process that appends to one replay channel, for the tests of gap-free numbering
 * across processes: `node test/support/replay-appender.ts <redis|postgres> <url> <prefix or table> <channel> <count>`.
 * It waits for "go" on stdin so every process starts appending at once, and prints the
 * sequence numbers it got as one JSON line.
 *
 * Test harness only; not part of the package.
 */
import { once } from "node:events";
import { Redis } from "ioredis";
import pg from "pg";
import { redisReplay } from "../../adapters/ioredis/index.ts";
import { fromPg, postgresReplay } from "../../adapters/postgres/index.ts";
import { createReplayLog, type ReplayBackend } from "../../src/replay/index.ts";

const [kind, url, namespace, channel, countText] = process.argv.slice(2);
const count = Number(countText);
let backend: ReplayBackend;
let close: () => Promise<unknown>;
if (kind === "redis") {
  const client = new Redis(url!);
  backend = redisReplay({ client, keyPrefix: namespace! });
  close = async () => client.disconnect();
} else {
  const pool = new pg.Pool({ connectionString: url!, max: 4 });
  backend = postgresReplay({ query: fromPg(pool), table: namespace! });
  close = () => pool.end();
}
const log = createReplayLog({ backend });
process.stdout.write("ready\n");
await once(process.stdin, "data");
const seqs = await Promise.all(Array.from({ length: count }, (_, i) => log.append(channel!, { pid: process.pid, i }).then((r) => r.seq)));
process.stdout.write(`${JSON.stringify(seqs)}\n`);
await close();
