/**
 * Moving sessions from one store to another without signing anyone out: the application runs
 * on `migratingStore({ from: old, to: new })` while `cloakroom migrate` (or `copySessions`)
 * copies every session across, then switches to the new store alone.
 *
 * - Reads go to the new store first, then the old one. A session found only in the old store
 *   is copied across on that first touch, with its expiry, version and user (so the new
 *   store's user index has it), and served.
 * - Writes go to the new store, and the old copy is removed. A session still only in the old
 *   store is moved by its first write: the compare-and-set is judged against the old store's
 *   version, and the new store takes the write.
 * - Sign-outs and revocations remove the old copy first, then the new one; `listUser` and
 *   `revokeUser` see both stores. So a session signed out cannot come back from the old store.
 *
 * Two instances (or the background copy and a request) can race on one session. Every copy is
 * a create (`write(handle, record, 0)`, which fails when the new store already holds the
 * session), followed by a second look at the old store: a copy the old store no longer backs at
 * that version (a sign-out or revocation ran in between, which removes the old copy before the
 * new one) is retired again. Run the copy only once every instance runs migratingStore: an
 * instance still on the old store alone changes sessions the others may have copied already.
 *
 * @module
 */
import { SessionError } from "../errors.ts";
import { safeEmitter, type EventListener } from "../events.ts";
import type { CounterResult, ReadResult, SessionRecord, SessionStore, StoreHealth, TouchRequest, UserSession } from "../store.ts";

export interface MigratingStoreOptions {
  /** The store sessions move out of. */
  from: SessionStore;
  /** The store sessions move into: every write goes here. */
  to: SessionStore;
  /** `store-error` events for an old copy that could not be removed after a write. */
  onEvent?: EventListener;
  /** @default Date.now */
  clock?: () => number;
}

/** What copying one session found: copied now, already in the new store, or gone meanwhile. */
export type CopyOutcome = "copied" | "present" | "gone";

export interface MigratingStore extends SessionStore {
  readonly from: SessionStore;
  readonly to: SessionStore;
  health(): Promise<StoreHealth>;
  /**
   * Copies one session the old store holds (a page of `from.scan`) with the same protocol a
   * read uses; `copySessions` calls it for every session.
   */
  copy(handle: string, record: SessionRecord): Promise<CopyOutcome>;
}

/** Copies an old store would change under a copy before it gives up (instances still on it alone). */
const COPY_ATTEMPTS = 3;

/**
 * @example
 * // Step 1 of 3: deploy this; step 2: npx cloakroom migrate --from <old> --to <new>;
 * // step 3: deploy with the new store alone.
 * const store = migratingStore({ from: memoryStore(), to: ioredisStore({ client }) });
 */
export function migratingStore(options: MigratingStoreOptions): MigratingStore {
  const { from, to } = options ?? ({} as MigratingStoreOptions);
  if (!from || !to || typeof from.read !== "function" || typeof to.read !== "function") {
    throw new SessionError("ERR_SESSION_CONFIG", "migratingStore needs { from, to }: the session store you leave and the one you move to.");
  }
  if (from === to) throw new SessionError("ERR_SESSION_CONFIG", "migratingStore got the same store as from and to; pass the old store and the new one.");
  const clock = options.clock ?? Date.now;
  const emit = safeEmitter(options.onEvent);

  /** Ends a copy in the new store that the old store stopped backing; false if it moved on. */
  function retire(handle: string, record: SessionRecord): Promise<boolean> {
    const now = clock();
    return to.write(handle, { ...record, version: record.version + 1, lastSeenAt: now, expiresAt: now }, record.version);
  }

  /** A create in the new store, kept only while the old store still holds that version. */
  async function copyIn(handle: string, found: SessionRecord): Promise<{ outcome: CopyOutcome; record: SessionRecord }> {
    let record = found;
    for (let attempt = 1; ; attempt++) {
      const now = clock();
      if (!(record.expiresAt > now && record.absoluteExpiresAt > now)) return { outcome: "gone", record };
      if (!(await to.write(handle, record, 0))) return { outcome: "present", record };
      const still = await from.read(handle);
      if (still?.record.version === record.version) return { outcome: "copied", record };
      // Signed out or revoked meanwhile (the old copy goes first), or changed by an instance
      // still on the old store alone: this copy must not stand.
      if (!(await retire(handle, record))) return { outcome: "present", record };
      if (!still || attempt === COPY_ATTEMPTS) return { outcome: "gone", record };
      record = still.record;
    }
  }

  /** The old copy goes once the new store holds the session; a failure must not fail the write. */
  async function dropOld(handle: string, record: SessionRecord): Promise<void> {
    try {
      await from.delete(handle);
    } catch (error) {
      // A retirement (regenerate, a user change) that leaves the old copy would let the old id
      // be copied back: that one must fail, and the core's retry finds the new store done.
      if (!(record.expiresAt > clock())) throw error;
      emit?.({ type: "store-error", store: from.name, operation: "delete after write", error });
    }
  }

  const store: MigratingStore = {
    name: `migrating(${from.name}→${to.name})`,
    from,
    to,
    // Markers move like any record (a read copies one across, a write lands in the new store).
    retiredIds: from.retiredIds === true && to.retiredIds === true,

    async read(handle: string, touch?: TouchRequest): Promise<ReadResult | null> {
      const fresh = await to.read(handle, touch);
      if (fresh) return fresh;
      const old = await from.read(handle, touch);
      if (!old) return null;
      const { outcome, record } = await copyIn(handle, old.record);
      if (outcome === "copied") return { record, touched: old.touched };
      // Copied by someone else first, or gone meanwhile: the new store has the answer.
      return to.read(handle, touch);
    },

    async write(handle: string, record: SessionRecord, expectedVersion: number): Promise<boolean> {
      if (await to.write(handle, record, expectedVersion)) {
        // A create is of a new random handle: there is no old copy to remove.
        if (expectedVersion !== 0) await dropOld(handle, record);
        return true;
      }
      if (expectedVersion === 0 || (await to.read(handle))) return false;
      // Still only in the old store: move it with this write, compare-and-set on the old version.
      const old = await from.read(handle);
      if (old?.record.version !== expectedVersion) return false;
      if (!(await to.write(handle, record, 0))) return false;
      const still = await from.read(handle);
      await dropOld(handle, record);
      // Signed out or revoked between the two looks: the write lands and is revoked at once,
      // as a write the revocation was ordered after.
      if (still?.record.version !== expectedVersion) await retire(handle, record);
      return true;
    },

    async delete(handle: string): Promise<void> {
      await from.delete(handle);
      await to.delete(handle);
    },

    async health(): Promise<StoreHealth> {
      const probe = async (part: SessionStore): Promise<StoreHealth> => {
        const started = clock();
        try {
          return part.health ? await part.health() : (await part.read("mgrt.0000000000000000000000000000000000000000000"), { ok: true, latencyMs: clock() - started });
        } catch (error) {
          return { ok: false, latencyMs: clock() - started, details: { error: error instanceof Error ? error.message : String(error) } };
        }
      };
      const [old, next] = await Promise.all([probe(from), probe(to)]);
      const refined = (report: StoreHealth) => (!report.ok ? "down" : report.details?.status === "degraded" ? "degraded" : "ok");
      // Sessions not copied yet are read from the old store: without it they cannot be served.
      const status = refined(next) === "down" ? "down" : refined(old) === "ok" && refined(next) === "ok" ? "ok" : "degraded";
      return {
        ok: next.ok,
        latencyMs: Math.max(old.latencyMs, next.latencyMs),
        details: { status, from: { name: from.name, ...old }, to: { name: to.name, ...next } },
      };
    },

    copy: async (handle, record) => (await copyIn(handle, record)).outcome,

    async close(): Promise<void> {
      await Promise.all([from.close?.(), to.close?.()]);
    },
  };

  if (from.listUser && from.revokeUser && to.listUser && to.revokeUser) {
    store.listUser = async (userId: string): Promise<UserSession[]> => {
      // Old store first: a session moving across meanwhile is in the new store before it leaves
      // the old one, so one of the two lists has it.
      const old = await from.listUser!(userId);
      const found = new Map(old.map((session) => [session.handle, session]));
      for (const session of await to.listUser!(userId)) found.set(session.handle, session);
      return [...found.values()];
    };
    store.revokeUser = async (userId: string, revokeOptions: { except?: string } = {}): Promise<number> => {
      const before = new Set((await to.listUser!(userId)).map((session) => session.handle));
      const oldOnly = (await from.listUser!(userId)).filter((s) => !before.has(s.handle) && s.handle !== revokeOptions.except).length;
      await from.revokeUser!(userId, revokeOptions);
      return (await to.revokeUser!(userId, revokeOptions)) + oldOnly;
    };
  }
  if (to.increment) {
    // Counters (rate limits) start again in the new store: limits are looser for one window.
    store.increment = (key: string, windowMs: number, amount?: number): Promise<CounterResult> => to.increment!(key, windowMs, amount);
  }
  return store;
}
