/**
 * Driver errors, made safe to pass on. A Postgres error can carry the session's data: `detail`
 * and `where` quote the input a statement refused (a jsonb parse error shows the JSON around
 * the fault), and drivers hang the statement's parameters on their errors (postgres.js
 * `parameters`, PGlite `params`). What the store throws keeps the driver's message, with any
 * quoted value cut out for data errors, and the SQLSTATE; the rest stays behind.
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

/** A driver's message; for a data exception with every quoted value and byte sequence cut out. */
function messageOf(error: unknown, code: string | undefined): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!isDataException(code)) return message;
  // Postgres quotes the input it refused ('for type bigint: "..."', 'value "..." is out of
  // range') and shows invalid bytes as hex.
  return message.replace(/"(?:[^"]|"")*"/g, '"…"').replace(/0x[0-9a-f]{2}(?:\s+0x[0-9a-f]{2})*/gi, "0x…");
}

/**
 * A plain copy of a driver error: name, message (see `messageOf`), `code` (the SQLSTATE, or a
 * Node error code such as ECONNREFUSED) and the stack frames. No `detail`, `where`, `hint`,
 * `query`, parameters or anything else the driver attached.
 */
export function safeCause(error: unknown): Error {
  const code = sqlstateOf(error);
  const original = error instanceof Error ? error : undefined;
  const copy = new Error(messageOf(error, code)) as Error & { code?: string };
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
export function statementError(operation: string, error: unknown): SessionError {
  const code = sqlstateOf(error);
  const cause = safeCause(error);
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
