/**
 * The manager's health: the store's own probe when it has one, else a read of a handle nobody
 * has (a real round trip that changes nothing). Overall status:
 * - "ok": sessions are served as designed;
 * - "degraded": sessions are served, but not as designed (a tiered store's cache is out and
 *   the durable store serves alone; a Sentinel setup with no replica left to fail over to);
 * - "down": sessions cannot be served.
 *
 * @module
 */
import type { Context } from "./context.ts";
import type { StoreHealth } from "./store.ts";

export type HealthStatus = "ok" | "degraded" | "down";

export interface HealthReport {
  status: HealthStatus;
  store: StoreHealth & { name: string };
}

const PROBE_HANDLE = "hlth.0000000000000000000000000000000000000000000";
const STATUSES: readonly unknown[] = ["ok", "degraded", "down"];

/** A store may refine ok/down with `details.status` (the tiered store does). */
function statusOf(report: StoreHealth): HealthStatus {
  if (!report.ok) return "down";
  const refined = report.details?.status;
  return STATUSES.includes(refined) ? (refined as HealthStatus) : "ok";
}

export async function probeHealth(ctx: Context): Promise<HealthReport> {
  const { store } = ctx;
  const started = Date.now();
  try {
    const report = store.health
      ? await store.health()
      : (await store.read(PROBE_HANDLE), { ok: true, latencyMs: Date.now() - started });
    return { status: statusOf(report), store: { name: store.name, ...report } };
  } catch (error) {
    ctx.emit?.({ type: "store-error", store: store.name, operation: "health", error });
    return { status: "down", store: { name: store.name, ok: false, latencyMs: Date.now() - started } };
  }
}
