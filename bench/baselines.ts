/**
 * What cloakroom is compared with, measured in the same run: the Web Crypto calls a JWE ticket
 * costs at least, a plain Map.get (what a repeat visitor's ticket lookup should cost), and
 * iron-session, which derives its keys on every seal and unseal.
 *
 * @module
 */
import { sealData, unsealData } from "iron-session";
import type { Scenario } from "./scenario.ts";

/** A ticket's plaintext is `{"s":"<43 chars>","e":<10 digits>}`: 66 bytes. Same size here. */
export const TICKET_PLAINTEXT = new TextEncoder().encode(
  JSON.stringify({ s: "x".repeat(43), e: 1_800_000_000 }),
);

/** Not a secret: iron-session only asks for 32 characters or more. */
const IRON_PASSWORD = "cloakroom-bench-password-of-at-least-32-chars";

export async function baselines(): Promise<Scenario[]> {
  const key = await crypto.subtle.importKey(
    "raw", crypto.getRandomValues(new Uint8Array(32)), "AES-GCM", false, ["encrypt", "decrypt"],
  );
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, TICKET_PLAINTEXT);

  // As many keys as the request lines have visitors; keys are ticket-sized strings.
  const keys = Array.from({ length: 1024 }, (_, i) => `${"t".repeat(180)}${i}`);
  const map = new Map(keys.map((k, i) => [k, { handle: `h${i}` }]));
  let next = 0;

  const ironData = { userId: "user-1", count: 1 };
  const seal = await sealData(ironData, { password: IRON_PASSWORD });

  return [
    {
      id: "map-get", group: "baseline", label: "Map.get, 1 024 string keys, hit",
      batch: 1000,
      run: () => map.get(keys[next++ & 1023]!),
    },
    {
      id: "aes-decrypt", group: "baseline", label: "crypto.subtle.decrypt AES-256-GCM, 66 B",
      run: () => crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, ciphertext),
    },
    {
      id: "aes-encrypt", group: "baseline", label: "crypto.subtle.encrypt AES-256-GCM, 66 B",
      // A fresh IV per seal, as jose and any correct AES-GCM user does.
      run: () => crypto.subtle.encrypt({ name: "AES-GCM", iv: crypto.getRandomValues(new Uint8Array(12)) }, key, TICKET_PLAINTEXT),
    },
    {
      id: "iron-unseal", group: "baseline", label: "iron-session unsealData, small payload",
      run: () => unsealData(seal, { password: IRON_PASSWORD }),
      inspect: (result) => ({ problem: (result as typeof ironData).userId === "user-1" ? undefined : "unseal returned no data" }),
    },
    {
      id: "iron-seal", group: "baseline", label: "iron-session sealData, small payload",
      run: () => sealData(ironData, { password: IRON_PASSWORD }),
    },
  ];
}
