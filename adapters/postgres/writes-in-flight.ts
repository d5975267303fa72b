/**
 * The writes of each user's sessions that a store has sent and not yet heard back from.
 * revokeUser waits for them first. Replies on different pool connections can arrive in any
 * order, so without the wait a write that committed just after the revocation could still be
 * reported to the caller before the revocation is, and look as if it had slipped through.
 * Across processes the per-user advisory lock does the work (every write that commits before
 * the revocation does is deleted, see statements.ts); this makes the same hold for the order
 * one process observes.
 *
 * @module
 */
export class WritesInFlight {
  readonly #byUser = new Map<string, Set<Promise<unknown>>>();

  /** Remembers `write` under `userId` until it settles; anonymous writes are not tracked. */
  track<T>(userId: string | null, write: Promise<T>): Promise<T> {
    if (userId === null) return write;
    let pending = this.#byUser.get(userId);
    if (!pending) this.#byUser.set(userId, (pending = new Set()));
    pending.add(write);
    const settle = () => {
      pending.delete(write);
      if (pending.size === 0 && this.#byUser.get(userId) === pending) this.#byUser.delete(userId);
    };
    write.then(settle, settle);
    return write;
  }

  /** Resolves once every write of `userId` sent so far has settled, however it ended. */
  async settled(userId: string): Promise<void> {
    const pending = this.#byUser.get(userId);
    if (pending) await Promise.allSettled([...pending]);
  }
}
