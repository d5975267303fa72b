/**
 * Prints what one run measured: the table (with ratios to the baselines of the same run), the
 * Web Crypto and store calls behind each line, and the comparisons the design cares about.
 * Ratios are only ever taken between figures of one run: on a shared two-core machine the
 * absolute figures move between runs far more than the ratios do.
 *
 * @module
 */
import type { OpCounts } from "./count-pass.ts";
import type { Stats } from "./measure.ts";
import type { Group, Scenario } from "./scenario.ts";

export interface Row {
  scenario: Scenario;
  stats: Stats;
  counts: OpCounts;
}

export type Rows = ReadonlyMap<string, Row>;
type Log = (line: string) => void;

const GROUPS: Record<Group, string> = {
  baseline: "1. baselines",
  ticket: "2. tickets (src/ticket.ts)",
  request: "3. requests: createSessions + memory store, read + commit",
  store: "extra: memory store holding 100 000 live sessions, add one and drop one",
};

export function micros(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return "—";
  if (value < 0.1) return value.toFixed(3);
  if (value < 10) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return value.toFixed(0);
}

export function times(numerator: number, denominator: number): string {
  const value = numerator / denominator;
  if (!Number.isFinite(value)) return "—";
  if (value >= 100) return `${value.toFixed(0)}x`;
  if (value >= 10) return `${value.toFixed(1)}x`;
  if (value >= 0.1) return `${value.toFixed(2)}x`;
  return `${value.toPrecision(2)}x`;
}

export function count(value: number | undefined): string {
  if (value === undefined) return "—";
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

function breakdown(perMethod: Record<string, number> | undefined): string {
  if (!perMethod) return "";
  return Object.entries(perMethod).map(([name, n]) => `${name} ${count(n)}`).join(", ");
}

/** Median of a line, by id; throws on a typo so a comparison never silently prints NaN. */
export function median(rows: Rows, id: string): number {
  const row = rows.get(id);
  if (!row) throw new Error(`bench: no line with id "${id}"`);
  return row.stats.medianUs;
}

const LABEL = 44;
const COLUMNS = ["median µs", "p99 µs", "×Map.get", "×decrypt", "×unseal", "crypto", "store", "SetCookie"];
const pad = (cells: string[]) => cells.map((cell) => cell.padStart(10)).join("");

export function printTable(rows: Rows, log: Log): void {
  const mapGet = median(rows, "map-get");
  const decrypt = median(rows, "aes-decrypt");
  const unseal = median(rows, "iron-unseal");
  log(`${"".padEnd(LABEL)}${pad(COLUMNS)}`);
  let group: Group | undefined;
  for (const { scenario, stats, counts } of rows.values()) {
    if (scenario.group !== group) {
      group = scenario.group;
      log(GROUPS[group]);
    }
    log(
      `  ${scenario.label.padEnd(LABEL - 2)}` +
        pad([
          micros(stats.medianUs),
          micros(stats.p99Us),
          times(stats.medianUs, mapGet),
          times(stats.medianUs, decrypt),
          times(stats.medianUs, unseal),
          count(counts.cryptoTotal),
          count(counts.storeTotal),
          count(counts.setCookie),
        ]),
    );
  }
  log(`${"".padEnd(LABEL)}(crypto, store, SetCookie: calls or cookies per operation; — where not applicable)`);
}

export function printCounts(rows: Rows, log: Log): void {
  const ops = [...rows.values()][0]?.counts.ops ?? 0;
  log(`4. Web Crypto calls per operation (crypto.subtle wrapped, ${ops} operations per line, not timed)`);
  for (const { scenario, counts } of rows.values()) {
    log(`  ${scenario.label.padEnd(LABEL - 2)}${count(counts.cryptoTotal).padStart(4)}   ${breakdown(counts.crypto)}`);
  }
  log("");
  log("5. Store calls per operation (store methods wrapped, same pass)");
  for (const { scenario, counts } of rows.values()) {
    if (counts.storeTotal === undefined) continue;
    log(`  ${scenario.label.padEnd(LABEL - 2)}${count(counts.storeTotal).padStart(4)}   ${breakdown(counts.store)}`);
  }
}

export function printComparisons(rows: Rows, log: Log): void {
  const m = (id: string) => median(rows, id);
  const p99 = (id: string) => rows.get(id)!.stats.p99Us ?? NaN;
  const steady = rows.get("steady")!.counts;
  log("6. Ratios within this run (medians; p99 where stated)");
  const mapGetCrypto = rows.get("map-get")!.counts.cryptoTotal;
  log(
    `  steady-state read+commit (a): ${count(steady.cryptoTotal)} Web Crypto calls/request ` +
      `(a Map.get: ${count(mapGetCrypto)}), ${count(steady.storeTotal)} store call${steady.storeTotal === 1 ? "" : "s"}/request, ` +
      `${micros(m("steady"))} µs median, ${micros(p99("steady"))} µs p99`,
  );
  log(
    `      = ${times(m("steady"), m("aes-decrypt"))} one raw AES-GCM decrypt (${micros(m("aes-decrypt"))} µs); ` +
      `p99 ${times(p99("steady"), p99("aes-decrypt"))} (${micros(p99("aes-decrypt"))} µs)`,
  );
  log(`      = ${times(m("steady"), m("iron-unseal"))} iron-session unseal (${micros(m("iron-unseal"))} µs)`);
  log(`      = ${times(m("steady"), m("map-get"))} a Map.get (${micros(m("map-get"))} µs)`);
  log(
    `  ticket cache off (b) vs on (a): ${times(m("nocache"), m("steady"))} median, ` +
      `${times(p99("nocache"), p99("steady"))} p99; the cache saves ${micros(m("nocache") - m("steady"))} µs ` +
      `and ${count(rows.get("nocache")!.counts.cryptoTotal - steady.cryptoTotal)} Web Crypto calls per request`,
  );
  log(`  cold open vs raw decrypt:       ${times(m("open-cold"), m("aes-decrypt"))} (${micros(m("open-cold"))} vs ${micros(m("aes-decrypt"))} µs)`);
  log(`  seal vs raw encrypt:            ${times(m("seal"), m("aes-encrypt"))} (${micros(m("seal"))} vs ${micros(m("aes-encrypt"))} µs)`);
  log(`  write (c) vs no change (a):     ${times(m("write"), m("steady"))}`);
  log(`  sign-in (d) vs iron sealData:   ${times(m("signin"), m("iron-seal"))}`);
  log(`  (b) vs iron-session unseal:     ${times(m("nocache"), m("iron-unseal"))}`);
  log(`  store insert at cap vs below:   ${times(m("insert-full"), m("insert-roomy"))} (${micros(m("insert-full"))} vs ${micros(m("insert-roomy"))} µs)`);
}
