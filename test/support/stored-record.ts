/**
 * Hand edits of a session as Redis holds it (one string, adapters/redis/record-codec.ts), for
 * tests that check what the adapters do with a value they did not write. Web-standard: the
 * workerd and Deno cases use it too.
 *
 * Test harness only; not part of the package.
 */
import { HEAD_FIELDS } from "../../adapters/redis/record-codec.ts";

export type StoredField = (typeof HEAD_FIELDS)[number] | "data" | "userId";

/** The session string with one field replaced, as a hand edit on the server would leave it. */
export function withField(stored: string, field: StoredField, value: string): string {
  const headEnd = stored.indexOf("\n");
  const dataEnd = stored.indexOf("\n", headEnd + 1);
  if (headEnd < 0 || dataEnd < 0) throw new Error("withField: not a session string");
  const head = stored.slice(0, headEnd).split(" ");
  let data = stored.slice(headEnd + 1, dataEnd);
  let userId = stored.slice(dataEnd + 1);
  if (field === "data") data = value;
  else if (field === "userId") userId = value;
  else head[HEAD_FIELDS.indexOf(field)] = value;
  return `${head.join(" ")}\n${data}\n${userId}`;
}

/** Sends one command to Redis directly (not through an adapter). */
export type RawCommand = (...command: [string, ...string[]]) => Promise<unknown>;

/** Replaces one field of the session string under `key` in place, keeping the key's expiry. */
export async function editStored(run: RawCommand, key: string, field: StoredField, value: string): Promise<void> {
  const stored = await run("GET", key);
  // A RESP client may hand bulk strings back as bytes.
  if (stored === null || stored === undefined) throw new Error(`editStored: nothing under ${key}`);
  await run("SET", key, withField(String(stored), field, value), "KEEPTTL");
}
