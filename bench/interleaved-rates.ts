/**
 * Requests per second of several lines, measured in interleaved rounds so that a slow spell of
 * a noisy machine falls on every line alike: each round runs every line for one slice, in an
 * order rotated by one each round and reversed every other round. Shared by bench:postgres and
 * bench:replay.
 *
 * @module
 */

export interface RateLine {
  id: string;
  run: () => Promise<unknown>;
}

export interface RatePlan {
  /** Calls kept in flight at once. */
  inFlight: number;
  /** Each line runs this long once, untimed, before the rounds. */
  warmupMs: number;
  sliceMs: number;
  rounds: number;
  /** Called after each round, for a progress line. */
  onRound?: (round: number) => void;
}

/** Runs `run` with `inFlight` calls in flight for `ms`; returns calls per second. */
export async function callsPerSecond(run: () => Promise<unknown>, inFlight: number, ms: number): Promise<number> {
  const end = performance.now() + ms;
  let done = 0;
  const worker = async () => {
    while (performance.now() < end) {
      await run();
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return done / ((performance.now() - t0) / 1000);
}

/** Each line's rate in every round, by line id. */
export async function interleavedRates(lines: readonly RateLine[], plan: RatePlan): Promise<Map<string, number[]>> {
  for (const line of lines) await callsPerSecond(line.run, plan.inFlight, plan.warmupMs);
  const perRound = new Map(lines.map((line) => [line.id, [] as number[]]));
  for (let round = 0; round < plan.rounds; round++) {
    const shift = round % lines.length;
    const order = [...lines.slice(shift), ...lines.slice(0, shift)];
    if (round % 2 === 1) order.reverse();
    for (const line of order) perRound.get(line.id)!.push(await callsPerSecond(line.run, plan.inFlight, plan.sliceMs));
    plan.onRound?.(round + 1);
  }
  return perRound;
}
