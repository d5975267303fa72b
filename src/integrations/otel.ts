/**
 * OpenTelemetry metrics from cloakroom's events, through the OpenTelemetry API (an optional
 * peer dependency: without an SDK registered, the API records nothing and costs next to
 * nothing). Pass the listener to `createSessions` and to `tieredStore` / `guardedStore`.
 *
 * Instruments:
 * - `cloakroom.session.reads` {outcome}: session, anonymous, invalid, unavailable
 * - `cloakroom.session.invalid` {reason}: malformed, forged, unknown-key, ... (alert on spikes)
 * - `cloakroom.session.events` {event}: created, regenerated, destroyed, revoked, touched
 * - `cloakroom.ticket.opens` {kid}: reads by key id, so an operator knows when an old key can go
 * - `cloakroom.ticket.reseals` {from_kid, kid}
 * - `cloakroom.commit.conflicts`: compare-and-set retries
 * - `cloakroom.store.duration` {store, operation, ok} (ms histogram)
 * - `cloakroom.store.errors` {store, operation}
 * - `cloakroom.breaker.transitions` {store, from, to}
 * - `cloakroom.fallback.duration` {store} (s histogram): how long each outage was served without the store
 *
 * @example
 * import { otelMetrics } from "cloakroom/otel";
 * const onEvent = otelMetrics();
 * const sessions = createSessions({ store: tieredStore({ cache, durable, onEvent }), keys, onEvent });
 *
 * @module
 */
import { metrics, type Meter } from "@opentelemetry/api";
import type { EventListener } from "../events.ts";

export interface OtelMetricsOptions {
  /** @default metrics.getMeter("cloakroom") */
  meter?: Meter;
  /** Also called with every event, for logs. */
  next?: EventListener;
}

export function otelMetrics(options: OtelMetricsOptions = {}): EventListener {
  const meter = options.meter ?? metrics.getMeter("cloakroom");
  const reads = meter.createCounter("cloakroom.session.reads", { description: "Session reads by outcome" });
  const invalid = meter.createCounter("cloakroom.session.invalid", { description: "Cookies that read as no session, by reason" });
  const lifecycle = meter.createCounter("cloakroom.session.events", { description: "Session life-cycle events" });
  const opens = meter.createCounter("cloakroom.ticket.opens", { description: "Tickets accepted, by key id" });
  const reseals = meter.createCounter("cloakroom.ticket.reseals", { description: "Tickets re-sealed with the newest key" });
  const conflicts = meter.createCounter("cloakroom.commit.conflicts", { description: "Compare-and-set retries" });
  const duration = meter.createHistogram("cloakroom.store.duration", { description: "Store call latency", unit: "ms" });
  const errors = meter.createCounter("cloakroom.store.errors", { description: "Store failures" });
  const transitions = meter.createCounter("cloakroom.breaker.transitions", { description: "Circuit breaker transitions" });
  const fallback = meter.createHistogram("cloakroom.fallback.duration", { description: "Time a store was out (breaker not closed)", unit: "s" });
  const outSince = new Map<string, number>();
  const next = options.next;

  return (event) => {
    switch (event.type) {
      case "read":
        reads.add(1, { outcome: event.outcome });
        break;
      case "invalid":
        invalid.add(1, { reason: event.reason });
        break;
      case "opened":
        opens.add(1, { kid: event.kid });
        break;
      case "resealed":
        reseals.add(1, { from_kid: event.fromKid, kid: event.kid });
        break;
      case "conflict-retried":
        conflicts.add(1);
        break;
      case "store-call":
        duration.record(event.ms, { store: event.store, operation: event.operation, ok: event.ok });
        break;
      case "store-error":
        errors.add(1, { store: event.store, operation: event.operation });
        break;
      case "breaker":
        transitions.add(1, { store: event.store, from: event.from, to: event.to });
        if (event.from === "closed") outSince.set(event.store, Date.now());
        if (event.to === "closed" && outSince.has(event.store)) {
          fallback.record((Date.now() - outSince.get(event.store)!) / 1000, { store: event.store });
          outSince.delete(event.store);
        }
        break;
      case "created":
      case "adopted":
      case "regenerated":
      case "destroyed":
      case "revoked":
      case "touched":
        lifecycle.add(event.type === "revoked" ? event.count : 1, { event: event.type });
        break;
    }
    next?.(event);
  };
}
