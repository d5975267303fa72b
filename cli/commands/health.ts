/**
 * `cloakroom health`: the report `sessions.health()` gives an application on the same store,
 * with an exit code for scripts and load balancers: 0 ok, 1 degraded, 2 down.
 */
import { createSessions, generateKey, type HealthStatus } from "../../src/index.ts";
import { EXIT, option, type Command } from "../shell.ts";
import { maskUrl, openStore, STORE_URL_HELP } from "../store-url.ts";

const CODES: Record<HealthStatus, number> = { ok: EXIT.ok, degraded: EXIT.failed, down: EXIT.unreachable };

/** `details` as indented `name: value` lines, nested objects one level deeper. */
function lines(details: Record<string, unknown>, indent = "  "): string[] {
  return Object.entries(details).flatMap(([name, value]) =>
    value !== null && typeof value === "object" && !Array.isArray(value)
      ? [`${indent}${name}:`, ...lines(value as Record<string, unknown>, `${indent}  `)]
      : [`${indent}${name}: ${typeof value === "string" ? value : JSON.stringify(value)}`]);
}

export const health: Command = {
  name: "health",
  summary: "probe the store as sessions.health() does; exit 0 ok, 1 degraded, 2 down",
  help: `Usage: cloakroom health [--store <url>] [--json]

Probes the session store the way sessions.health() does in the application and prints the
report. Exit code: 0 ok, 1 degraded (served, not as designed: a cache out, no replica to fail
over to, an eviction policy that can drop sessions), 2 down (sessions cannot be served).

  --store <url>  the store; without it, the one your environment describes
  --json         print the report as JSON

${STORE_URL_HELP}`,
  options: { store: { type: "string" }, json: { type: "boolean" } },
  async run(args, io) {
    const url = option(args, "store");
    const opened = await openStore(url, io, { what: "--store" });
    try {
      const reasons: string[] = [];
      const sessions = createSessions({
        store: opened.store,
        keys: generateKey("health"),
        onEvent: (event) => {
          if (event.type === "store-error") reasons.push(event.error instanceof Error ? event.error.message.replace(/^cloakroom: /, "") : String(event.error));
        },
      });
      const report = await sessions.health();
      if (args.values.json) {
        io.out(JSON.stringify({ ...report, description: opened.description }, null, 2));
      } else {
        io.out(`${report.status}: ${opened.description} (${report.store.name}, ${report.store.latencyMs.toFixed(1)} ms)`);
        for (const line of lines(report.store.details ?? {})) io.out(line);
      }
      if (report.status === "down") {
        const reason = reasons[0] ?? (report.store.details?.error as string | undefined) ?? "the probe failed";
        io.err(`cloakroom health: ${url ? maskUrl(url) : opened.description} is down: ${reason.replace(/\s+/g, " ")}`);
      }
      return CODES[report.status];
    } finally {
      await opened.close();
    }
  },
};
