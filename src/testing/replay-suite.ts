/** What a replay conformance target is, and what each section of the suite receives. */
import { generateKey } from "../keyring.ts";
import { createReplayLog, type ReplayLog } from "../replay/log.ts";
import type { ReplayBackend } from "../replay/backend.ts";
import type { ReplayLogOptions } from "../replay/options.ts";

/** Direct access to what the backend stored, bypassing it: lets the suite check pruning. */
export interface ReplayDirect<B extends ReplayBackend = ReplayBackend> {
  /** The sequence numbers of the channel's events as stored, pruned or not yet. */
  storedSeqs(backend: B, channel: string): Promise<number[]>;
}

export interface ReplayConformanceTarget<B extends ReplayBackend = ReplayBackend> {
  /** A backend; channels in the suite are unique per test, so one backend may serve every test. */
  create(): B | Promise<B>;
  /**
   * `count` more backends over connections of their own to the same data as `backend`, for the
   * test of concurrent appends from several clients. Without it, concurrency is tested on one.
   */
  clients?(backend: B, count: number): Promise<ReplayBackend[]>;
  /** Reads the backend directly. Without it, pruning is checked through `since` only. */
  direct?: ReplayDirect<B>;
  /** Releases what `create` and `clients` made for a test. */
  dispose?(backend: B): Promise<void>;
}

export interface ReplaySuite<B extends ReplayBackend> {
  name: string;
  target: ReplayConformanceTarget<B>;
  /** Runs `test` with a fresh backend from the target, disposed of afterwards. */
  withBackend(test: (backend: B) => Promise<void>): Promise<void>;
}

/** A clock tests move by hand. */
export function testClock(start = Date.now()) {
  let now = start;
  const clock = () => now;
  clock.advance = (ms: number) => void (now += ms);
  clock.set = (ms: number) => void (now = ms);
  return clock;
}

/** A channel name no other test (or run) uses. */
export function testChannel(label: string): string {
  return `t:${label}:${crypto.randomUUID()}`;
}

/** A log over `backend` with a hand-moved clock; every prune is explicit unless `pruneEvery` is given. */
export function testLog<Event = unknown>(backend: ReplayBackend, options: Partial<ReplayLogOptions> = {}) {
  const clock = testClock();
  const log: ReplayLog<Event> = createReplayLog<Event>({ backend, clock, pruneEvery: 1_000_000, ...options });
  return { log, clock };
}

/** A key list for tests of resume tokens. */
export const testKeys = () => generateKey("replay-test");
