/**
 * What every manager operation shares: resolved options, the store, the keyring, the ticket
 * cache, the event emitter, and the one way a store is called (so a store fault is always an
 * ERR_SESSION_STORE with an event, never "no session").
 *
 * @module
 */
import { SessionError } from "./errors.ts";
import { safeEmitter, type EventListener } from "./events.ts";
import { Keyring, type RingKey } from "./keyring.ts";
import { NO_ACTIVE_KEY, sealingKeyInOrder } from "./key-order.ts";
import { resolveOptions, type ResolvedOptions, type SessionsOptions } from "./options.ts";
import { dataObject, type SessionState } from "./session.ts";
import type { SessionStore } from "./store.ts";
import { TicketCache } from "./ticket-cache.ts";

export interface Context {
  config: ResolvedOptions;
  store: SessionStore;
  keyring: Keyring;
  cache: TicketCache;
  emit: EventListener | undefined;
  /** Marks the sessions this manager read, so another manager cannot commit them. */
  owner: object;
  storeCall<T>(operation: string, call: () => Promise<T>): Promise<T>;
  newState(partial: Partial<SessionState>): SessionState;
  /** The key that seals now; throws ERR_SESSION_NO_ACTIVE_KEY when every key has retired. */
  activeKey(now: number): RingKey;
}

export function createContext(options: SessionsOptions): Context {
  const config = resolveOptions(options);
  const { store } = config;
  const keyring = new Keyring(config.keys);
  sealingKeyInOrder(keyring, config.clock());
  const emit = safeEmitter(config.onEvent);
  const owner = {};

  return {
    config,
    store,
    keyring,
    cache: new TicketCache(config.ticketCacheSize),
    emit,
    owner,

    storeCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
      // Latency of every call, as the request waits for it (the store latency metric), when
      // someone listens; nothing is timed otherwise.
      const started = emit ? performance.now() : 0;
      const done = (ok: boolean) => emit!({ type: "store-call", store: store.name, operation, ms: performance.now() - started, ok });
      const failed = (error: unknown): never => {
        if (emit) {
          done(false);
          emit({ type: "store-error", store: store.name, operation, error });
        }
        if (error instanceof SessionError) throw error;
        throw new SessionError(
          "ERR_SESSION_STORE",
          `the ${store.name} store failed during ${operation}. Check the store's connection and health (the cause is attached).`,
          { cause: error },
        );
      };
      // A promise chain, not an async function: one hop less on every store call.
      try {
        const pending = Promise.resolve(call());
        return emit ? pending.then((value) => (done(true), value), failed) : pending.then(undefined, failed);
      } catch (error) {
        // A store method that throws instead of rejecting.
        return Promise.reject(error).then(undefined, failed);
      }
    },

    newState(partial: Partial<SessionState>): SessionState {
      return {
        owner,
        ticket: undefined,
        hadCookie: false,
        sid: undefined,
        handle: undefined,
        kid: undefined,
        record: null,
        data: dataObject(),
        userId: null,
        readUserId: null,
        ops: [],
        idleMs: config.idleTimeoutMs,
        absoluteMs: config.absoluteTimeoutMs,
        absoluteChanged: false,
        regenerate: false,
        nextId: undefined,
        nextHandle: undefined,
        destroy: false,
        invalidReason: null,
        degraded: false,
        fromSnapshot: false,
        snapshotWindow: undefined,
        snapshotStale: false,
        ...partial,
      };
    },

    activeKey(now: number): RingKey {
      const key = keyring.sealingKey(now);
      if (!key) throw new SessionError("ERR_SESSION_NO_ACTIVE_KEY", NO_ACTIVE_KEY);
      return key;
    },
  };
}
