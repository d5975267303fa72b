/**
 * Appends of one channel are numbered under the channel row's lock, so concurrent appends to a
 * busy channel wait for each other, one statement each. This sends them together instead:
 * while one append statement of a channel is in flight, the appends that arrive for it queue
 * and go as ONE statement when it returns (numbers head+1..head+n in arrival order, one row
 * lock, one round trip). An idle channel pays nothing: its append goes at once, alone.
 * A statement is atomic, so a batch that fails stores none of its events and each caller gets
 * the error.
 *
 * @module
 */
import type { Row } from "./drivers.ts";

interface Pending {
  payload: string;
  now: number;
  retentionMs: number;
  resolve(stored: { seq: number; at: number }): void;
  reject(error: unknown): void;
}

/** Runs the batch append statement: $1 channel, $2 JSON array of the events, $3 now, $4 retention ms, $5 count. */
export type SendBatch = (params: readonly unknown[]) => Promise<readonly Row[]>;

/** At most this many events in one statement. */
const MAX_BATCH = 256;

export function coalescedAppends(send: SendBatch, int: (value: unknown) => number) {
  const queues = new Map<string, Pending[]>();

  async function flush(channel: string, queue: Pending[]): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      const now = Math.max(...batch.map((item) => item.now));
      const retentionMs = Math.max(...batch.map((item) => item.retentionMs));
      try {
        const rows = await send([channel, JSON.stringify(batch.map((item) => item.payload)), now, retentionMs, batch.length]);
        // The numbers are consecutive and follow the batch's order (WITH ORDINALITY).
        const stored = rows.map((row) => ({ seq: int(row.seq), at: int(row.at) })).sort((a, b) => a.seq - b.seq);
        if (stored.length !== batch.length) throw new Error(`the append statement stored ${stored.length} of ${batch.length} events`);
        batch.forEach((item, i) => item.resolve(stored[i]!));
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    queues.delete(channel);
  }

  return function append(channel: string, payload: string, now: number, retentionMs: number): Promise<{ seq: number; at: number }> {
    return new Promise((resolve, reject) => {
      const waiting = queues.get(channel);
      const item: Pending = { payload, now, retentionMs, resolve, reject };
      if (waiting) {
        waiting.push(item);
        return;
      }
      const queue: Pending[] = [item];
      queues.set(channel, queue);
      void flush(channel, queue);
    });
  };
}
