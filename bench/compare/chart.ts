/**
 * docs/bench-compare.svg: two horizontal bar charts side by side, requests per second and p99
 * latency per line, from one run. Hand-written SVG, no dependency; it renders on GitHub and in
 * any browser.
 *
 * @module
 */
import type { Run } from "./report.ts";
import { FLOOR, SCENARIOS, type ScenarioId } from "./scenarios.ts";

const ROW = 30;
const TOP = 62;
const LABEL = 270;
const PANEL = 300;
const GAP = 150;
const WIDTH = LABEL + PANEL + GAP + PANEL + 60;

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function colour(id: ScenarioId): string {
  if (id.startsWith("cloakroom")) return "#2563eb";
  if (id === FLOOR) return "#525252";
  if (id === "hono" || id === "express") return "#a3a3a3";
  return "#ea580c";
}

/** A round axis maximum a little above `value`. */
function niceMax(value: number): number {
  const step = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * step >= value * 1.05) return m * step;
  return 10 * step;
}

export function chart(run: Run): string {
  const lines = SCENARIOS.filter((s) => run.lines.has(s.id)).map((s) => ({ s, r: run.lines.get(s.id)! }));
  const floor = run.lines.get(FLOOR)!;
  const height = TOP + lines.length * ROW + 44;
  const rpsMax = niceMax(Math.max(...lines.map((l) => l.r.rps)));
  const p99Max = niceMax(Math.max(...lines.map((l) => l.r.p99Ms)));
  const xA = LABEL;
  const xB = LABEL + PANEL + GAP;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="12" y="20" font-size="14" font-weight="600">GET /me of a signed-in visitor, 10 connections (npm run bench:compare)</text>`);
  out.push(`<text x="12" y="38" fill="#525252">${escape(run.machine)}; ${escape(run.date)}</text>`);
  out.push(`<text x="${xA}" y="${TOP - 8}" font-weight="600">requests per second (higher is better)</text>`);
  out.push(`<text x="${xB}" y="${TOP - 8}" font-weight="600">p99 latency, ms (lower is better)</text>`);

  lines.forEach((_, i) => {
    if (i % 2 === 0) out.push(`<rect x="0" y="${TOP + i * ROW}" width="${WIDTH}" height="${ROW}" fill="#f5f5f5"/>`);
  });
  const bottom = TOP + lines.length * ROW;
  // The floor and the 0.9x goal, as vertical marks across the req/s panel.
  for (const [value, label, dash, anchor, dx] of [
    [floor.rps, "floor", "4 3", "start", 3],
    [floor.rps * 0.9, "0.9x floor", "2 3", "end", -3],
  ] as const) {
    const x = xA + (value / rpsMax) * PANEL;
    out.push(`<line x1="${x.toFixed(1)}" y1="${TOP}" x2="${x.toFixed(1)}" y2="${bottom}" stroke="#525252" stroke-dasharray="${dash}"/>`);
    out.push(`<text x="${(x + dx).toFixed(1)}" y="${bottom + 14}" text-anchor="${anchor}" fill="#525252" font-size="11">${label}</text>`);
  }
  lines.forEach(({ s, r }, i) => {
    const y = TOP + i * ROW;
    const mid = y + ROW / 2 + 4;
    out.push(`<text x="12" y="${mid}">${escape(`${s.n}. ${s.short}`)}</text>`);
    const wA = (r.rps / rpsMax) * PANEL;
    out.push(`<rect x="${xA}" y="${y + 6}" width="${wA.toFixed(1)}" height="${ROW - 12}" fill="${colour(s.id)}"/>`);
    const ratio = `${Math.round(r.rps).toLocaleString("en-US")} (${(r.rps / floor.rps).toFixed(2)}x floor)`;
    out.push(`<text x="${(xA + wA + 4).toFixed(1)}" y="${mid}">${escape(ratio)}</text>`);
    const wB = (r.p99Ms / p99Max) * PANEL;
    out.push(`<rect x="${xB}" y="${y + 6}" width="${wB.toFixed(1)}" height="${ROW - 12}" fill="${colour(s.id)}"/>`);
    out.push(`<text x="${(xB + wB + 4).toFixed(1)}" y="${mid}">${r.p99Ms.toFixed(2)}</text>`);
  });

  for (const [x, max] of [
    [xA, rpsMax],
    [xB, p99Max],
  ] as const) {
    out.push(`<line x1="${x}" y1="${TOP}" x2="${x}" y2="${bottom}" stroke="#737373"/>`);
    out.push(`<text x="${x + PANEL}" y="${bottom + 14}" text-anchor="end" fill="#737373" font-size="11">${max.toLocaleString("en-US")}</text>`);
  }
  out.push(
    `<text x="12" y="${height - 10}" fill="#525252" font-size="11">blue: cloakroom; dark grey: the floor (random id cookie + one Redis GET); light grey: frameworks with no session; orange: other session libraries</text>`,
  );
  out.push(`</svg>`);
  return `${out.join("\n")}\n`;
}
