/**
 * The metrics listener against a recording Meter (the OpenTelemetry API's interface): what
 * each event records, with which attributes.
 */
import { describe, expect, it } from "vitest";
import type { Meter } from "@opentelemetry/api";
import { createSessions, generateKey, tieredStore } from "../../src/index.ts";
import { otelMetrics } from "../../src/integrations/otel.ts";
import { memoryStore } from "../../adapters/memory/index.ts";
import { faultyStore, sleep } from "../shared/fault-store.ts";
import { signIn } from "../shared/helpers.ts";

function recordingMeter() {
  const points: Array<{ name: string; value: number; attributes: Record<string, unknown> }> = [];
  const instrument = (name: string) => ({
    add: (value: number, attributes = {}) => points.push({ name, value, attributes }),
    record: (value: number, attributes = {}) => points.push({ name, value, attributes }),
  });
  const meter = { createCounter: instrument, createHistogram: instrument } as unknown as Meter;
  const sum = (name: string, match: Record<string, unknown> = {}) =>
    points.filter((p) => p.name === name && Object.entries(match).every(([k, v]) => p.attributes[k] === v)).reduce((a, p) => a + p.value, 0);
  return { meter, points, sum };
}

describe("OpenTelemetry metrics", () => {
  it("counts reads by outcome, invalid cookies by reason and opens by key id", async () => {
    const { meter, sum } = recordingMeter();
    const sessions = createSessions({ store: memoryStore(), keys: generateKey("k1"), onEvent: otelMetrics({ meter }) });
    const cookie = await signIn(sessions, "ann");
    await sessions.read(cookie);
    await sessions.read(cookie);
    await sessions.read("__Host-session=junk");
    await sessions.read(null);
    expect(sum("cloakroom.session.reads", { outcome: "session" })).toBe(2);
    expect(sum("cloakroom.session.reads", { outcome: "invalid" })).toBe(1);
    expect(sum("cloakroom.session.reads", { outcome: "anonymous" })).toBe(2);
    expect(sum("cloakroom.session.invalid", { reason: "malformed" })).toBe(1);
    expect(sum("cloakroom.ticket.opens", { kid: "k1" })).toBe(2);
    expect(sum("cloakroom.session.events", { event: "created" })).toBe(1);
  });

  it("records the latency of every store call the manager makes, on any store", async () => {
    const { meter, points } = recordingMeter();
    const store = faultyStore(memoryStore(), "plain");
    const sessions = createSessions({ store, keys: generateKey(), onEvent: otelMetrics({ meter }) });
    const cookie = await signIn(sessions, "ann");
    await sessions.read(cookie);
    store.mode = "down";
    await sessions.read(cookie).catch(() => {});
    const calls = points.filter((p) => p.name === "cloakroom.store.duration" && p.attributes.store === "plain");
    expect(calls.map((p) => [p.attributes.operation, p.attributes.ok])).toEqual([["write", true], ["read", true], ["read", false]]);
    expect(calls.every((p) => p.value >= 0)).toBe(true);
  });

  it("records store latency, errors, breaker transitions and how long the fallback lasted", async () => {
    const { meter, sum, points } = recordingMeter();
    const onEvent = otelMetrics({ meter });
    const cache = faultyStore(memoryStore(), "cache");
    const store = tieredStore({ cache, durable: memoryStore(), cacheTimeoutMs: 30, breaker: { failureThreshold: 1, openMs: 20 }, onEvent });
    const sessions = createSessions({ store, keys: generateKey(), onEvent });
    const cookie = await signIn(sessions, "ann");
    cache.mode = "down";
    await sessions.read(cookie);
    cache.mode = "up";
    await sleep(40);
    await sessions.read(cookie);
    expect(points.some((p) => p.name === "cloakroom.store.duration" && p.attributes.store === "cache" && p.attributes.ok === true)).toBe(true);
    expect(sum("cloakroom.store.errors", { store: "cache" })).toBeGreaterThan(0);
    expect(sum("cloakroom.breaker.transitions", { store: "cache", to: "open" })).toBe(1);
    expect(sum("cloakroom.breaker.transitions", { store: "cache", to: "closed" })).toBe(1);
    expect(points.filter((p) => p.name === "cloakroom.fallback.duration")).toHaveLength(1);
  });

  it("uses the global meter when none is given, which is a no-op without an SDK", async () => {
    const seen: string[] = [];
    const sessions = createSessions({ store: memoryStore(), keys: generateKey(), onEvent: otelMetrics({ next: (e) => seen.push(e.type) }) });
    await sessions.read(null);
    expect(seen).toEqual(["read"]);
  });
});
