/**
 * How the failover drill judges requests and what it reports: shared by `npx cloakroom drill`
 * (against a running deployment) and `npm run drill` / the CI drills (test/support/drill.ts),
 * so the figures mean the same in both.
 *
 * A request ending in a server error failed; "signed out" for a live session is a logout; a
 * count below one already acknowledged is a stale read. Failures count from the fault (requests
 * in flight then included) to the end of the load.
 *
 * @module
 */

export interface Op {
  kind: "read" | "write";
  startedAt: number;
  endedAt: number;
  /** HTTP status, or 500 for a store error, 200 for success, 401 for "no session". */
  status: number;
  outcome: "ok" | "failed" | "logout" | "stale";
}

export interface Figures {
  /** Seconds from the fault to the end of the first successful write started after it. */
  firstWriteS: number;
  /** Seconds from the fault to the end of the last failed request (0 when none failed). */
  lastFailureS: number;
  reads: number;
  readsFailedPct: number;
  writes: number;
  writesFailedPct: number;
  /** Answers with status >= 500, the whole run. */
  serverErrors: number;
  /** 401 for a live session, the whole run. */
  logouts: number;
  /** Reads below an acknowledged count, and signed-out sessions read as signed in. */
  staleReads: number;
  /** Of which after the store was back (failover: new primary named; outage: Redis resumed). */
  staleAfterRecovery: number;
  /** Visitors whose session a new instance cannot read with its acknowledged count. */
  sessionsLost: number;
  /** Sign-outs and revocations acknowledged during the fault. */
  signOutsAcknowledged: number;
  /** Seconds from the fault until the sentinels named a new primary (failover) or the cache was resumed (outage). */
  storeBackS: number;
  /** Seconds from recovery until every instance used the cache again (tiered only; NaN otherwise). */
  cacheBackS: number;
  /** Seconds from the fault during which failures were counted (requests in flight at the fault included). */
  windowS: number;
  /** The longest successful request in the window, in seconds: how long a visitor waited at worst. */
  longestStallS: number;
}

export function figuresOf(
  ops: Op[],
  faultAt: number,
  recoveredAt: number,
  until: number,
  extra: Pick<Figures, "sessionsLost" | "signOutsAcknowledged" | "cacheBackS"> & { staleSignOuts: number },
): Figures {
  // Requests in flight when the fault hit count too: they are the likeliest to fail.
  const inWindow = ops.filter((op) => op.endedAt >= faultAt && op.startedAt <= until);
  const reads = inWindow.filter((op) => op.kind === "read");
  const writes = inWindow.filter((op) => op.kind === "write");
  const pct = (part: number, whole: number) => (whole === 0 ? 0 : (100 * part) / whole);
  const firstWrite = writes.filter((op) => op.outcome === "ok" && op.startedAt >= faultAt).sort((a, b) => a.endedAt - b.endedAt)[0];
  const failed = inWindow.filter((op) => op.outcome === "failed");
  const served = inWindow.filter((op) => op.outcome !== "failed");
  return {
    firstWriteS: firstWrite ? (firstWrite.endedAt - faultAt) / 1000 : Number.POSITIVE_INFINITY,
    lastFailureS: failed.length === 0 ? 0 : (Math.max(...failed.map((op) => op.endedAt)) - faultAt) / 1000,
    reads: reads.length,
    readsFailedPct: pct(reads.filter((op) => op.outcome === "failed").length, reads.length),
    writes: writes.length,
    writesFailedPct: pct(writes.filter((op) => op.outcome === "failed").length, writes.length),
    serverErrors: ops.filter((op) => op.status >= 500).length,
    logouts: ops.filter((op) => op.outcome === "logout").length,
    staleReads: ops.filter((op) => op.outcome === "stale").length + extra.staleSignOuts,
    staleAfterRecovery: ops.filter((op) => op.outcome === "stale" && op.startedAt >= recoveredAt).length + extra.staleSignOuts,
    sessionsLost: extra.sessionsLost,
    signOutsAcknowledged: extra.signOutsAcknowledged,
    storeBackS: (recoveredAt - faultAt) / 1000,
    cacheBackS: extra.cacheBackS,
    windowS: (until - faultAt) / 1000,
    longestStallS: served.reduce((longest, op) => Math.max(longest, (op.endedAt - op.startedAt) / 1000), 0),
  };
}

/** The outcome of one answer: 5xx failed, 401 a logout, 200 served. */
export function judge(status: number): Op["outcome"] {
  return status >= 500 ? "failed" : status === 401 ? "logout" : status === 200 ? "ok" : "failed";
}

const seconds = (s: number) => (Number.isFinite(s) ? `${s.toFixed(2)} s` : "never");
const pct = (p: number) => `${p.toFixed(p > 0 && p < 0.1 ? 3 : 2)} %`;

/** The drill's table header, as `npm run drill` prints it. */
export const FIGURES_HEADER = [
  "scenario".padEnd(30),
  "1st write".padStart(9),
  "last fail".padStart(9),
  "reads ✗".padStart(9),
  "writes ✗".padStart(9),
  "lost".padStart(5),
  "logouts".padStart(7),
  "5xx".padStart(5),
  "stale".padStart(6),
  "store back".padStart(9),
  "requests".padStart(7),
].join("  ");

/** One row of the drill's table. */
export function figuresRow(label: string, figures: Figures): string {
  return [
    label.padEnd(30),
    seconds(figures.firstWriteS).padStart(9),
    seconds(figures.lastFailureS).padStart(9),
    pct(figures.readsFailedPct).padStart(9),
    pct(figures.writesFailedPct).padStart(9),
    String(figures.sessionsLost).padStart(5),
    String(figures.logouts).padStart(7),
    String(figures.serverErrors).padStart(5),
    String(figures.staleReads).padStart(6),
    seconds(figures.storeBackS).padStart(9),
    `${figures.reads + figures.writes}`.padStart(7),
  ].join("  ");
}

export const FIGURES_LEGEND = [
  "Columns: 1st write: fault to the first successful write started after it; last fail: fault to the end of the last",
  "failed request (0 s: none failed); reads ✗ / writes ✗: failed share; lost: sessions a new client could not read with",
  "their acknowledged count; logouts: a live session read as signed out; 5xx: store errors; stale: a count below one",
  "acknowledged, or a signed-out session read as signed in; store back: fault to the new primary named.",
];
