/**
 * The goals of DESIGN.md §5a, each checked against this run and said plainly: met or MISSED.
 * Call counts are exact; the timing goals compare two figures of the same run and have a
 * wide margin, so noise does not flip them. A miss is reported, never thrown: a benchmark
 * informs, it does not fail.
 *
 * @module
 */
import { count, median, micros, times, type Rows } from "./report.ts";

interface Goal {
  /** What was measured. */
  says: string;
  /** The goal, as the design states it (or derives from it). */
  goal: string;
  met: boolean;
  /** Detail behind the figure, printed after the verdict. */
  note?: string;
  /** What to look at when the goal is missed. */
  hint?: string;
}

const calls = (n: number | undefined, what: string) => `${count(n)} ${what}${n === 1 ? "" : "s"}/request`;
const detail = (perMethod: Record<string, number> | undefined) =>
  Object.entries(perMethod ?? {}).map(([name, n]) => `${name} ${count(n)}`).join(", ") || undefined;

function callGoals(rows: Rows, id: string, who: string, want: { crypto: number; store: number; setCookie: number }): Goal[] {
  const counts = rows.get(id)!.counts;
  return [
    {
      says: `${who}: ${calls(counts.cryptoTotal, "Web Crypto call")}`,
      goal: `goal ${want.crypto}`,
      met: counts.cryptoTotal === want.crypto,
      note: detail(counts.crypto),
    },
    {
      says: `${who}: ${calls(counts.storeTotal, "store call")}`,
      goal: `goal ${want.store}`,
      met: counts.storeTotal === want.store,
      note: detail(counts.store),
    },
    {
      says: `${who}: ${calls(counts.setCookie, "Set-Cookie header")}`,
      goal: `goal ${want.setCookie}`,
      met: counts.setCookie === want.setCookie,
    },
  ];
}

export function goals(rows: Rows): Goal[] {
  const m = (id: string) => median(rows, id);
  const list: Goal[] = [
    ...callGoals(rows, "steady", "repeat visitor (a)", { crypto: 0, store: 1, setCookie: 0 }),
    {
      says: `repeat visitor (a) does not wait on Web Crypto: ${micros(m("steady"))} µs = ${times(m("steady"), m("aes-decrypt"))} one raw AES-GCM decrypt`,
      goal: "goal < 1x",
      met: m("steady") < m("aes-decrypt"),
      hint: "check that src/ticket-cache.ts is hit and nothing on the read path awaits crypto.subtle",
    },
    {
      says: `repeat visitor (a) vs iron-session unseal: ${times(m("steady"), m("iron-unseal"))}`,
      goal: "goal < 1x",
      met: m("steady") < m("iron-unseal"),
    },
    // First request of a ticket: one decrypt and one SHA-256 for the handle.
    ...callGoals(rows, "nocache", "cache off (b)", { crypto: 2, store: 1, setCookie: 0 }),
    // A write reads, then compare-and-sets; the ticket does not change, so no crypto, no cookie.
    ...callGoals(rows, "write", "write (c)", { crypto: 0, store: 2, setCookie: 0 }),
    // No cookie, so no read; a handle (SHA-256), one write, one seal.
    ...callGoals(rows, "signin", "sign-in (d)", { crypto: 2, store: 1, setCookie: 1 }),
    {
      says: `memory store, new session when full: ${times(m("insert-full"), m("insert-roomy"))} the same insert below the cap (${micros(m("insert-full"))} vs ${micros(m("insert-roomy"))} µs)`,
      goal: "goal <= 2x, derived: a bounded LRU evicts in O(1)",
      met: m("insert-full") <= 2 * m("insert-roomy"),
      hint:
        "makeRoom() in adapters/memory/index.ts walks every entry for expired ones on each insert once the store " +
        "is full, so every sign-in on a busy store costs O(maxEntries)",
    },
  ];
  const problems = [...rows.values()].flatMap(({ scenario, counts }) =>
    [...counts.problems].map(([problem, n]) => `${scenario.label}: ${problem} (${n}/${counts.ops})`),
  );
  list.push({
    says: problems.length === 0 ? "every line measured what it claims (results checked)" : `results wrong: ${problems.join("; ")}`,
    goal: "goal: no wrong results",
    met: problems.length === 0,
    hint: "a line whose results are wrong measures something else: do not trust its figures",
  });
  return list;
}

export function printVerdicts(rows: Rows, log: (line: string) => void): void {
  const list = goals(rows);
  log("7. Verdict (goals from DESIGN.md §5a)");
  for (const goal of list) {
    log(`  ${goal.says} (${goal.goal}): ${goal.met ? "met" : "MISSED"}${goal.note ? ` [${goal.note}]` : ""}`);
    if (!goal.met && goal.hint) log(`      -> ${goal.hint}`);
  }
  const missed = list.filter((goal) => !goal.met).length;
  log(missed === 0 ? "  all goals met" : `  ${missed} of ${list.length} goals missed`);
}
