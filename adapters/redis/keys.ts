/**
 * Where the Redis adapters keep things. Every key a session operation touches carries the
 * same Cluster hash tag, so each Lua script runs on one slot (store rule 8):
 *
 *   <prefix>{<tag>}:s:<handle>    session STRING (record-codec.ts: one line of numbers, the data, the user id); tag = the handle's tag
 *   <prefix>{<tag>}:u:<userId>    user index ZSET: member handle, score = when the entry may go
 *   <prefix>{<tag>}:r:<userId>    revocation mark HASH {at, except} (see scripts.ts)
 *   <prefix>{<tag>}:t:<handle>    tombstone STRING: the nonce of the write that retired the
 *                                 session, for about a minute (scripts.ts, WRITE); never read as a session
 *   <prefix>c:<key>               counter HASH {count, resetAt}
 *
 * For a user the tag is `userTag(userId)`, and the core writes a user's sessions under handles
 * with that tag, so a user's sessions, index and mark share one slot. Scripts build the keys
 * they reach through the index (a user's sessions) from a *stem*, `<prefix>{<tag>}:`, passed as
 * a declared key: a client that prefixes keys itself (ioredis `keyPrefix`) prefixes the stem
 * too, and the keys built from it stay where the client put the declared ones.
 *
 * @module
 */
import { SessionError } from "../../src/errors.ts";
import { tagOf, userTag } from "../../src/session-id.ts";

export const DEFAULT_KEY_PREFIX = "cloakroom:";

export interface KeyLayout {
  readonly prefix: string;
  /** `<prefix>{<tag>}:`: the slot stem scripts build session, index and mark keys from. */
  stem(tag: string): string;
  session(handle: string): string;
  userIndex(userId: string): string;
  revocation(userId: string): string;
  /** Where a retirement leaves the nonce that answers the same write sent again (scripts.ts, WRITE). */
  tombstone(handle: string): string;
  /** Stem of the user's slot; every key of the user starts with it. */
  userStem(userId: string): string;
  counter(key: string): string;
  /** SCAN's MATCH pattern for every session key (and nothing else) under the prefix. */
  readonly sessionPattern: string;
  /** The handle a session key (as `session()` builds it) is for; undefined for any other key. */
  handleOf(key: string): string | undefined;
}

/** A Redis glob that matches `text` literally. */
export function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export function keyLayout(prefix: string = DEFAULT_KEY_PREFIX): KeyLayout {
  if (typeof prefix !== "string" || /[{}]/.test(prefix)) {
    // A brace in the prefix would become the hash tag of every key: all sessions of all users
    // in one Cluster slot, on one node.
    throw new SessionError(
      "ERR_SESSION_CONFIG",
      `keyPrefix must be a string without "{" or "}" (the adapter sets each user's Cluster hash tag itself); got ${JSON.stringify(String(prefix)).slice(0, 60)}.`,
    );
  }
  const stem = (tag: string) => `${prefix}{${tag}}:`;
  return {
    prefix,
    stem,
    session: (handle) => `${stem(tagOf(handle))}s:${handle}`,
    userIndex: (userId) => `${stem(userTag(userId))}u:${userId}`,
    revocation: (userId) => `${stem(userTag(userId))}r:${userId}`,
    tombstone: (handle) => `${stem(tagOf(handle))}t:${handle}`,
    userStem: (userId) => stem(userTag(userId)),
    counter: (key) => `${prefix}c:${key}`,
    // A tag is four characters: `????` keeps index, mark and tombstone keys out of the match.
    sessionPattern: `${globLiteral(prefix)}{????}:s:*`,
    handleOf(key) {
      if (!key.startsWith(prefix) || key.slice(prefix.length + 5, prefix.length + 9) !== "}:s:") return undefined;
      const handle = key.slice(prefix.length + 9);
      return key === `${stem(tagOf(handle))}s:${handle}` ? handle : undefined;
    },
  };
}

/**
 * What the store accepts as a handle: the core's `<tag>.<digest>` (see `isHandle`), or a key
 * derived from one that keeps its tag in front (the tiered store caches `<handle>.g<generation>`).
 * The tag picks the slot, so it must be one; the rest is printable ASCII of bounded length.
 */
export function isStoreHandle(value: unknown): value is string {
  return typeof value === "string" && STORE_HANDLE.test(value);
}

const STORE_HANDLE = /^[A-Za-z0-9_-]{4}\.[\x21-\x7e]{1,200}$/;

export function checkHandle(handle: unknown, operation: string): asserts handle is string {
  if (!isStoreHandle(handle)) {
    throw new SessionError(
      "ERR_SESSION_STATE",
      `${operation} got something that is not a session handle (<tag>.<digest>, printable ASCII); pass the handle the core computed.`,
    );
  }
}
