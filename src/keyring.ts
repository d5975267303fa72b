/**
 * Versioned keys. Keys are listed newest first; the first key whose `notAfter` has not passed
 * seals new tickets, and every key still inside its `notAfter` opens them. Secrets are turned
 * into purpose-bound AES-GCM keys with HKDF once, at start-up, so no request pays for key
 * derivation or import.
 *
 * @module
 */
import { base64url } from "jose";
import { SessionError } from "./errors.ts";

/** One key as the application supplies it. */
export interface KeyInput {
  /** Short public name, written into every ticket's `kid` header. `[A-Za-z0-9._-]{1,64}`. */
  id: string;
  /** base64url of at least 32 random bytes. Make one with `npx cloakroom keygen`. */
  secret: string;
  /** After this instant the key no longer seals or opens anything (end of its grace window). */
  notAfter?: Date | string | number;
}

/** A key list: one `SESSION_KEYS`-style string, or an array of keys, newest first. */
export type KeysInput = string | readonly KeyInput[];

export interface RingKey {
  readonly id: string;
  /** Epoch ms, or `Infinity` when the key has no end. */
  readonly notAfter: number;
  readonly ticketKey: Promise<CryptoKey>;
  /**
   * The AES-GCM key of another purpose (resume tokens), derived with its own HKDF label on
   * first use and kept: a key never serves two (a ticket does not open as a resume token).
   */
  aesKey(purpose: KeyPurpose): Promise<CryptoKey>;
  /**
   * An HMAC-SHA-256 key for one more purpose (device-bound sessions' challenges and bound
   * cookies), derived with its own HKDF label on first use and kept: a key never serves two.
   */
  hmacKey(purpose: HmacPurpose): Promise<CryptoKey>;
}

/** What the keyring derives HMAC keys for, beside tickets. */
export type HmacPurpose = "dbsc-challenge" | "dbsc-cookie";

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const MIN_SECRET_BYTES = 32;
const keygenHint = "Make one with: npx cloakroom keygen";

/** HKDF labels: one derived key per purpose, so a key never serves two algorithms. */
const HKDF_SALT = new TextEncoder().encode("cloakroom");
const TICKET_INFO = new TextEncoder().encode("cloakroom/v1/ticket A256GCM");
const PURPOSE_INFO = {
  /** Resume tokens of the replay log (src/replay/): never opened as a ticket, nor a ticket as one. */
  resume: new TextEncoder().encode("cloakroom/v1/resume A256GCM"),
} as const;

/** A purpose other than tickets that has a key of its own. */
export type KeyPurpose = keyof typeof PURPOSE_INFO;

/**
 * Parses `"id:secret,id:secret@2026-12-01T00:00:00Z"`. Errors name the entry by position and
 * id, never by its secret.
 *
 * @example
 * parseKeys("2026-11:Qm9v...,2026-10:c2Vj...@2026-12-01")
 */
export function parseKeys(input: string): KeyInput[] {
  const entries = input.split(",").map((entry) => entry.trim());
  if (entries.length === 1 && entries[0] === "") {
    throw new SessionError("ERR_SESSION_KEYS", `the key list is empty. ${keygenHint}`);
  }
  return entries.map((entry, index) => {
    const at = entry.indexOf("@");
    const pair = at === -1 ? entry : entry.slice(0, at);
    const colon = pair.indexOf(":");
    if (colon <= 0 || colon === pair.length - 1) {
      throw new SessionError(
        "ERR_SESSION_KEYS",
        `key entry ${index + 1} is not in the form id:secret or id:secret@notAfter. ${keygenHint}`,
      );
    }
    const key: KeyInput = { id: pair.slice(0, colon), secret: pair.slice(colon + 1) };
    if (at !== -1) key.notAfter = entry.slice(at + 1);
    return key;
  });
}

/**
 * A key is named by its id, unless the id could be a secret (an entry written secret:id by
 * mistake): secrets are at least 43 characters, so a long "id" is named by position instead.
 */
function describe(index: number, id: unknown): string {
  return typeof id === "string" && KEY_ID.test(id) && id.length < 32 ? `key "${id}"` : `key entry ${index + 1}`;
}

function toEpoch(notAfter: KeyInput["notAfter"], label: string): number {
  if (notAfter === undefined) return Infinity;
  const value =
    notAfter instanceof Date ? notAfter.getTime()
    : typeof notAfter === "number" ? notAfter
    : typeof notAfter === "string" && notAfter.trim() !== "" ? Date.parse(notAfter.trim())
    : NaN;
  if (!Number.isFinite(value)) {
    throw new SessionError(
      "ERR_SESSION_KEYS",
      `${label} has a notAfter that is not a date; use ISO 8601, for example 2026-12-01T00:00:00Z.`,
    );
  }
  return value;
}

function decodeSecret(secret: unknown, label: string): Uint8Array {
  if (typeof secret !== "string" || !BASE64URL.test(secret) || secret.length % 4 === 1) {
    throw new SessionError(
      "ERR_SESSION_KEYS",
      `${label} has a secret that is not base64url. ${keygenHint}`,
    );
  }
  const bytes = base64url.decode(secret);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new SessionError(
      "ERR_SESSION_KEYS",
      `${label} has a secret of ${bytes.length} bytes; a secret must be at least ${MIN_SECRET_BYTES} random bytes. ${keygenHint}`,
    );
  }
  // A typed-in passphrase can decode to 32 bytes but repeats a handful of values; random
  // bytes of this length practically never have fewer than 16 distinct values.
  if (new Set(bytes).size < 16) {
    throw new SessionError(
      "ERR_SESSION_KEYS",
      `${label} has a secret that does not look random. ${keygenHint}`,
    );
  }
  return bytes;
}

function importBase(secret: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", secret as BufferSource, "HKDF", false, ["deriveKey"]);
}

async function deriveAesKey(base: Promise<CryptoKey>, info: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: HKDF_SALT, info: info as BufferSource },
    await base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

async function deriveHmacKey(base: Promise<CryptoKey>, purpose: HmacPurpose): Promise<CryptoKey> {
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: HKDF_SALT, info: new TextEncoder().encode(`cloakroom/v1/${purpose} HS256`) },
    await base,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign", "verify"],
  );
}

export class Keyring {
  readonly keys: readonly RingKey[];
  readonly #byId: Map<string, RingKey>;

  constructor(input: KeysInput) {
    const list = typeof input === "string" ? parseKeys(input) : input;
    if (!Array.isArray(list) || list.length === 0) {
      throw new SessionError(
        "ERR_SESSION_KEYS",
        `keys must be a non-empty "id:secret,..." string or an array of { id, secret, notAfter? }. ${keygenHint}`,
      );
    }
    this.#byId = new Map();
    this.keys = list.map((key: KeyInput, index: number) => {
      const label = describe(index, key?.id);
      if (typeof key?.id !== "string" || !KEY_ID.test(key.id)) {
        throw new SessionError(
          "ERR_SESSION_KEYS",
          `${label} needs an id of 1-64 characters from A-Z a-z 0-9 . _ -`,
        );
      }
      if (this.#byId.has(key.id)) {
        throw new SessionError(
          "ERR_SESSION_KEYS",
          `${label} appears twice; key ids must be unique and never reused.`,
        );
      }
      const baseKey = importBase(decodeSecret(key.secret, label));
      const ticketKey = deriveAesKey(baseKey, TICKET_INFO);
      // Derivation of valid bytes does not fail; if a runtime lacks HKDF, the error surfaces
      // on first use instead of as an unhandled rejection at start-up.
      baseKey.catch(() => {});
      ticketKey.catch(() => {});
      // One cache of derived keys per ring key; purposes have distinct names across both kinds.
      const derived = new Map<KeyPurpose | HmacPurpose, Promise<CryptoKey>>();
      const once = (purpose: KeyPurpose | HmacPurpose, derive: () => Promise<CryptoKey>) => {
        let found = derived.get(purpose);
        if (!found) derived.set(purpose, (found = derive()));
        return found;
      };
      const ringKey: RingKey = {
        id: key.id,
        notAfter: toEpoch(key.notAfter, label),
        ticketKey,
        aesKey: (purpose) => once(purpose, () => deriveAesKey(baseKey, PURPOSE_INFO[purpose])),
        hmacKey: (purpose) => once(purpose, () => deriveHmacKey(baseKey, purpose)),
      };
      this.#byId.set(key.id, ringKey);
      return ringKey;
    });
  }

  /** The newest key still inside its window, or undefined when every key has retired. */
  sealingKey(now: number): RingKey | undefined {
    for (const key of this.keys) if (key.notAfter > now) return key;
    return undefined;
  }

  /** Exact-match lookup; `kid` never reaches anything but this map. */
  lookup(kid: string): RingKey | undefined {
    return this.#byId.get(kid);
  }
}

/**
 * A new key entry for `SESSION_KEYS`: `id:secret` with 32 random bytes.
 *
 * @example
 * generateKey("2026-11") // "2026-11:9yV0..."
 */
export function generateKey(id: string = new Date().toISOString().slice(0, 10)): string {
  if (!KEY_ID.test(id)) {
    throw new SessionError("ERR_SESSION_KEYS", `key id "${id}" must be 1-64 characters from A-Z a-z 0-9 . _ -`);
  }
  return `${id}:${base64url.encode(crypto.getRandomValues(new Uint8Array(MIN_SECRET_BYTES)))}`;
}
