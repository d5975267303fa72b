/**
 * Helpers for the runtime-agnostic cases. Web-standard only: these run in Node, Bun and workerd.
 */
import { createSessions, generateKey, type SessionEvent, type SessionsOptions, type Sessions } from "../../src/index.ts";
import { memoryStore, type MemoryStore } from "../../adapters/memory/index.ts";
import type { SessionStore } from "../../src/store.ts";

/** A clock tests move by hand: no sleeping, no fake timers. */
export function manualClock(start = Date.UTC(2026, 10, 22, 12)) {
  let now = start;
  const clock = () => now;
  clock.advance = (ms: number) => {
    now += ms;
  };
  clock.set = (ms: number) => {
    now = ms;
  };
  return clock;
}

/** The `name=value` part of a Set-Cookie, as a browser would send it back. */
export function cookieFrom(setCookie: string | null): string {
  if (!setCookie) throw new Error("expected a Set-Cookie value");
  return setCookie.split(";")[0]!;
}

const STORE_METHODS = new Set(["read", "write", "delete", "listUser", "revokeUser", "increment", "health", "close"]);

/** Counts store calls by method, to prove what does and does not reach the store. */
export function countingStore<S extends SessionStore>(store: S): S & { calls: Record<string, number>; total(): number } {
  const calls: Record<string, number> = {};
  const counted = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || typeof property !== "string" || !STORE_METHODS.has(property)) return value;
      return (...args: unknown[]) => {
        calls[property] = (calls[property] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return Object.assign(counted, { calls, total: () => Object.values(calls).reduce((a, b) => a + b, 0) });
}

export interface Setup<Data extends object> {
  sessions: Sessions<Data>;
  store: ReturnType<typeof countingStore<MemoryStore>>;
  clock: ReturnType<typeof manualClock>;
  events: SessionEvent[];
  keys: string;
}

/** A manager on a counting memory store with a manual clock and recorded events. */
export function setup<Data extends object = Record<string, unknown>>(
  options: Partial<SessionsOptions> = {},
): Setup<Data> {
  const clock = manualClock();
  const store = countingStore(memoryStore({ clock }));
  const events: SessionEvent[] = [];
  const keys = (options.keys as string | undefined) ?? generateKey("k1");
  const sessions = createSessions<Data>({
    store,
    keys,
    clock,
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { sessions, store, clock, events, keys };
}

/** Signs a fresh session in as `userId` and returns its cookie. */
export async function signIn(sessions: Sessions<any>, userId: string, cookie: string | null = null): Promise<string> {
  const session = await sessions.read(cookie);
  session.regenerate();
  session.userId = userId;
  return cookieFrom(await sessions.commit(session));
}
