/**
 * The memory store when it is full. Both lines hold 100 000 live sessions (the default
 * `maxEntries`) and each operation adds one session and drops the oldest, so the net work is
 * the same; the only difference is who drops it. Below the cap the line deletes the oldest
 * itself; at the cap the store evicts it. A bounded LRU should make both cost about the same.
 * Every sign-in and regenerate is such an insert.
 *
 * @module
 */
import { memoryStore } from "../adapters/memory/index.ts";
import type { SessionRecord } from "../src/store.ts";
import type { Scenario } from "./scenario.ts";

const LIVE = 100_000;

/** Handle-shaped (43 characters) and distinct per number. */
const handle = (n: number) => `h${n.toString().padStart(42, "0")}`;

export async function storeScenarios(now: number): Promise<Scenario[]> {
  const clock = () => now;
  const record: SessionRecord = {
    userId: null, data: { count: 1 }, version: 1, createdAt: now, lastSeenAt: now,
    expiresAt: now + 1800_000, absoluteExpiresAt: now + 604_800_000, idleTimeout: 1800_000,
  };
  const full = memoryStore({ clock }); // default maxEntries: 100 000
  const roomy = memoryStore({ clock, maxEntries: 2 * LIVE });
  for (let n = 0; n < LIVE; n++) {
    await full.write(handle(n), record, 0);
    await roomy.write(handle(n), record, 0);
  }
  let fullNext = LIVE;
  let roomyNext = LIVE;
  let roomyOldest = 0;

  return [
    {
      id: "insert-roomy", group: "store", label: "insert + delete oldest, below the cap",
      store: roomy,
      run: async () => {
        await roomy.write(handle(roomyNext++), record, 0);
        await roomy.delete(handle(roomyOldest++));
      },
    },
    {
      id: "insert-full", group: "store", label: "insert at the cap (store evicts oldest)",
      store: full,
      run: () => full.write(handle(fullNext++), record, 0),
    },
  ];
}
