/**
 * A process that starts throwaway servers through the harness and then waits to be killed:
 * test/node/harness.test.ts sends it a signal and checks that the servers went with it.
 * Prints one JSON line per server: { kind, pid, dir }.
 *
 * Usage: node test/support/harness-child.ts redis|postgres ...
 *
 * Test harness only; not part of the package.
 */
import { startPostgres } from "./postgres-server.ts";
import { startRedisProcess } from "./redis-server.ts";

for (const kind of process.argv.slice(2)) {
  if (kind === "redis") {
    const server = await startRedisProcess();
    console.log(JSON.stringify({ kind, pid: server.pid, dir: server.dir }));
  } else if (kind === "postgres") {
    const server = await startPostgres();
    console.log(JSON.stringify({ kind, pid: server.pid, dir: server.dir }));
  } else {
    throw new Error(`harness-child: unknown server kind ${kind}`);
  }
}
console.log("ready");
setInterval(() => {}, 60_000);
