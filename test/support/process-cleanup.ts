/**
 * Stops what the harness started when the process running it ends without the test's afterAll:
 * on `exit` (a crash, process.exit) and on SIGTERM, SIGINT and SIGHUP (vitest's pool
 * terminating a worker, a CI job cancelled, Ctrl-C). Each clean-up is synchronous: it stops its
 * server by PID (or pg_ctl on its own data directory) and removes its directory. After a
 * signal, the handler re-raises it, so the process still ends by that signal as it would have
 * without the handler (unless another listener for it, the process's own, decides otherwise).
 *
 * What remains: SIGKILL (an OOM kill, `kill -9`, a runner's hard timeout) ends the process
 * with no code run at all, so its servers live on. Each server runs on a loopback port of its
 * own, in a temporary directory named cloakroom-redis-* or cloakroom-pg-*; they can be found
 * there (`pgrep -f cloakroom-` lists them) and stopped by PID.
 *
 * Test harness only; not part of the package.
 */

const cleanups = new Set<() => void>();
const SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;
let installed = false;

function runAll(): void {
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // The next one still runs: a failed clean-up must not leave the other servers behind.
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  for (const name of SIGNALS) process.removeListener(name, onSignal);
  // Node ends a process on these signals only when nobody listens: with ours gone, the signal
  // again does what it would have done. A listener the process installed itself has already run.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once("exit", runAll);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

/**
 * Registers a synchronous clean-up to run if the process ends before it is removed; returns
 * the function that removes it (call it once the server was stopped the ordinary way).
 */
export function stopOnProcessEnd(cleanup: () => void): () => void {
  install();
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}
