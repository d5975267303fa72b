/**
 * `copySessions`: the background half of a move between stores (`cloakroom migrate` runs it).
 * It walks every live session of the old store with its `scan` (store rule 9) and copies each
 * into the new store with the protocol `migratingStore` uses on a read, so it can run while the
 * application serves, signs in, writes and signs out on `migratingStore({ from, to })`.
 *
 * - Nothing is copied twice: a copy is a create, which finds a session the new store already
 *   holds (copied by a request, by an earlier run, or twice by a Redis scan) and leaves it.
 * - Resumable: after each page `onPage` gets the cursor to save; pass it back as `cursor`.
 * - `dryRun` only counts what a copy would look at.
 *
 * @module
 */
import { SessionError } from "../errors.ts";
import type { SessionStore } from "../store.ts";
import { migratingStore, type CopyOutcome } from "./migrating-store.ts";

export interface CopyProgress {
  /** Live sessions the scan returned so far (a Redis scan may return one twice). */
  scanned: number;
  /** Copied into the new store by this run. */
  copied: number;
  /** Already in the new store (copied on a read, by an earlier run, or a second sighting). */
  present: number;
  /** Signed out, revoked or expired between the scan and the copy: not copied, rightly. */
  gone: number;
  /** Where the next page starts; null once the scan is complete. */
  cursor: string | null;
  done: boolean;
}

export interface CopySessionsOptions {
  /** The store sessions move out of; it must implement `scan`. */
  from: SessionStore;
  /** The store sessions move into. */
  to: SessionStore;
  /** A cursor saved from `onPage` to resume an interrupted copy; null starts at the beginning. @default null */
  cursor?: string | null;
  /** Sessions per scan page. @default 200 */
  pageSize?: number;
  /** Copies in flight at once. @default 16 */
  concurrency?: number;
  /** Count only; write nothing. @default false */
  dryRun?: boolean;
  /** After every page, with the totals so far and the cursor to save. Awaited. */
  onPage?(progress: CopyProgress): void | Promise<void>;
  /** Stops after the page in progress (its cursor is reported); the copy resumes from there. */
  signal?: AbortSignal;
}

/**
 * @example
 * let saved = loadCursor();
 * const result = await copySessions({ from: oldStore, to: newStore, cursor: saved, onPage: (p) => saveCursor(p.cursor) });
 */
export async function copySessions(options: CopySessionsOptions): Promise<CopyProgress> {
  const { from, to } = options ?? ({} as CopySessionsOptions);
  const store = migratingStore({ from, to });
  if (typeof from.scan !== "function") {
    throw new SessionError("ERR_SESSION_UNSUPPORTED", `the ${from.name} store cannot list its sessions (no scan, store rule 9), so there is nothing to copy them from.`);
  }
  const pageSize = options.pageSize ?? 200;
  const concurrency = options.concurrency ?? 16;
  for (const [name, value] of [["pageSize", pageSize], ["concurrency", concurrency]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new SessionError("ERR_SESSION_CONFIG", `copySessions ${name} must be a positive whole number; got ${String(value)}.`);
  }
  const progress: CopyProgress = { scanned: 0, copied: 0, present: 0, gone: 0, cursor: options.cursor ?? null, done: false };
  do {
    if (options.signal?.aborted) return progress;
    const page = await from.scan(progress.cursor, { limit: pageSize });
    progress.scanned += page.sessions.length;
    if (!options.dryRun) {
      const queue = [...page.sessions];
      const worker = async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const outcome: CopyOutcome = await store.copy(next.handle, next.record);
          progress[outcome]++;
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    }
    progress.cursor = page.next;
    progress.done = page.next === null;
    await options.onPage?.({ ...progress });
  } while (!progress.done);
  return progress;
}
