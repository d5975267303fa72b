/**
 * The hot path: a repeat visitor's request must not wait on Web Crypto (on Node each call is a
 * thread-pool hop). Counted by spying on crypto.subtle, which only Node lets us do portably.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { generateKey } from "../../src/index.ts";
import { setup, signIn } from "../shared/helpers.ts";

function spyCrypto() {
  const subtle = globalThis.crypto.subtle;
  return {
    decrypt: vi.spyOn(subtle, "decrypt"),
    encrypt: vi.spyOn(subtle, "encrypt"),
    digest: vi.spyOn(subtle, "digest"),
    total() {
      return this.decrypt.mock.calls.length + this.encrypt.mock.calls.length + this.digest.mock.calls.length;
    },
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("ticket cache", () => {
  it("serves a repeat visitor with no crypto at all, from the first request after sign-in", async () => {
    const { sessions } = setup();
    const cookie = await signIn(sessions, "ann");
    const spies = spyCrypto();
    for (let i = 0; i < 20; i++) {
      const session = await sessions.read(cookie);
      expect(session.userId).toBe("ann");
      expect(await sessions.commit(session)).toBeNull();
    }
    expect(spies.total()).toBe(0);
  });

  it("opens a ticket it has not seen once, then remembers it", async () => {
    const sealer = setup();
    const cookie = await signIn(sealer.sessions, "ann");
    // A second process with the same keys and store has not seen the ticket.
    const { sessions } = setup({ keys: sealer.keys, store: sealer.store, clock: sealer.clock });
    const spies = spyCrypto();
    await sessions.read(cookie);
    expect(spies.decrypt).toHaveBeenCalledTimes(1);
    expect(spies.digest).toHaveBeenCalledTimes(1);
    await sessions.read(cookie);
    await sessions.read(cookie);
    expect(spies.total()).toBe(2);
  });

  it("does not remember forged strings, so they cannot flush it", async () => {
    const { sessions } = setup();
    const cookie = await signIn(sessions, "ann");
    const [name, ticket] = cookie.split("=");
    const forged = `${name}=${ticket!.slice(0, -3)}AAA`;
    const spies = spyCrypto();
    await sessions.read(forged);
    await sessions.read(forged);
    expect(spies.decrypt).toHaveBeenCalledTimes(2);
    expect((await sessions.read(cookie)).userId).toBe("ann");
    expect(spies.decrypt).toHaveBeenCalledTimes(2);
  });

  it("matches the whole ticket: a string that shares a remembered ticket's tail is opened and refused", async () => {
    const { sessions } = setup();
    const cookie = await signIn(sessions, "ann");
    const [name, ticket] = cookie.split("=");
    // The same authentication tag (the last segment), another header: not the remembered ticket.
    const forged = `${name}=${ticket!.startsWith("e") ? "f" : "e"}${ticket!.slice(1)}`;
    const spies = spyCrypto();
    const read = await sessions.read(forged);
    expect(read.userId).toBeNull();
    expect(read.invalidReason).not.toBeNull();
    expect((await sessions.read(cookie)).userId).toBe("ann");
    // Opening the forgery was tried (or refused before any crypto); the real ticket cost none.
    expect(spies.decrypt.mock.calls.length).toBeLessThanOrEqual(1);
    const again = spyCrypto();
    await sessions.read(cookie);
    expect(again.total()).toBe(0);
  });

  it("is bounded: past its size the least recently used ticket is opened again", async () => {
    const { sessions } = setup({ ticketCacheSize: 2 });
    const cookies = [await signIn(sessions, "a"), await signIn(sessions, "b"), await signIn(sessions, "c")];
    const spies = spyCrypto();
    await sessions.read(cookies[2]!);
    await sessions.read(cookies[1]!);
    expect(spies.decrypt).toHaveBeenCalledTimes(0);
    await sessions.read(cookies[0]!);
    expect(spies.decrypt).toHaveBeenCalledTimes(1);
  });

  it("can be turned off", async () => {
    const { sessions } = setup({ ticketCacheSize: 0 });
    const cookie = await signIn(sessions, "ann");
    const spies = spyCrypto();
    await sessions.read(cookie);
    await sessions.read(cookie);
    expect(spies.decrypt).toHaveBeenCalledTimes(2);
  });

  it("forgets a ticket whose session ended", async () => {
    const { sessions } = setup();
    const cookie = await signIn(sessions, "ann");
    const session = await sessions.read(cookie);
    session.destroy();
    await sessions.commit(session);
    const spies = spyCrypto();
    expect((await sessions.read(cookie)).invalidReason).toBe("not-found");
    expect(spies.decrypt).toHaveBeenCalledTimes(1);
  });

  it("never serves a ticket past its key's notAfter from memory", async () => {
    const start = Date.UTC(2026, 10, 22, 12);
    const { sessions, clock } = setup({ keys: `${generateKey("new")}@${new Date(start + 3_600_000).toISOString()},${generateKey("old")}@${new Date(start + 60_000).toISOString()}` });
    const cookie = await signIn(sessions, "ann");
    expect(JSON.parse(atob(cookie.split("=")[1]!.split(".")[0]!)).kid).toBe("new");
    clock.advance(3_600_001);
    expect((await sessions.read(cookie)).invalidReason).toBe("key-retired");
  });
});
