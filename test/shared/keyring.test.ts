import { describe, expect, it } from "vitest";
import { base64url } from "jose";
import { generateKey, parseKeys, SessionError } from "../../src/index.ts";
import { Keyring } from "../../src/keyring.ts";

const secret = () => generateKey("x").slice(2);

function errorOf(run: () => unknown): SessionError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SessionError);
    return error as SessionError;
  }
  throw new Error("expected a SessionError");
}

describe("keys", () => {
  it("generateKey makes an id:secret entry with 32 random bytes", () => {
    const entry = generateKey("2026-11");
    const [id, value] = entry.split(":");
    expect(id).toBe("2026-11");
    expect(base64url.decode(value!)).toHaveLength(32);
    expect(generateKey("2026-11")).not.toBe(entry);
    expect(generateKey()).toMatch(/^\d{4}-\d{2}-\d{2}:[A-Za-z0-9_-]{43}$/);
  });

  it("parses the environment form, with and without notAfter", () => {
    const [a, b] = [secret(), secret()];
    expect(parseKeys(` new:${a} , old:${b}@2026-12-01T00:00:00Z `)).toEqual([
      { id: "new", secret: a },
      { id: "old", secret: b, notAfter: "2026-12-01T00:00:00Z" },
    ]);
  });

  it("seals with the newest key still in its window and opens with every key in it", () => {
    const now = Date.parse("2026-11-22T00:00:00Z");
    const ring = new Keyring(`k3:${secret()}@2026-11-01,k2:${secret()},k1:${secret()}@2026-12-01`);
    expect(ring.sealingKey(now)?.id).toBe("k2");
    expect(ring.lookup("k1")?.notAfter).toBe(Date.parse("2026-12-01"));
    expect(ring.lookup("k9")).toBeUndefined();
    expect(new Keyring([{ id: "only", secret: secret(), notAfter: new Date(now - 1) }]).sealingKey(now)).toBeUndefined();
  });

  it("accepts the array form with Date, number and string notAfter", () => {
    const ring = new Keyring([
      { id: "a", secret: secret() },
      { id: "b", secret: secret(), notAfter: new Date("2030-01-01") },
      { id: "c", secret: secret(), notAfter: Date.parse("2030-01-01") },
      { id: "d", secret: secret(), notAfter: "2030-01-01" },
    ]);
    expect(ring.keys.map((k) => k.notAfter)).toEqual([Infinity, 1893456000000, 1893456000000, 1893456000000]);
  });

  it("refuses a short secret, naming the key id and never the secret", () => {
    const short = base64url.encode(crypto.getRandomValues(new Uint8Array(16)));
    const error = errorOf(() => new Keyring(`good:${secret()},weak:${short}`));
    expect(error.code).toBe("ERR_SESSION_KEYS");
    expect(error.message).toContain('key "weak"');
    expect(error.message).toContain("16 bytes");
    expect(error.message).toContain("npx cloakroom keygen");
    expect(error.message).not.toContain(short);
  });

  it("refuses a passphrase that decodes to enough bytes but is not random", () => {
    const phrase = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const error = errorOf(() => new Keyring([{ id: "pw", secret: phrase }]));
    expect(error.message).toContain('key "pw"');
    expect(error.message).not.toContain(phrase);
  });

  it("never quotes a secret written where the id belongs", () => {
    const value = secret();
    const error = errorOf(() => new Keyring(`${value}:2026-11`));
    expect(error.message).toContain("key entry 1");
    expect(error.message).not.toContain(value);
  });

  it("names the bad entry by position when its form is wrong", () => {
    const good = secret();
    for (const [input, position] of [
      [`a:${good},${good}`, 2],
      [`a:${good},b:`, 2],
      [`:${good}`, 1],
    ] as const) {
      const error = errorOf(() => parseKeys(input));
      expect(error.message).toContain(`key entry ${position}`);
      expect(error.message).not.toContain(good);
    }
    expect(errorOf(() => parseKeys("")).message).toContain("empty");
  });

  it("refuses non-base64url secrets, bad ids, duplicate ids and bad dates", () => {
    const good = secret();
    expect(errorOf(() => new Keyring(`a:${good.slice(0, 40)}+/==`)).message).toContain("not base64url");
    expect(errorOf(() => new Keyring([{ id: "has space", secret: good }])).message).toContain("key entry 1");
    expect(errorOf(() => new Keyring(`a:${good},a:${secret()}`)).message).toContain("twice");
    expect(errorOf(() => new Keyring(`a:${good}@next-tuesday`)).message).toContain("not a date");
    expect(errorOf(() => new Keyring([])).code).toBe("ERR_SESSION_KEYS");
    expect(errorOf(() => generateKey("no spaces")).code).toBe("ERR_SESSION_KEYS");
  });

  it("derives a different ticket key per secret, usable for AES-GCM only", async () => {
    const ring = new Keyring(`a:${secret()},b:${secret()}`);
    const key = await ring.lookup("a")!.ticketKey;
    expect(key.algorithm).toMatchObject({ name: "AES-GCM", length: 256 });
    expect(key.extractable).toBe(false);
    expect([...key.usages].sort()).toEqual(["decrypt", "encrypt"]);
    const iv = new Uint8Array(12);
    const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new Uint8Array([1]));
    await expect(crypto.subtle.decrypt({ name: "AES-GCM", iv }, await ring.lookup("b")!.ticketKey, sealed)).rejects.toThrow();
  });
});
