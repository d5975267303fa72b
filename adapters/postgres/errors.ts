/**
 * Driver errors, made safe to pass on. A Postgres error can carry the session's data: `detail`
 * and `where` quote the input a statement refused (a jsonb parse error shows the JSON around
 * the fault), and drivers hang the statement's parameters on their errors (postgres.js
 * `parameters`, PGlite `params`), and any message can quote a value: a data error quotes the
 * input it refused, and a trigger's `RAISE` (SQLSTATE P0001) says whatever its author wrote,
 * parameters included. What the store throws keeps the driver's message with every quoted
 * value and every value of the statement's parameters cut out, and the SQLSTATE; the rest
 * stays behind.
 *
 * An error of SQLSTATE class 22 (data exception) is about a value the store was given, not
 * about the server: it is ERR_SESSION_DATA, so a guarded store does not count it as a fault
 * and one visitor's bad value cannot open the breaker for everyone. The core refuses such
 * values at `session.set` already (src/storable.ts); this is the store's own line of defence.
 *
 * @module
 */
import { SessionError } from "../../src/errors.ts";

/** The SQLSTATE of a driver error (five characters), if it has one. */
export function sqlstateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** The SQLSTATE of a driver error, also when the store has wrapped it (the cause of a SessionError). */
export function sqlstateBehind(error: unknown): string | undefined {
  return sqlstateOf(error) ?? (error instanceof SessionError ? sqlstateOf(error.cause) : undefined);
}

const isDataException = (code: string | undefined) => code?.startsWith("22") === true;

/** Strings shorter than this are left in a message: they would cut up its words, not hide a value. */
const SHORTEST_REDACTED = 3;

/**
 * Every text a statement's parameters hold, as a message could spell it: each string, each
 * number, and for a JSON parameter (the session's data) each value inside it (its keys are the
 * application's names, not its data), raw and JSON-escaped. Longest first, so a value is cut out whole before any part of it.
 */
function valuesOf(params: readonly unknown[]): string[] {
  const found = new Set<string>();
  const add = (value: unknown, depth: number): void => {
    if (depth > 64) return;
    if (typeof value === "string") {
      if (value.length >= SHORTEST_REDACTED) found.add(value).add(JSON.stringify(value).slice(1, -1));
      if (depth === 0 && /^[[{]/.test(value)) {
        try {
          add(JSON.parse(value), 1);
        } catch {
          // not JSON: the string itself is cut out
        }
      }
    } else if (typeof value === "number" || typeof value === "bigint") {
      add(String(value), depth + 1);
    } else if (typeof value === "object" && value !== null) {
      for (const item of Object.values(value)) add(item, depth + 1);
    }
  };
  for (const param of params) add(param, 0);
  return [...found].sort((a, b) => b.length - a.length);
}

/**
 * A driver's message with values cut out: whatever it quotes (Postgres quotes the input it
 * refused; identifiers too, a small loss), byte sequences shown as hex, and every value of the
 * statement's parameters wherever it appears. A message raised by a function or trigger
 * (SQLSTATE class P0) is its author's text, which may hold any value, the row's old data
 * included: none of it is kept.
 */
function messageOf(error: unknown, params: readonly unknown[]): string {
  const code = sqlstateOf(error);
  if (code?.startsWith("P0")) return `a database function or trigger raised SQLSTATE ${code} (its message is withheld: it may quote session data)`;
  let message = error instanceof Error ? error.message : String(error);
  for (const value of valuesOf(params)) message = message.split(value).join("…");
  return message.replace(/"(?:[^"]|"")*"/g, '"…"').replace(/0x[0-9a-f]{2}(?:\s+0x[0-9a-f]{2})*/gi, "0x…");
}

/**
 * A plain copy of a driver error: name, message (see `messageOf`; `params` are the statement's
 * parameters), `code` (the SQLSTATE, or a Node error code such as ECONNREFUSED) and the stack
 * frames. No `detail`, `where`, `hint`, `query`, parameters or anything else the driver attached.
 */
export function safeCause(error: unknown, params: readonly unknown[] = []): Error {
  const original = error instanceof Error ? error : undefined;
  const copy = new Error(messageOf(error, params)) as Error & { code?: string };
  copy.name = original?.name ?? "Error";
  const anyCode = (error as { code?: unknown } | null)?.code;
  if (typeof anyCode === "string") copy.code = anyCode;
  const frames = original?.stack?.split("\n").filter((line) => /^\s+at /.test(line)) ?? [];
  copy.stack = [`${copy.name}: ${copy.message}`, ...frames].join("\n");
  return copy;
}

/** What a data exception's SQLSTATE means for a session value, in words that name the fix. */
function dataProblem(code: string): string {
  switch (code) {
    case "22P05": // untranslatable_character: \u0000 in jsonb
    case "22021": // character_not_in_repertoire: a NUL byte in text
      return "a string holds a NUL character (\\u0000), which PostgreSQL text and jsonb cannot store";
    case "22P02": // invalid_text_representation: the JSON text was refused
      return "jsonb refused the JSON text, most often for a lone surrogate (half of a UTF-16 pair, \\ud800-\\udfff) in a string";
    case "22003": // numeric_value_out_of_range
      return "a number is out of the range its column takes";
    default:
      return "a value does not fit the column it is stored in";
  }
}

/**
 * The error the store throws for a failed statement: ERR_SESSION_DATA for a data exception,
 * ERR_SESSION_STORE otherwise; in both the cause is `safeCause(error)`.
 */
export function statementError(operation: string, error: unknown, params: readonly unknown[] = []): SessionError {
  const code = sqlstateOf(error);
  const cause = safeCause(error, params);
  if (code !== undefined && isDataException(code)) {
    return new SessionError(
      "ERR_SESSION_DATA",
      `the postgres store refused the values of its ${operation} statement: ${dataProblem(code)} (SQLSTATE ${code}: ${cause.message}). ` +
        "Keep such values out of the session (session.set refuses them); this is not a store fault.",
      { cause },
    );
  }
  return new SessionError(
    "ERR_SESSION_STORE",
    `the postgres store could not run its ${operation} statement (${cause.name}${code ? ` ${code}` : ""}: ${cause.message}). ` +
      "Check the database connection and the store's health.",
    { cause },
  );
}
