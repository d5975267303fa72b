import { describe, expect, it } from "vitest";
import { generateKey, inspectKeys, SessionError } from "../../src/index.ts";

const now = Date.parse("2026-11-22T12:00:00Z");
const [a, b, c] = [generateKey("k3"), generateKey("k2"), generateKey("k1")];

describe("inspectKeys", () => {
  it("names the sealing key, the keys that only open and until when, the retired ones, and the next step", () => {
    const report = inspectKeys(`${a},${b}@2026-12-01T00:00:00Z,${c}@2026-11-01`, { now, absoluteTimeout: 86_400 });
    expect(report.keys).toEqual([
      { id: "k3", position: 1, role: "seals", notAfter: null },
      { id: "k2", position: 2, role: "opens", notAfter: Date.parse("2026-12-01") },
      { id: "k1", position: 3, role: "retired", notAfter: Date.parse("2026-11-01") },
    ]);
    expect(report.sealing.id).toBe("k3");
    expect(report.next[0]).toContain('keep "k3" after it with @2026-11-24T00:00:00Z or later');
    expect(report.next.join(" ")).toContain('key "k1" retired at 2026-11-01T00:00:00Z');
    expect(JSON.stringify(report)).not.toContain(a.split(":")[1]);
  });

  it("refuses a sealing key that retires before an older key, and a list with no live key", () => {
    const misordered = () => inspectKeys(`${b}@2026-12-01,${a}`, { now });
    expect(misordered).toThrow(SessionError);
    expect(misordered).toThrow(/key "k2" seals now but retires at 2026-12-01T00:00:00Z, before key "k3" listed after it \(no end\)/);
    expect(() => inspectKeys(`${a}@2026-01-01`, { now })).toThrow(/every key's notAfter has passed/);
    // What createSessions refuses, this refuses the same way.
    expect(() => inspectKeys(`${a},${a}`, { now })).toThrow(/appears twice/);
  });
});
