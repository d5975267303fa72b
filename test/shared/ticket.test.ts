import { describe, expect, it } from "vitest";
import { CompactEncrypt, base64url } from "jose";
import { generateKey } from "../../src/index.ts";
import { Keyring } from "../../src/keyring.ts";
import { openTicket, sealTicket } from "../../src/ticket.ts";

const now = Date.parse("2026-11-22T12:00:00Z");
const sid = `tag0.${base64url.encode(new Uint8Array(32).fill(7))}`;
const exp = Math.floor(now / 1000) + 3600;
const ring = new Keyring(`k2:${generateKey().split(":")[1]},k1:${generateKey().split(":")[1]}@2026-12-01`);
const k2 = ring.lookup("k2")!;
const encoder = new TextEncoder();

async function craft(header: Record<string, unknown>, payload: unknown, key?: CryptoKey | Uint8Array) {
  return new CompactEncrypt(encoder.encode(JSON.stringify(payload)))
    .setProtectedHeader(header as never)
    .encrypt(key ?? (await k2.ticketKey));
}

/** A real ticket with its protected header swapped: for headers jose itself will not produce. */
async function withHeader(header: Record<string, unknown>) {
  const parts = (await sealTicket({ sid, exp }, k2)).split(".");
  parts[0] = base64url.encode(JSON.stringify(header));
  return parts.join(".");
}

describe("ticket", () => {
  it("seals a compact dir/A256GCM JWE with the kid, and opens it", async () => {
    const ticket = await sealTicket({ sid, exp }, k2);
    const [header, encryptedKey, iv, , tag] = ticket.split(".");
    expect(JSON.parse(new TextDecoder().decode(base64url.decode(header!)))).toEqual({ alg: "dir", enc: "A256GCM", kid: "k2" });
    expect(encryptedKey).toBe("");
    expect(base64url.decode(iv!)).toHaveLength(12);
    expect(base64url.decode(tag!)).toHaveLength(16);
    expect(ticket).not.toContain(sid);
    const opened = await openTicket(ticket, ring, now);
    expect(opened).toMatchObject({ ok: true, claims: { sid, exp }, key: { id: "k2" } });
  });

  it("uses a fresh IV each time", async () => {
    expect(await sealTicket({ sid, exp }, k2)).not.toBe(await sealTicket({ sid, exp }, k2));
  });

  it("reads an expired ticket as expired", async () => {
    const ticket = await sealTicket({ sid, exp: Math.floor(now / 1000) - 1 }, k2);
    expect(await openTicket(ticket, ring, now)).toEqual({ ok: false, reason: "expired" });
  });

  it("tells an unknown key from a retired one", async () => {
    const other = new Keyring(`k9:${generateKey().split(":")[1]}`);
    const unknown = await sealTicket({ sid, exp }, other.lookup("k9")!);
    expect(await openTicket(unknown, ring, now)).toEqual({ ok: false, reason: "unknown-key" });
    const old = await sealTicket({ sid, exp }, ring.lookup("k1")!);
    expect((await openTicket(old, ring, now)).ok).toBe(true);
    expect(await openTicket(old, ring, Date.parse("2026-12-01T00:00:01Z"))).toEqual({ ok: false, reason: "key-retired" });
  });

  it("reads a ticket sealed under one key id with another key's secret as forged", async () => {
    const ticket = await craft({ alg: "dir", enc: "A256GCM", kid: "k1" }, { s: sid, e: exp });
    expect(await openTicket(ticket, ring, now)).toEqual({ ok: false, reason: "forged" });
  });

  it("refuses other algorithms, compression and extra headers before decrypting", async () => {
    const raw = base64url.decode(generateKey().split(":")[1]!);
    const tickets = [
      await craft({ alg: "dir", enc: "A256GCM", kid: "k2", zip: "DEF" }, { s: sid, e: exp }),
      await craft({ alg: "dir", enc: "A128CBC-HS256", kid: "k2" }, { s: sid, e: exp }, raw),
      await craft({ alg: "A256KW", enc: "A256GCM", kid: "k2" }, { s: sid, e: exp }, raw),
      await withHeader({ alg: "dir", enc: "A256GCM", kid: "k2", crit: ["exp"], exp: 1 }),
      await withHeader({ alg: "dir", enc: "A256GCM", kid: "k2", typ: "JWT" }),
      await withHeader({ alg: "none", enc: "A256GCM", kid: "k2" }),
    ];
    for (const ticket of tickets) {
      expect(await openTicket(ticket, ring, now), ticket).toEqual({ ok: false, reason: "forged" });
    }
  });

  it("reads structural damage as malformed", async () => {
    const ticket = await sealTicket({ sid, exp }, k2);
    const parts = ticket.split(".");
    const variants = [
      "",
      "a.b.c.d",
      parts.slice(0, 4).join("."),
      [...parts, "x"].join("."),
      ticket.replace(".", ".x"),
      `${parts[0]}..${parts[2]}!.${parts[3]}.${parts[4]}`,
      `e30..${parts[2]}.${parts[3]}.${parts[4]}`,
      `bm90IGpzb24..${parts[2]}.${parts[3]}.${parts[4]}`,
      `${base64url.encode('{"alg":"dir","enc":"A256GCM","kid":7}')}..${parts[2]}.${parts[3]}.${parts[4]}`,
    ];
    for (const variant of variants) {
      const opened = await openTicket(variant, ring, now);
      expect(opened.ok, variant).toBe(false);
      expect(["malformed", "forged"]).toContain((opened as { reason: string }).reason);
    }
  });

  it("accepts only the canonical spelling, so one ticket is one string", async () => {
    const ticket = await sealTicket({ sid, exp }, k2);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(ticket.at(-1)!);
    expect(last & 0b1111).toBe(0);
    // Setting a spare bit of the tag's last character leaves the decoded bytes unchanged.
    const respelled = ticket.slice(0, -1) + alphabet[last | 1];
    expect(base64url.decode(respelled.split(".")[4]!)).toEqual(base64url.decode(ticket.split(".")[4]!));
    expect(await openTicket(respelled, ring, now)).toEqual({ ok: false, reason: "malformed" });
  });

  it("reads an authentic ticket with a payload that is not ours as malformed", async () => {
    for (const payload of [{ s: "short", e: exp }, { s: base64url.encode(new Uint8Array(32)), e: exp }, { s: sid }, { s: sid, e: "soon" }, [1, 2], null]) {
      const ticket = await craft({ alg: "dir", enc: "A256GCM", kid: "k2" }, payload);
      expect(await openTicket(ticket, ring, now)).toEqual({ ok: false, reason: "malformed" });
    }
  });
});
