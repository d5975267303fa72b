import { describe, expect, it } from "vitest";
import { SessionError } from "../../src/index.ts";
import { setup, signIn } from "./helpers.ts";

describe("session values are JSON every store keeps exactly", () => {
  it("refuses NUL characters and lone surrogates where they are set, naming the key", async () => {
    const { sessions } = setup<Record<string, unknown>>();
    const session = await sessions.read(null);
    for (const bad of ["/x\u0000", "\ud800", "a\udc00b", { nested: ["ok", "\u0000"] }]) {
      let error: unknown;
      try {
        session.set("returnTo", bad);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(SessionError);
      expect(error).toMatchObject({ code: "ERR_SESSION_DATA", message: expect.stringContaining("returnTo") });
    }
    expect(() => session.set("k\u0000", 1)).toThrow(/a key/);
    expect(session.isDirty).toBe(false);
  });

  it("refuses what JSON cannot hold, in set and in update", async () => {
    const { sessions } = setup<Record<string, unknown>>();
    const session = await sessions.read(null);
    expect(() => session.set("n", Number.NaN)).toThrow(/NaN/);
    expect(() => session.set("n", 1n)).toThrow(/bigint/);
    expect(() => session.set("f", () => 1)).toThrow(/function/);
    expect(() => session.update("n", () => Infinity)).toThrow(/Infinity/);
    expect(session.isDirty).toBe(false);
  });

  it("accepts well-formed text, surrogate pairs, dates and nesting", async () => {
    const { sessions } = setup<Record<string, unknown>>();
    const session = await sessions.read(null);
    session.set("emoji", "🎉 Grüße");
    session.set("when", new Date(0));
    session.set("deep", { a: [{ b: null, c: true, d: -1.5 }] });
    expect(session.isDirty).toBe(true);
  });

  it("refuses a userId that is not well-formed", async () => {
    const { sessions } = setup();
    await signIn(sessions, "ann");
    const session = await sessions.read(null);
    expect(() => (session.userId = "ann\u0000")).toThrow(/well-formed/);
    expect(() => (session.userId = "\ud800")).toThrow(/well-formed/);
  });
});
