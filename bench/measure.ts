/**
 * Timing for a small, noisy machine (two shared cores). Why not tinybench's runner: it times
 * each task to completion before starting the next, so a burst of noise from a neighbour lands
 * on one line and skews its ratio to every other line. Here each line runs in short slices,
 * round after round, in an order that rotates and reverses every round; noise spreads over all
 * lines, and ratios within one run stay comparable. Samples of all slices are pooled and
 * summarised by the median (robust to noise) and the p99 (what a slow request sees).
 *
 * @module
 */

/** One benchmark line: something to time, one operation per call. */
export interface Timed {
  /** Short key, used by ratios and verdicts. */
  id: string;
  label: string;
  /** One operation: a request, a decrypt, a lookup. Awaited when it returns a promise. */
  run: () => unknown;
  /**
   * Operations per sample, for synchronous work far below a microsecond (a Map.get): timing
   * those one by one would measure the clock. Batched lines get a median but no p99, since a
   * sample is then a batch mean, not one operation.
   * @default 1
   */
  batch?: number;
}

export interface Stats {
  /** Microseconds per operation. */
  medianUs: number;
  /** Microseconds; undefined for batched lines. */
  p99Us: number | undefined;
  samples: number;
  ops: number;
}

export interface Plan {
  /** Untimed run of every line before the first round, so the JIT has settled. */
  warmupMs: number;
  rounds: number;
  /** Time one line runs per round. */
  sliceMs: number;
}

/** Results land here, so the engine cannot drop an operation whose result nobody reads. */
export let sink: unknown;

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * What one `performance.now()` costs, in ms. Every per-operation sample includes about one
 * such call; subtracting it keeps microsecond lines honest next to batched ones.
 */
export function timerOverheadMs(): number {
  const diffs = new Float64Array(20_000);
  for (let i = 0; i < diffs.length; i++) {
    const start = performance.now();
    diffs[i] = performance.now() - start;
  }
  return quantile(diffs.sort(), 0.5);
}

async function runSlice(op: Timed, into: number[] | undefined, ms: number, overheadMs: number): Promise<number> {
  const batch = op.batch ?? 1;
  const end = performance.now() + ms;
  let ops = 0;
  for (;;) {
    const start = performance.now();
    if (batch === 1) sink = await op.run();
    else for (let i = 0; i < batch; i++) sink = op.run();
    const stop = performance.now();
    into?.push((Math.max(0, stop - start - overheadMs) / batch) * 1000);
    ops += batch;
    if (stop >= end) return ops;
  }
}

/** Lets timers, I/O callbacks and finalizers run between slices rather than inside one. */
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function warmUp(ops: readonly Timed[], ms: number): Promise<void> {
  for (const op of ops) {
    await runSlice(op, undefined, ms, 0);
    await breathe();
  }
}

/** Runs every line `plan.rounds` times for `plan.sliceMs`, interleaved, and summarises each. */
export async function measure(
  ops: readonly Timed[],
  plan: Plan,
  overheadMs: number,
  onRound: (round: number) => void = () => {},
): Promise<Map<string, Stats>> {
  const samples = new Map(ops.map((op) => [op.id, [] as number[]]));
  const done = new Map(ops.map((op) => [op.id, 0]));
  for (let round = 0; round < plan.rounds; round++) {
    // Rotate, and reverse every other round: each line gets every position and neighbour.
    const shift = round % ops.length;
    const order = [...ops.slice(shift), ...ops.slice(0, shift)];
    if (round % 2 === 1) order.reverse();
    for (const op of order) {
      done.set(op.id, done.get(op.id)! + (await runSlice(op, samples.get(op.id), plan.sliceMs, overheadMs)));
      await breathe();
    }
    onRound(round + 1);
  }
  const stats = new Map<string, Stats>();
  for (const op of ops) {
    const sorted = Float64Array.from(samples.get(op.id)!).sort();
    stats.set(op.id, {
      medianUs: quantile(sorted, 0.5),
      p99Us: (op.batch ?? 1) === 1 ? quantile(sorted, 0.99) : undefined,
      samples: sorted.length,
      ops: done.get(op.id)!,
    });
  }
  return stats;
}
