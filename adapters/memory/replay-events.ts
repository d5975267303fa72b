/**
 * The events of one channel in memory, oldest first and contiguous: pruning moves a start index
 * instead of shifting the array, and the array is compacted once the dead front is as long as
 * what is kept, so neither an append nor a prune costs more than the events it touches.
 *
 * @module
 */
import type { StoredEvent } from "../../src/replay/backend.ts";

export class EventList {
  items: StoredEvent[] = [];
  start = 0;

  get size(): number {
    return this.items.length - this.start;
  }

  first(): StoredEvent | undefined {
    return this.items[this.start];
  }

  /** Events with seq > after, at most `limit`, skipping those `keep` refuses from the front. */
  after(after: number, limit: number, keep: (event: StoredEvent) => boolean): StoredEvent[] {
    const first = this.first();
    if (!first) return [];
    let index = this.start + Math.max(0, after + 1 - first.seq);
    while (index < this.items.length && !keep(this.items[index]!)) index++;
    return this.items.slice(index, index + limit);
  }

  dropWhile(drop: (event: StoredEvent) => boolean, max: number): number {
    let dropped = 0;
    while (dropped < max && this.start < this.items.length && drop(this.items[this.start]!)) {
      this.start++;
      dropped++;
    }
    // Compact once the dead front is as long as what is kept.
    if (this.start > 1024 && this.start * 2 > this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
    return dropped;
  }
}

