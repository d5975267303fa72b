/**
 * The app's session manager: one per module instance, over one store per process.
 *
 * Next compiles proxy.ts apart from the app, and each route into its own entry, so a plain
 * module-level `memoryStore()` can exist several times in one process: a sign-in saved by the
 * Server Action would then be missing for the Route Handler or the proxy. `globalThis` is one
 * object for all of them under `next start` and `next dev` (a single Node process; in Next 16
 * the proxy runs on the Node.js runtime), so the store lives there. Only the store and the
 * development key are shared, not the manager: each bundle carries its own copy of cloakroom,
 * and a manager from another copy would throw SessionErrors that this copy's `instanceof`
 * does not recognise.
 *
 * The memory store is for trying the example on one machine. Where the proxy runs apart from
 * the app (Next may deploy it to a CDN) or the app runs on several instances, use a shared
 * store: Redis, Upstash or Postgres (see the README).
 *
 * @module
 */
import { createSessions, generateKey, SessionError, type Sessions } from "cloakroom";
import { memoryStore, type MemoryStore } from "cloakroom/adapters/memory";

export interface AppData {
  count: number;
}

interface Shared {
  store: MemoryStore;
  /** A throwaway key for `next dev` without SESSION_KEYS, shared so every bundle opens the same tickets. */
  devKey?: string;
}

const SHARED: unique symbol = Symbol.for("cloakroom.examples.next");

function shared(): Shared {
  const holder = globalThis as typeof globalThis & { [SHARED]?: Shared };
  return (holder[SHARED] ??= { store: memoryStore() });
}

function keys(): string {
  const configured = process.env.SESSION_KEYS?.trim();
  if (configured) return configured;
  if (process.env.NODE_ENV === "production") {
    // A key made at start-up would sign everyone out on every restart and differ between instances.
    throw new SessionError(
      "ERR_SESSION_KEYS",
      "SESSION_KEYS is not set and NODE_ENV is production. Make a key with `npx cloakroom keygen` and set SESSION_KEYS to its output.",
    );
  }
  const state = shared();
  if (!state.devKey) {
    state.devKey = generateKey("dev");
    console.warn(
      "cloakroom: SESSION_KEYS is not set, so `next dev` uses a throwaway key and sessions end when it restarts. " +
        "Make a key with `npx cloakroom keygen` and set SESSION_KEYS to its output.",
    );
  }
  return state.devKey;
}

let sessions: Sessions<AppData> | undefined;

/**
 * Made on first use, not at import: `next build` imports every route to read its config, and a
 * build must not need SESSION_KEYS.
 */
export function getSessions(): Sessions<AppData> {
  return (sessions ??= createSessions<AppData>({
    store: shared().store,
    keys: keys(),
    // The edge fast path: the ticket carries a 5-second snapshot, so proxy.ts (which runs on
    // every /account request) authorises with no store call inside that window. The price: a
    // sign-out on another device or a revocation takes effect here within 5 s at most.
    cookieCache: { maxAge: 5 },
  }));
}
