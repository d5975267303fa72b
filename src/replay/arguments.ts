/**
 * Checks of what an application passes to the replay log, before any backend call: channel
 * and member names, positions, limits and events. Bad input is an `ERR_SESSION_DATA` naming
 * the argument and the fix, never a backend fault.
 *
 * @module
 */
import { SessionError } from "../errors.ts";
import { assertStorable, type StorableWords } from "../storable.ts";

/**
 * Printable ASCII without braces, 1-200 characters: a name goes into Redis keys, where a brace
 * would change the Cluster hash slot, and into SQL parameters and logs.
 */
const NAME = /^[!-z|~]{1,200}$/;

const EVENT_WORDS: StorableWords = { at: "", kind: "an event" };

function refuse(message: string): never {
  throw new SessionError("ERR_SESSION_DATA", message);
}

export function checkChannel(channel: unknown): asserts channel is string {
  if (typeof channel !== "string" || !NAME.test(channel)) {
    refuse(`a replay channel must be 1-200 printable ASCII characters without spaces or braces ("room:42"); got ${describe(channel)}.`);
  }
}

export function checkMember(member: unknown): asserts member is string {
  if (typeof member !== "string" || !NAME.test(member)) {
    refuse(`a replay member must be 1-200 printable ASCII characters without spaces or braces (a connection or device id); got ${describe(member)}.`);
  }
}

/** A position: 0 (before the first event) or a sequence number. */
export function checkSeq(seq: unknown, what: string): asserts seq is number {
  if (!Number.isSafeInteger(seq) || (seq as number) < 0) {
    refuse(`${what} must be a sequence number, an integer >= 0 (0 is before the first event); got ${describe(seq)}.`);
  }
}

export function checkLimit(limit: unknown, max: number): number {
  if (limit === undefined) return Math.min(100, max);
  if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > max) {
    refuse(`since's limit must be an integer from 1 to ${max}; got ${describe(limit)}.`);
  }
  return limit as number;
}

/** The event as the JSON text every backend keeps exactly. */
export function encodeEvent(event: unknown, maxBytes: number): string {
  if (event === undefined) refuse("append needs an event: any JSON value (an object, a string, a number...), not undefined.");
  // The sessions' check, in an event's words.
  assertStorable(event, "the event", EVENT_WORDS);
  const payload = JSON.stringify(event);
  if (payload === undefined) refuse("the event is not JSON (a function or a symbol); append a JSON value.");
  // UTF-8 length without encoding the whole string: an upper bound is enough to refuse early.
  if (payload.length * 3 > maxBytes && new TextEncoder().encode(payload).length > maxBytes) {
    refuse(`the event is larger than maxEventBytes (${maxBytes} bytes as JSON); send a smaller event, or a reference to where the data is.`);
  }
  return payload;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === "number") return String(value);
  return value === null ? "null" : typeof value;
}
