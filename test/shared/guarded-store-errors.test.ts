import { describe, expect, it } from "vitest";
import { SessionError, type SessionErrorCode } from "../../src/errors.ts";
import { guardedStore } from "../../src/resilience/guarded-store.ts";
import { memoryStore } from "../../adapters/memory/index.ts";
import type { SessionStore } from "../../src/store.ts";
import { testHandle, testRecord } from "cloakroom/testing";
import { manualClock } from "./helpers.ts";

/** A memory store whose writes fail with `next` while it is set. */
function refusingStore() {
  const inner = memoryStore();
  const control = { next: undefined as Error | undefined };
  const store: SessionStore = Object.assign(Object.create(inner) as SessionStore, {
    name: "refusing",
    write: (...args: Parameters<SessionStore["write"]>) => (control.next ? Promise.reject(control.next) : inner.write(...args)),
  });
  return { store, control };
}

const refusal = (code: SessionErrorCode) => new SessionError(code, `the store refused this call's input (${code}).`);

describe("guarded store: what counts as a store failure", () => {
  for (const code of ["ERR_SESSION_DATA", "ERR_SESSION_STATE", "ERR_SESSION_CONFIG"] as const) {
    it(`does not open the breaker on ${code}: the call's input is at fault, not the store`, async () => {
      const { store: inner, control } = refusingStore();
      const store = guardedStore(inner, { breaker: { failureThreshold: 3, openMs: 1000 } });
      control.next = refusal(code);
      for (let i = 0; i < 5; i++) await expect(store.write(testHandle(), testRecord(), 0)).rejects.toMatchObject({ code });
      expect(store.breakerState).toBe("closed");
      control.next = undefined;
      const handle = testHandle();
      expect(await store.write(handle, testRecord(), 0)).toBe(true);
      expect(await store.read(handle)).not.toBeNull();
    });
  }

  it("still opens it on ERR_SESSION_STORE and on a driver's own error", async () => {
    for (const error of [refusal("ERR_SESSION_STORE"), new Error("ECONNRESET")]) {
      const { store: inner, control } = refusingStore();
      const store = guardedStore(inner, { breaker: { failureThreshold: 3, openMs: 1000 } });
      control.next = error;
      for (let i = 0; i < 3; i++) await expect(store.write(testHandle(), testRecord(), 0)).rejects.toBe(error);
      expect(store.breakerState).toBe("open");
    }
  });

  it("does not count a refusal between failures: the count of consecutive failures goes on", async () => {
    const { store: inner, control } = refusingStore();
    const store = guardedStore(inner, { breaker: { failureThreshold: 3, openMs: 1000 } });
    for (const error of [new Error("reset"), new Error("reset"), refusal("ERR_SESSION_DATA"), new Error("reset")]) {
      control.next = error;
      await store.write(testHandle(), testRecord(), 0).catch(() => {});
    }
    expect(store.breakerState).toBe("open");
  });

  it("frees the half-open probe when the probe's input is refused, so the next call probes", async () => {
    const clock = manualClock();
    const { store: inner, control } = refusingStore();
    const store = guardedStore(inner, { breaker: { failureThreshold: 1, openMs: 1000 }, clock });
    control.next = new Error("reset");
    await store.write(testHandle(), testRecord(), 0).catch(() => {});
    expect(store.breakerState).toBe("open");
    clock.advance(1000);
    control.next = refusal("ERR_SESSION_DATA");
    await expect(store.write(testHandle(), testRecord(), 0)).rejects.toMatchObject({ code: "ERR_SESSION_DATA" });
    expect(store.breakerState).toBe("half-open");
    control.next = undefined;
    expect(await store.write(testHandle(), testRecord(), 0)).toBe(true);
    expect(store.breakerState).toBe("closed");
  });
});
