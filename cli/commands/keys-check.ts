/**
 * `cloakroom keys check`: what SESSION_KEYS (or --keys) does now and what the next rotation
 * should be. The library's own parser judges the list (inspectKeys), so weak, duplicate,
 * misordered or retired-only lists are refused with the errors createSessions gives. Secrets
 * are registered as such before anything is printed, and only key ids are named.
 */
import { inspectKeys, type KeyReportEntry } from "../../src/index.ts";
import { EXIT, integerOption, option, usageError, type Command } from "../shell.ts";

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, "Z");

function describe(entry: KeyReportEntry): string {
  const end = entry.notAfter === null ? "no end" : `until ${iso(entry.notAfter)}`;
  if (entry.role === "seals") return `seals new tickets and opens them (${end})`;
  if (entry.role === "opens") return `opens tickets only (${end})`;
  return `retired at ${iso(entry.notAfter!)}: opens nothing`;
}

export const keysCheck: Command = {
  name: "keys check",
  summary: "say which key seals, which retire and when, and what the next rotation does",
  help: `Usage: cloakroom keys check [--keys <list>] [--absolute-timeout <seconds>]

Reads the key list from --keys, else from SESSION_KEYS, the way createSessions reads it, and
prints which key seals, which keys still open tickets and until when, and what the next rotation
should do. Never prints a secret. Exit 0 when the list is usable, 1 when it is refused (a weak,
malformed or duplicate key, a sealing key that retires before an older one, every key retired).

  --keys <list>                "id:secret,id:secret@notAfter", newest first
  --absolute-timeout <seconds> how long sessions live at most (SESSION_ABSOLUTE_TIMEOUT; default 604800):
                               an old key must keep opening tickets that long after a rotation`,
  options: { keys: { type: "string" }, "absolute-timeout": { type: "string" } },
  async run(args, io) {
    const given = option(args, "keys");
    const input = given ?? io.env.SESSION_KEYS?.trim();
    if (!input) throw usageError("no keys to check: set SESSION_KEYS or pass --keys \"id:secret,...\".");
    // Every part that could be a secret is masked, even in a list that does not parse.
    for (const entry of input.split(",")) {
      const pair = entry.split("@")[0]!;
      io.secret(pair.slice(pair.indexOf(":") + 1).trim());
    }
    const fallback = Number(io.env.SESSION_ABSOLUTE_TIMEOUT) > 0 ? Number(io.env.SESSION_ABSOLUTE_TIMEOUT) : 604800;
    const absoluteTimeout = integerOption(args, "absolute-timeout", fallback, 1, 31_536_000);
    const report = inspectKeys(input, { absoluteTimeout });
    io.out(`${report.keys.length} key${report.keys.length === 1 ? "" : "s"} from ${given ? "--keys" : "SESSION_KEYS"}:`);
    for (const entry of report.keys) io.out(`  ${String(entry.position).padStart(2)}. "${entry.id}" ${describe(entry)}`);
    io.out("");
    for (const line of report.next) io.out(`- ${line}`);
    return EXIT.ok;
  },
};
