/**
 * The checks a key list passes before anything seals with it, shared by `createSessions` and
 * `inspectKeys` (`npx cloakroom keys check`) so both refuse the same lists with the same errors.
 *
 * @module
 */
import { SessionError } from "./errors.ts";
import type { Keyring, RingKey } from "./keyring.ts";

export const NO_ACTIVE_KEY =
  "every key's notAfter has passed, so no key can seal a ticket. Add a new key in front: npx cloakroom keygen";

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, "Z");
const until = (key: RingKey) => (Number.isFinite(key.notAfter) ? iso(key.notAfter) : "no end");

/**
 * The key that seals at `now`. Refuses a list where every key has retired, and one whose
 * sealing key retires before a key listed after it: once it retires, that older key would seal
 * again (the usual slip is a new key appended instead of put in front), and every ticket the
 * retired key sealed would read as key-retired, a sign-out.
 */
export function sealingKeyInOrder(ring: Keyring, now: number): RingKey {
  const sealing = ring.sealingKey(now);
  if (!sealing) throw new SessionError("ERR_SESSION_NO_ACTIVE_KEY", NO_ACTIVE_KEY);
  const behind = ring.keys.slice(ring.keys.indexOf(sealing) + 1).filter((key) => key.notAfter > now);
  const outlives = behind.find((key) => key.notAfter > sealing.notAfter);
  if (outlives) {
    throw new SessionError(
      "ERR_SESSION_KEYS",
      `key "${sealing.id}" seals now but retires at ${until(sealing)}, before key "${outlives.id}" listed after it (${until(outlives)}), ` +
        `which would then seal again. List keys newest first: the key that seals in front with no notAfter, older keys after it with theirs.`,
    );
  }
  return sealing;
}
