/** What a conformance target is, and what each section of the suite receives. */
import type { SessionStore } from "../store.ts";

/** Direct access to the backend, bypassing the adapter: lets the suite check what was written. */
export interface ConformanceBackend<S extends SessionStore = SessionStore> {
  /** Epoch ms at which the backend drops the handle's record; null when it never will; undefined when absent. */
  expiryOf(store: S, handle: string): Promise<number | null | undefined>;
  /**
   * Every key or row the adapter holds, with the backend's expiry of each (null: none). A key
   * names what it holds: a counter's key contains the counter's name.
   */
  everything(store: S): Promise<Array<{ key: string; expiresAt: number | null }>>;
  /** Puts something that is not a record cloakroom wrote under the handle. */
  corrupt(store: S, handle: string): Promise<void>;
}

export interface ConformanceTarget<S extends SessionStore = SessionStore> {
  /** A fresh store whose keys do not collide with another test's (new instance or prefix). */
  create(): S | Promise<S>;
  /**
   * Reads the backend directly. Without it the suite checks the adapter through its own
   * methods only, and leaves out the three tests that can only be judged from the backend
   * (expiries as stored, nothing stored without one, a corrupt value read as nothing).
   */
  backend?: ConformanceBackend<S>;
  /** Releases the store after a test (close connections the test made). */
  dispose?(store: S): Promise<void>;
  /**
   * The optional capabilities of src/store.ts rule 6 that the store implements; each is
   * tested. One set to false is not tested beyond checking that the store indeed lacks it.
   * @default { userIndex: true, counters: true, health: true, scan: true, retiredIds: true }
   */
  capabilities?: Partial<Capabilities>;
}

export interface Capabilities {
  /** `listUser` and `revokeUser`. */
  userIndex: boolean;
  /** `increment`. */
  counters: boolean;
  /** `health`. */
  health: boolean;
  /** `scan`: every live session in pages (rule 9), which `cloakroom migrate` copies from. */
  scan: boolean;
  /** `retiredIds: true`: retired markers kept by rule 10 (what the `renew` option needs). */
  retiredIds: boolean;
}

export interface Suite<S extends SessionStore> {
  name: string;
  withStore(run: (store: S) => Promise<void>): Promise<void>;
  backend: ConformanceBackend<S> | undefined;
}

