/**
 * Counts calls to chosen methods by wrapping them in place, then puts the originals back.
 * Used on `crypto.subtle` (every Web Crypto call is a thread-pool hop on Node, see DESIGN.md
 * §5a) and on a memory store. Counting runs in its own pass, never while timing, so the
 * wrappers never add to a timed figure.
 *
 * @module
 */

export interface CallCounter {
  /** Calls per method name since the counter started. */
  readonly counts: Readonly<Record<string, number>>;
  total(): number;
  /** Restores the original methods. */
  stop(): void;
}

export function countCalls(target: object, names: readonly string[]): CallCounter {
  const methods = target as Record<string, unknown>;
  const counts: Record<string, number> = {};
  const restore: Array<() => void> = [];
  for (const name of names) {
    const original = methods[name];
    if (typeof original !== "function") continue;
    // crypto.subtle's methods live on its prototype: deleting the own wrapper restores them.
    const own = Object.hasOwn(target, name);
    counts[name] = 0;
    methods[name] = function (this: unknown, ...args: unknown[]) {
      counts[name]!++;
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
    restore.push(() => {
      if (own) methods[name] = original;
      else delete methods[name];
    });
  }
  return {
    counts,
    total: () => Object.values(counts).reduce((sum, count) => sum + count, 0),
    stop: () => restore.forEach((undo) => undo()),
  };
}

/** Every SubtleCrypto method; jose, iron-webcrypto and cloakroom call these as `crypto.subtle.x(...)`. */
export const WEB_CRYPTO_METHODS = [
  "decrypt", "encrypt", "digest", "importKey", "deriveKey", "deriveBits",
  "sign", "verify", "generateKey", "exportKey", "wrapKey", "unwrapKey",
] as const;

export const STORE_METHODS = ["read", "write", "delete", "listUser", "revokeUser", "increment", "health"] as const;

export function countWebCrypto(): CallCounter {
  return countCalls(globalThis.crypto.subtle, WEB_CRYPTO_METHODS);
}
