/**
 * Bad input on the read path. Every case must read as "no session" with an `invalid` event
 * whose reason the session also reports; none may throw, and none may reach the store.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CompactEncrypt, base64url } from "jose";
import { generateKey, type InvalidReason } from "../../src/index.ts";
import { Keyring } from "../../src/keyring.ts";
import { cookieFrom, setup, signIn } from "./helpers.ts";

const REASONS: InvalidReason[] = ["malformed", "forged", "unknown-key", "key-retired", "expired", "too-large"];
const encoder = new TextEncoder();

async function world() {
  const oldKey = generateKey("old");
  const keys = `${generateKey("new")},${oldKey}@2026-11-23T00:00:00Z`;
  const env = setup({ keys });
  const valid = cookieFrom(await signIn(env.sessions, "ann")).split("=")[1]!;
  const ring = new Keyring(keys);
  /** Reads `cookie`, checks the invariants, returns the reason. */
  async function expectRejected(cookie: string, allowed: readonly InvalidReason[] = REASONS): Promise<InvalidReason> {
    const eventsBefore = env.events.length;
    const stored = env.store.total();
    const session = await env.sessions.read(cookie);
    expect(session.userId).toBeNull();
    expect(session.isNew).toBe(true);
    const reason = session.invalidReason!;
    expect(allowed).toContain(reason);
    expect(env.events.slice(eventsBefore)).toEqual([{ type: "invalid", reason }, { type: "read", outcome: "invalid" }]);
    expect(env.store.total()).toBe(stored);
    return reason;
  }
  return { ...env, valid, ring, expectRejected };
}

/** What a ticket may claim: the real claims' shape, and anything else JSON can hold. */
const claims = fc.oneof(
  fc.record({ s: fc.string({ maxLength: 60 }), e: fc.integer({ min: 0, max: 4_102_444_800 }) }),
  fc.record({ sid: fc.string({ maxLength: 60 }), exp: fc.integer() }),
  fc.jsonValue(),
);

async function jwe(header: Record<string, unknown>, key: CryptoKey | Uint8Array, payload: unknown = { s: "a".repeat(43), e: 4102444800 }) {
  return new CompactEncrypt(encoder.encode(JSON.stringify(payload))).setProtectedHeader(header as never).encrypt(key);
}

describe("bad input reads as no session, never throws, never reaches the store", () => {
  it("random strings", async () => {
    const { expectRejected } = await world();
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary", minLength: 1, maxLength: 600 }), async (value) => {
        const cleaned = value.replace(/[;,\s"\\]/g, "").replace(/^=+/, "");
        if (cleaned === "") return;
        await expectRejected(`__Host-session=${cleaned}`);
      }),
      { numRuns: 200 },
    );
  });

  it("random bytes shaped as five base64url segments", async () => {
    const { expectRejected } = await world();
    const segment = fc.uint8Array({ maxLength: 120 }).map((bytes) => base64url.encode(bytes));
    await fc.assert(
      fc.asyncProperty(fc.tuple(segment, segment, segment, segment, segment), async (parts) => {
        await expectRejected(`__Host-session=${parts.join(".")}`, ["malformed", "forged"]);
      }),
      { numRuns: 200 },
    );
  });

  it("every truncation of a valid ticket", async () => {
    const { valid, expectRejected } = await world();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: valid.length - 1 }), async (length) => {
        await expectRejected(`__Host-session=${valid.slice(0, length)}`, ["malformed", "forged"]);
      }),
    );
  });

  it("any one character of a valid ticket changed", async () => {
    const { valid, expectRejected } = await world();
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: valid.length - 1 }), fc.constantFrom(...alphabet), async (at, char) => {
        if (valid[at] === char) return;
        const forged = valid.slice(0, at) + char + valid.slice(at + 1);
        await expectRejected(`__Host-session=${forged}`, ["malformed", "forged", "unknown-key"]);
      }),
      { numRuns: 300 },
    );
  });

  it("oversized tickets, before any decoding", async () => {
    const { valid, expectRejected } = await world();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 4096 - "__Host-session=".length + 1, max: 20_000 }), async (length) => {
        const padded = (valid + ".").padEnd(length, "A");
        expect(await expectRejected(`__Host-session=${padded}`)).toBe("too-large");
      }),
      { numRuns: 30 },
    );
  });

  it("unknown key ids, including path-like ones, over any claims", async () => {
    const { expectRejected } = await world();
    const stranger = await new Keyring(generateKey("stranger")).lookup("stranger")!.ticketKey;
    const kid = fc.oneof(
      fc.constantFrom("stranger", "../../etc/passwd", "", "x".repeat(500), "__proto__", "constructor", "NEW", "new "),
      fc.string({ maxLength: 80 }).filter((id) => id !== "new" && id !== "old"),
    );
    await fc.assert(
      fc.asyncProperty(kid, claims, async (id, payload) => {
        expect(await expectRejected(`__Host-session=${await jwe({ alg: "dir", enc: "A256GCM", kid: id }, stranger, payload)}`)).toBe("unknown-key");
      }),
      { numRuns: 60 },
    );
  });

  it("tickets sealed with the old key after its notAfter, whatever they claim", async () => {
    const env = await world();
    const oldKey = await env.ring.lookup("old")!.ticketKey;
    env.clock.set(Date.parse("2026-11-23T00:00:01Z"));
    await fc.assert(
      fc.asyncProperty(claims, async (payload) => {
        const oldTicket = await jwe({ alg: "dir", enc: "A256GCM", kid: "old" }, oldKey, payload);
        expect(await env.expectRejected(`__Host-session=${oldTicket}`)).toBe("key-retired");
      }),
      { numRuns: 30 },
    );
  });

  it("algorithm swaps, compression, PBES2 and A256KW with the same secret, over any claims", async () => {
    const { expectRejected, ring, keys } = await world();
    const secret = base64url.decode(keys.split(",")[0]!.split(":")[1]!);
    const ticketKey = await ring.lookup("new")!.ticketKey;
    const attacks: Array<[string, Record<string, unknown>, CryptoKey | Uint8Array]> = [
      ["compressed", { alg: "dir", enc: "A256GCM", kid: "new", zip: "DEF" }, ticketKey],
      ["another enc (CBC)", { alg: "dir", enc: "A256CBC-HS512", kid: "new" }, new Uint8Array(64).fill(1)],
      ["a weaker enc", { alg: "dir", enc: "A128GCM", kid: "new" }, secret.slice(0, 16)],
      ["A256KW with the same secret", { alg: "A256KW", enc: "A256GCM", kid: "new" }, secret],
      ["A256GCMKW with the same secret", { alg: "A256GCMKW", enc: "A256GCM", kid: "new" }, secret],
      ["PBES2", { alg: "PBES2-HS256+A128KW", enc: "A256GCM", kid: "new", p2c: 1000, p2s: base64url.encode(new Uint8Array(16)) }, secret],
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...attacks), claims, async ([what, header, key], payload) => {
        expect(await expectRejected(`__Host-session=${await jwe(header, key, payload)}`), what).toBe("forged");
      }),
      { numRuns: 60 },
    );
  });

  it("a JWS or an unsecured JWT where a JWE belongs", async () => {
    const { expectRejected } = await world();
    const unsecured = `${base64url.encode('{"alg":"none"}')}.${base64url.encode('{"s":"x"}')}.`;
    await expectRejected(`__Host-session=${unsecured}`, ["malformed"]);
  });

  it("a valid ticket under another cookie name is not ours (no session, no store call, no event)", async () => {
    const { sessions, valid, store, events } = await world();
    const before = [store.total(), events.length];
    const names = ["session", "__host-session", "__Host-session2", "x__Host-session"];
    for (const name of names) {
      const session = await sessions.read(`${name}=${valid}`);
      expect(session.userId).toBeNull();
      expect(session.invalidReason).toBeNull();
    }
    expect(store.total()).toBe(before[0]);
    expect(events.slice(before[1])).toEqual(names.map(() => ({ type: "read", outcome: "anonymous" })));
  });

  it("many cookies, and duplicates of ours", async () => {
    const { sessions, valid, expectRejected } = await world();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/), fc.stringMatching(/^[A-Za-z0-9._-]{0,40}$/)), { maxLength: 150 }), async (pairs) => {
        const others = pairs.filter(([name]) => name !== "__Host-session").map(([name, value]) => `${name}=${value}`);
        const withValid = [...others, `__Host-session=${valid}`].join("; ");
        expect((await sessions.read(withValid)).userId).toBe("ann");
        // The last of two cookies with our name is the one read, as Next's cookies() reads it
        // (so a proxy and a page agree); a bad last one is no session.
        expect((await sessions.read([...others, "__Host-session=garbage", `__Host-session=${valid}`].join("; "))).userId).toBe("ann");
        await expectRejected([...others, `__Host-session=${valid}`, "__Host-session=garbage"].join("; "), ["malformed"]);
      }),
      { numRuns: 50 },
    );
  });

  it("odd sources never throw", async () => {
    const { sessions, store } = await world();
    const before = store.total();
    const sources = [undefined, null, 42, {}, [], { headers: {} }, { get: () => 7 }, { get: () => { throw new Error("boom"); } }, new Headers(), ""];
    for (const source of sources) expect((await sessions.read(source as never)).userId).toBeNull();
    expect(store.total()).toBe(before);
  });
});
