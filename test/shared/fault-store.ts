/**
 * A store whose server can be taken down or frozen on purpose, for resilience tests. "down"
 * refuses every call at once (a killed server); "hang" never answers (a frozen one, which
 * keeps its connections open: the harder case).
 */
import type { SessionStore } from "../../src/store.ts";

export type FaultMode = "up" | "down" | "hang";

export function faultyStore<S extends SessionStore>(
  inner: S,
  name = inner.name,
): S & { mode: FaultMode; calls: number; failNext(method: string, times?: number): void } {
  const control = { mode: "up" as FaultMode, calls: 0 };
  const failing = new Map<string, number>();
  const wrapped = Object.create(inner) as S & typeof control;
  for (const method of ["read", "write", "delete", "listUser", "revokeUser", "increment", "health"] as const) {
    const original = inner[method] as ((...args: unknown[]) => Promise<unknown>) | undefined;
    if (typeof original !== "function") continue;
    Object.defineProperty(wrapped, method, { enumerable: true, value: (...args: unknown[]) => {
      control.calls++;
      const left = failing.get(method) ?? 0;
      if (left > 0) {
        failing.set(method, left - 1);
        return Promise.reject(new Error(`${name}: connection reset during ${method}`));
      }
      if (control.mode === "down") return Promise.reject(new Error(`${name}: ECONNREFUSED`));
      if (control.mode === "hang") return new Promise(() => {});
      return original.apply(inner, args);
    } });
  }
  Object.defineProperties(wrapped, {
    failNext: { value: (method: string, times = 1) => failing.set(method, times) },
    name: { value: name },
    mode: { get: () => control.mode, set: (mode: FaultMode) => (control.mode = mode) },
    calls: { get: () => control.calls, set: (n: number) => (control.calls = n) },
  });
  return wrapped as S & typeof control & { failNext(method: string, times?: number): void };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
