/**
 * The `Session` a handler works with. It records every change as an operation (set, unset,
 * update with its function, clear, userId) next to applying it, so that a commit that loses
 * a compare-and-set race can re-read the record and replay the operations on fresh data:
 * parallel requests that touch the same session lose nothing.
 *
 * @module
 */
import { SessionError } from "./errors.ts";
import type { InvalidReason } from "./events.ts";
import { handleOf, newSessionId } from "./session-id.ts";
import { assertStorable, isStorableText } from "./storable.ts";
import type { SessionRecord } from "./store.ts";

type Op =
  | { kind: "set"; key: string; value: unknown }
  | { kind: "flash"; key: string; value: unknown }
  | { kind: "takeFlash"; key: string }
  | { kind: "unset"; key: string }
  | { kind: "update"; key: string; fn: (current: unknown) => unknown }
  | { kind: "clear" }
  | { kind: "userId"; value: string | null }
  | { kind: "timeouts"; idleMs?: number; absoluteMs?: number };

/** Internal state, shared with the manager only. */
export interface SessionState {
  owner: object;
  /** The ticket string the request carried, if it opened. */
  ticket: string | undefined;
  /** Whether the request carried our cookie at all (a destroy then clears it). */
  hadCookie: boolean;
  sid: string | undefined;
  handle: string | undefined;
  /** Key id that sealed the current ticket. */
  kid: string | undefined;
  /** The record as last read or written; null for a session not stored yet. */
  record: SessionRecord | null;
  data: Record<string, unknown>;
  userId: string | null;
  /** The user the session had when it was read; a replay does not re-apply it over a change. */
  readUserId: string | null;
  ops: Op[];
  idleMs: number;
  absoluteMs: number;
  /** An operation set the absolute timeout, so the absolute expiry moves. */
  absoluteChanged: boolean;
  regenerate: boolean;
  /** The id `regenerate()` drew; its handle is known once the promise settles. */
  nextId: Promise<{ sid: string; handle: string }> | undefined;
  nextHandle: string | undefined;
  destroy: boolean;
  invalidReason: InvalidReason | null;
  /** Read while the store was down, under the "anonymous" policy: nothing will be saved. */
  degraded: boolean;
  /** Served from the ticket's snapshot (cookie cache): "complete" data, "partial" data, or no. */
  fromSnapshot: "complete" | "partial" | false;
  /**
   * The window of the snapshot this session was served from, if it was: when its data was
   * read from the store (`at`) and when it stops being trusted (`until`), epoch ms.
   */
  snapshotWindow: { at: number; until: number } | undefined;
  /** Read from the store while the cookie cache is on: the next ticket carries a fresh snapshot. */
  snapshotStale: boolean;
  /** When the session id was issued, epoch ms, if the ticket said (renewal.ts). */
  issuedAt?: number;
  /**
   * This commit gave the session a new id by `regenerate` or created it (a sign-in, a change of
   * user, a privilege change): not a renewal, nor a re-seal. Only then is a DBSC registration
   * offered (dbsc/endpoints.ts).
   */
  reissued?: boolean;
  /** The device binding this request showed (dbsc/), when device-bound sessions are on. */
  binding?: Binding;
  /** Whether the session counts as bound to a device (dbsc/binding.ts), when they are on. */
  deviceRegistered?: boolean;
}

/** What a request shows of a device-bound session (DBSC); see `Session.binding`. */
export type Binding = "bound" | "unbound" | "expired";

let stateOfSession: (session: Session<object>) => SessionState;

/**
 * Where flash messages live inside the data: one reserved key, so every store keeps them as
 * it keeps data, compare-and-set and replay included. `toJSON` leaves it out.
 */
export const FLASH_KEY = "cloakroom.flash";

/**
 * A session's data object, copied from `from` one level deep. An ordinary object (a
 * prototype-free one costs V8 several times as much to build, on every read), which is safe
 * because data is only ever read through `ownValue` and written under keys `assertDataKey`
 * let through: `__proto__` is refused, and `constructor` or `toString` read as absent. Data
 * from JSON (a store read, a parsed snapshot) holds a `__proto__` key as an own property,
 * never as a prototype, and the spread copies it as one.
 */
export function dataObject(from?: Record<string, unknown>): Record<string, unknown> {
  return { ...from };
}

/** What a request's state takes from a stored record: the record, a copy of its data, its user and timeouts. */
export function stateOfRecord(record: SessionRecord): Pick<SessionState, "record" | "data" | "userId" | "readUserId" | "idleMs" | "absoluteMs"> {
  return {
    record,
    data: dataObject(record.data),
    userId: record.userId,
    readUserId: record.userId,
    idleMs: record.idleTimeout,
    absoluteMs: record.absoluteExpiresAt - record.createdAt,
  };
}

/** A key's own value; never one inherited from Object.prototype. */
function ownValue(data: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(data, key) ? data[key] : undefined;
}

/** Keys are JSON text, and `__proto__` is refused: assigning it would replace the data's prototype. */
function assertDataKey(key: string, what: string): void {
  assertStorable(key, what);
  if (key === "__proto__") {
    throw new SessionError("ERR_SESSION_DATA", `"__proto__" cannot be ${what}: assigning it would change what the session's data inherits. Use another name.`);
  }
}

function flashesOf(data: Record<string, unknown>): Record<string, unknown> | undefined {
  const flashes = data[FLASH_KEY];
  return typeof flashes === "object" && flashes !== null && !Array.isArray(flashes) ? (flashes as Record<string, unknown>) : undefined;
}

/** The manager's view of a session's internals. */
export function sessionState(session: Session<object>): SessionState {
  return stateOfSession(session);
}

function applyOp(state: SessionState, op: Op): void {
  switch (op.kind) {
    case "set":
      state.data[op.key] = op.value;
      break;
    case "unset":
      delete state.data[op.key];
      break;
    case "update": {
      const value = op.fn(ownValue(state.data, op.key));
      assertStorable(value, op.key);
      state.data[op.key] = value;
      break;
    }
    case "flash": {
      const flashes = dataObject(flashesOf(state.data));
      flashes[op.key] = op.value;
      state.data[FLASH_KEY] = flashes;
      break;
    }
    case "takeFlash": {
      const flashes = flashesOf(state.data);
      if (!flashes || !Object.hasOwn(flashes, op.key)) break;
      const rest = dataObject(flashes);
      delete rest[op.key];
      if (Object.keys(rest).length > 0) state.data[FLASH_KEY] = rest;
      else delete state.data[FLASH_KEY];
      break;
    }
    case "clear":
      state.data = dataObject();
      break;
    case "userId":
      state.userId = op.value;
      break;
    case "timeouts":
      if (op.idleMs !== undefined) state.idleMs = op.idleMs;
      if (op.absoluteMs !== undefined) {
        state.absoluteMs = op.absoluteMs;
        state.absoluteChanged = true;
      }
      break;
  }
}

/**
 * Rebuilds data, user and timeouts from a freshly read record plus every recorded operation,
 * so what a parallel request committed survives and this request's changes apply on top.
 * Setting the user to the one this request read changed nothing for it, and is not replayed
 * over another request's change (a parallel sign-out stays signed out).
 */
export function replay(state: SessionState, base: SessionRecord): void {
  state.data = dataObject(base.data);
  state.userId = base.userId;
  state.idleMs = base.idleTimeout;
  state.absoluteMs = base.absoluteExpiresAt - base.createdAt;
  state.absoluteChanged = false;
  for (const op of state.ops) {
    if (op.kind === "userId" && op.value === state.readUserId && base.userId !== state.readUserId) continue;
    applyOp(state, op);
  }
}

export class Session<Data extends object = Record<string, unknown>> {
  readonly #state: SessionState;

  static {
    stateOfSession = (session) => session.#state;
  }

  /** @internal Sessions come from `sessions.read()`. */
  constructor(state: SessionState) {
    this.#state = state;
  }

  #record(op: Op): void {
    const state = this.#state;
    if (state.destroy) {
      throw new SessionError("ERR_SESSION_STATE", "this session was destroyed; read a new one to store data.");
    }
    applyOp(state, op);
    state.ops.push(op);
  }

  get<K extends keyof Data & string>(key: K): Data[K] | undefined {
    return ownValue(this.#state.data, key) as Data[K] | undefined;
  }

  has<K extends keyof Data & string>(key: K): boolean {
    return Object.hasOwn(this.#state.data, key);
  }

  /** Values must be JSON: they go through JSON on their way to the store. */
  set<K extends keyof Data & string>(key: K, value: Data[K]): void {
    assertDataKey(key, "a key");
    assertStorable(value, key);
    this.#record({ kind: "set", key, value });
  }

  unset<K extends keyof Data & string>(key: K): void {
    assertDataKey(key, "a key");
    this.#record({ kind: "unset", key });
  }

  /**
   * Changes a value from its current one. On a write conflict, `fn` runs again on the value
   * another request committed, so it must be a pure function of its argument.
   *
   * @example
   * session.update("count", (count = 0) => count + 1);
   */
  update<K extends keyof Data & string>(key: K, fn: (current: Data[K] | undefined) => Data[K]): Data[K] {
    assertDataKey(key, "a key");
    this.#record({ kind: "update", key, fn: fn as (current: unknown) => unknown });
    return this.#state.data[key] as Data[K];
  }

  /** Removes every data key (the user id stays). */
  clear(): void {
    this.#record({ kind: "clear" });
  }

  /**
   * Keeps a message for a later request, typically the page a form post redirects to: it is
   * saved with the session (compare-and-set, replayed on a conflict like any change) and stays
   * until `takeFlash` reads it. Values must be JSON, as for `set`.
   *
   * @example
   * session.flash("notice", "Saved."); // POST /settings, then 303 to /settings
   * const notice = session.takeFlash("notice"); // GET /settings: "Saved.", and gone after
   */
  flash(key: string, value: unknown): void {
    assertDataKey(key, "a flash key");
    assertStorable(value, `flash ${key}`);
    this.#record({ kind: "flash", key, value });
  }

  /**
   * Returns a flash message and removes it (on commit), so it shows once. Two parallel
   * requests may both see it: the removal is replayed like any change, not a lock.
   */
  takeFlash<T = unknown>(key: string): T | undefined {
    const flashes = flashesOf(this.#state.data);
    if (!flashes || !Object.hasOwn(flashes, key)) return undefined;
    const value = flashes[key] as T;
    this.#record({ kind: "takeFlash", key });
    return value;
  }

  /** A snapshot of the data (flash messages left out); changing it changes nothing. */
  toJSON(): Partial<Data> {
    const { [FLASH_KEY]: _flashes, ...data } = this.#state.data;
    return structuredClone(data) as Partial<Data>;
  }

  /** The signed-in user; setting it indexes the session under that user on commit. */
  get userId(): string | null {
    return this.#state.userId;
  }

  set userId(value: string | null) {
    if (value !== null && (typeof value !== "string" || value.length === 0 || value.length > 256 || !isStorableText(value))) {
      throw new SessionError("ERR_SESSION_STATE", "userId must be a non-empty string of at most 256 well-formed characters (no NUL), or null.");
    }
    this.#record({ kind: "userId", value });
  }

  /**
   * Issues a new session id and deletes the old record on commit. Call it on sign-in and on
   * any privilege change, so an id planted before sign-in is worthless after it. (Setting
   * `userId` to another user does it too.) Await it to read the new `handle` before the
   * commit, for example to answer the sign-in request; set `userId` first, since the handle
   * carries the user's tag.
   *
   * @example
   * session.userId = user.id;
   * await session.regenerate();
   * return c.json({ session: session.handle });
   */
  regenerate(): Promise<void> {
    const state = this.#state;
    state.regenerate = true;
    // Drawn a microtask later, so `regenerate(); userId = x` (no await between) draws once,
    // under the right user's tag.
    const next: Promise<{ sid: string; handle: string }> = Promise.resolve().then(async () => {
      const sid = newSessionId(state.userId);
      const handle = await handleOf(sid);
      if (state.nextId === next) state.nextHandle = handle;
      return { sid, handle };
    });
    state.nextId = next;
    return next.then(() => undefined);
  }

  /** Deletes the record on commit; commit then returns a cookie that clears the browser's. */
  destroy(): void {
    this.#state.destroy = true;
  }

  /**
   * Overrides the timeouts of this session only (seconds), for example a longer absolute
   * lifetime for "remember me". The absolute timeout counts from the session's creation.
   */
  setTimeouts(timeouts: { idleTimeout?: number; absoluteTimeout?: number }): void {
    for (const [name, value] of Object.entries(timeouts)) {
      if (!["idleTimeout", "absoluteTimeout"].includes(name)) {
        throw new SessionError("ERR_SESSION_STATE", `setTimeouts takes idleTimeout and absoluteTimeout; got ${name}.`);
      }
      if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
        throw new SessionError("ERR_SESSION_STATE", `${name} must be a positive number of seconds.`);
      }
    }
    this.#record({
      kind: "timeouts",
      ...(timeouts.idleTimeout !== undefined && { idleMs: timeouts.idleTimeout * 1000 }),
      ...(timeouts.absoluteTimeout !== undefined && { absoluteMs: timeouts.absoluteTimeout * 1000 }),
    });
  }

  /** True until the session has a stored record. */
  get isNew(): boolean {
    return this.#state.record === null;
  }

  /**
   * Public handle (SHA-256 of the id): safe to show and log. Null for a session not stored
   * yet; after `await regenerate()`, the handle the session will have once committed.
   */
  get handle(): string | null {
    return this.#state.nextHandle ?? this.#state.handle ?? null;
  }

  /** Why the request's cookie did not give a session; null when it did or there was none. */
  get invalidReason(): InvalidReason | null {
    return this.#state.invalidReason;
  }

  /**
   * True when the store could not be reached and the request goes on as anonymous (the
   * "anonymous" store-error policy). Nothing is saved on commit and the cookie is left alone.
   */
  get isDegraded(): boolean {
    return this.#state.degraded;
  }

  /**
   * Device-bound sessions (the `deviceBound` option): "bound" when the request carried a valid
   * bound cookie of this session's registered device, "expired" when it carried one past its
   * end, "unbound" otherwise. What that means is the application's call: browsers without DBSC
   * are always "unbound" (with `deviceRegistered` false) and must keep working; a session that
   * registered a device but arrives "unbound" is what a copied cookie jar looks like.
   *
   * @example
   * // A strict route: a session bound to a device is accepted only from that device.
   * if (session.deviceRegistered && session.binding !== "bound") return c.text("sign in again", 401);
   */
  get binding(): Binding {
    return this.#state.binding ?? "unbound";
  }

  /**
   * True when a DBSC browser registered a device key for this session (see `binding`), from a
   * few seconds after the registration on: requests the browser sent before it had its first
   * bound cookie are not to be refused.
   */
  get deviceRegistered(): boolean {
    return this.#state.deviceRegistered ?? false;
  }

  /** True when this read was served from the ticket's snapshot (cookie cache), with no store call. */
  get fromCookieCache(): boolean {
    return this.#state.fromSnapshot !== false;
  }

  /** Whether commit has anything to write. */
  get isDirty(): boolean {
    const state = this.#state;
    return state.ops.length > 0 || state.regenerate || state.destroy;
  }

  get createdAt(): number | null {
    return this.#state.record?.createdAt ?? null;
  }

  get lastSeenAt(): number | null {
    return this.#state.record?.lastSeenAt ?? null;
  }

  /** When the session ends if nothing happens (idle or absolute, whichever is first). */
  get expiresAt(): number | null {
    return this.#state.record?.expiresAt ?? null;
  }

  get absoluteExpiresAt(): number | null {
    return this.#state.record?.absoluteExpiresAt ?? null;
  }
}
