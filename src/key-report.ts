/**
 * What a key list does, for an operator (`npx cloakroom keys check`): which key seals, which
 * keys still open tickets and until when, which have retired, and what the next rotation
 * should look like. It parses with the keyring itself, so a list it accepts is one
 * `createSessions` accepts, refused with the same errors; it names keys by id, never by secret.
 *
 * @module
 */
import { Keyring, type KeysInput } from "./keyring.ts";
import { sealingKeyInOrder } from "./key-order.ts";

export type KeyRole = "seals" | "opens" | "retired";

export interface KeyReportEntry {
  id: string;
  /** 1-based place in the list. */
  position: number;
  /** `seals` new tickets (and opens); `opens` tickets only; `retired`: past its notAfter. */
  role: KeyRole;
  /** Epoch ms after which it opens nothing, or null when it has no end. */
  notAfter: number | null;
}

export interface KeyReport {
  keys: KeyReportEntry[];
  /** The key that seals now. */
  sealing: KeyReportEntry;
  /** What to do next, one sentence each. */
  next: string[];
}

export interface InspectKeysOptions {
  /** @default Date.now() */
  now?: number;
  /** The sessions' absolute timeout in seconds: how long an old key must keep opening tickets. @default 604800 */
  absoluteTimeout?: number;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, "Z");

/**
 * Refuses the lists createSessions refuses (key-order.ts), with the same errors.
 *
 * @example
 * const report = inspectKeys(process.env.SESSION_KEYS!);
 * console.log(`key "${report.sealing.id}" seals`);
 */
export function inspectKeys(input: KeysInput, options: InspectKeysOptions = {}): KeyReport {
  const now = options.now ?? Date.now();
  const absoluteMs = (options.absoluteTimeout ?? 604800) * 1000;
  const ring = new Keyring(input);
  const sealingKey = sealingKeyInOrder(ring, now);
  const keys = ring.keys.map((key, index): KeyReportEntry => ({
    id: key.id,
    position: index + 1,
    role: key === sealingKey ? "seals" : key.notAfter > now ? "opens" : "retired",
    notAfter: Number.isFinite(key.notAfter) ? key.notAfter : null,
  }));
  const sealing = keys.find((entry) => entry.role === "seals")!;
  const behind = keys.filter((entry) => entry.position > sealing.position && entry.role === "opens");

  const next: string[] = [];
  // A whole day, rounded up: a date an operator can type, never earlier than needed.
  const keepUntil = iso(Math.ceil((now + absoluteMs) / 86_400_000) * 86_400_000);
  const staged = behind.filter((entry) => entry.notAfter === null);
  if (staged.length > 0) {
    next.push(
      `key "${staged[0]!.id}" opens but does not seal yet (step 1 of a rolling rotation). Once every instance has it, move it to the front ` +
        `and give "${sealing.id}" a notAfter of ${keepUntil} or later (one absolute timeout from then).`,
    );
  } else {
    next.push(
      `next rotation: make a key (npx cloakroom keygen <id>) and put it in front; keep "${sealing.id}" after it with @${keepUntil} or later ` +
        `(one absolute timeout from the change), so tickets it sealed keep opening and are re-sealed under the new key. ` +
        "With several instances, list the new key second first, and move it to the front once every instance has it.",
    );
  }
  for (const entry of keys.filter((k) => k.role === "opens" && k.notAfter !== null)) {
    next.push(`key "${entry.id}" opens tickets until ${iso(entry.notAfter!)}; after that, drop it from the list.`);
  }
  for (const entry of keys.filter((k) => k.role === "retired")) {
    next.push(`key "${entry.id}" retired at ${iso(entry.notAfter!)}: tickets under it read as key-retired; drop it from the list.`);
  }
  return { keys, sealing, next };
}
