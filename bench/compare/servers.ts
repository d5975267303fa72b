/**
 * The orchestrator's side of the server processes: start one per line (server.ts, with an IPC
 * channel), ask it things, stop it by its own PID.
 *
 * @module
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Command, Counted, Hello, Reply, Seeded, Usage } from "./protocol.ts";
import type { ScenarioId } from "./scenarios.ts";

const SERVER = fileURLToPath(new URL("./server.ts", import.meta.url));

export interface LineServer {
  id: ScenarioId;
  port: number;
  pid: number;
  seed(count: number): Promise<Seeded>;
  count(requests: number): Promise<Counted>;
  slice(ms: number): Promise<number[]>;
  usage(): Promise<Usage>;
  /** Starts the V8 CPU profiler in the server (BENCH_COMPARE_PROFILE). */
  profileStart(): Promise<void>;
  /** Stops it and writes the profile (a .cpuprofile, for Chrome DevTools) to `file`. */
  profileStop(file: string): Promise<void>;
  stop(): Promise<void>;
}

const started = new Set<ChildProcess>();
// A crash of the orchestrator must not leave servers behind (they also exit on disconnect).
process.once("exit", () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

export async function startServer(id: ScenarioId, redisUrl: string): Promise<LineServer> {
  const child = fork(SERVER, [id, redisUrl], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  started.add(child);
  const hello = await new Promise<Hello>((resolve, reject) => {
    child.once("message", (message) => resolve(message as Hello));
    child.once("exit", (code) => reject(new Error(`bench:compare: the ${id} server exited (${code}) before it was ready`)));
  });
  if (!hello.ready) throw new Error(`bench:compare: the ${id} server did not start:\n${hello.error}`);

  let seq = 0;
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  child.on("message", (message) => {
    const reply = message as Reply;
    const pending = waiting.get(reply.seq);
    if (!pending) return;
    waiting.delete(reply.seq);
    if (reply.ok) pending.resolve(reply.result);
    else pending.reject(new Error(`bench:compare: the ${id} server failed:\n${reply.error}`));
  });
  child.on("exit", (code, signal) => {
    for (const pending of waiting.values()) pending.reject(new Error(`bench:compare: the ${id} server exited (${code ?? signal})`));
    waiting.clear();
  });
  const ask = <T>(command: Command): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const n = ++seq;
      waiting.set(n, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ ...command, seq: n });
    });

  let stopping: Promise<void> | undefined;
  return {
    id,
    port: hello.port,
    pid: child.pid!,
    seed: (count) => ask<Seeded>({ cmd: "seed", count }),
    count: (requests) => ask<Counted>({ cmd: "count", requests }),
    slice: (ms) => ask<number[]>({ cmd: "slice", ms }),
    usage: () => ask<Usage>({ cmd: "usage" }),
    profileStart: () => ask<void>({ cmd: "profile-start" }),
    profileStop: (file) => ask<void>({ cmd: "profile-stop", file }),
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
          await ask({ cmd: "stop" }).catch(() => {});
          const killer = setTimeout(() => process.kill(child.pid!, "SIGKILL"), 3_000);
          await exited;
          clearTimeout(killer);
        }
        started.delete(child);
      })()),
  };
}
