/**
 * What a session may hold: JSON that every store keeps exactly. Postgres's jsonb refuses NUL
 * characters and lone surrogates, and a value that fails inside the store looks like a store
 * fault (opening breakers for everyone). So the core refuses such values where they are set,
 * with an error that names the key, and every store behaves the same.
 *
 * @module
 */
import { SessionError } from "./errors.ts";

// A NUL, a high surrogate not followed by a low one, or a low one not preceded by a high one.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const MAX_DEPTH = 64;

/** How an error names what was refused: a session value by default, an event for the replay log. */
export interface StorableWords {
  /** Before the path: "session value at " makes "session value at prefs.theme ...". */
  at: string;
  /** The kind of data that must be JSON: "session data". */
  kind: string;
}

const SESSION_WORDS: StorableWords = { at: "session value at ", kind: "session data" };

function refuse(path: string, why: string, words: StorableWords): never {
  throw new SessionError("ERR_SESSION_DATA", `${words.at}${path} ${why}; ${words.kind} must be JSON that survives every store.`);
}

function checkString(text: string, path: string, words: StorableWords): void {
  if (UNSTORABLE.test(text)) refuse(path, "contains a NUL character or a lone surrogate (not well-formed Unicode)", words);
}

export function assertStorable(value: unknown, path: string, words: StorableWords = SESSION_WORDS, depth = 0): void {
  if (depth > MAX_DEPTH) refuse(path, `nests deeper than ${MAX_DEPTH} levels`, words);
  switch (typeof value) {
    case "string":
      return checkString(value, path, words);
    case "number":
      if (!Number.isFinite(value)) refuse(path, `is ${value}, which JSON cannot hold`, words);
      return;
    case "boolean":
    case "undefined":
      return;
    case "bigint":
    case "function":
    case "symbol":
      return refuse(path, `is a ${typeof value}, which JSON cannot hold`, words);
  }
  if (value === null) return;
  // A Date and anything else with toJSON is stored as what toJSON returns.
  const object = value as { toJSON?: () => unknown };
  if (typeof object.toJSON === "function") return assertStorable(object.toJSON(), path, words, depth + 1);
  if (Array.isArray(value)) {
    value.forEach((item, index) => assertStorable(item, `${path}[${index}]`, words, depth + 1));
    return;
  }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    checkString(key, `${path} (a key)`, words);
    assertStorable(item, `${path}.${key}`, words, depth + 1);
  }
}

/** userIds go into indexes and keys: well-formed text only. */
export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}
