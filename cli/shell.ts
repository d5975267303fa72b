/**
 * What every command shares: argument parsing with `--help`, one output channel that masks
 * secrets, and one way to fail (a single line on stderr and an exit code a script can test).
 *
 * Exit codes: 0 done (health: ok), 1 the check or operation failed (health: degraded),
 * 2 a store cannot be reached (health: down), 64 bad usage (an unknown option, a bad URL).
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { SessionError } from "../src/index.ts";
import { createRedactor } from "./secrets.ts";

export const EXIT = { ok: 0, failed: 1, unreachable: 2, usage: 64 } as const;

/** A failure with the line to print and the exit code to leave with. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);

export interface Io {
  /** Writes a line to stdout, secrets masked. */
  out(line?: string): void;
  /** Writes a line to stderr, secrets masked. */
  err(line: string): void;
  /** Writes to stderr without a line break (a progress bar redraws its line). */
  status(text: string): void;
  /** Whether stderr is a terminal (progress bars) and stdin one (questions). */
  readonly tty: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Adds strings never to print (passwords, tokens, key secrets), short ones too (secrets.ts). */
  secret(...values: (string | undefined)[]): void;
  /** Masks every known secret in `text`, and the password of every URL in it. */
  redact(text: string): string;
  /** One line read from stdin (a confirmation), or null at its end. */
  ask(question: string): Promise<string | null>;
}

export function processIo(): Io {
  const { add, redact } = createRedactor();
  return {
    out: (line = "") => void process.stdout.write(`${redact(line)}\n`),
    err: (line) => void process.stderr.write(`${redact(line)}\n`),
    status: (text) => void process.stderr.write(redact(text)),
    tty: Boolean(process.stderr.isTTY),
    env: process.env,
    secret: add,
    redact,
    async ask(question) {
      process.stderr.write(question);
      const { createInterface } = await import("node:readline");
      const lines = createInterface({ input: process.stdin });
      try {
        const line = await new Promise<string | null>((resolve) => {
          lines.once("line", resolve);
          lines.once("close", () => resolve(null));
        });
        return line;
      } finally {
        lines.close();
      }
    },
  };
}

export interface Command {
  name: string;
  /** One line for the overview. */
  summary: string;
  /** The whole help text, usage line first. */
  help: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  /** Whether positional arguments are taken (keygen's id). @default false */
  positionals?: boolean;
  run(args: Parsed, io: Io): Promise<number>;
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parses strictly: an unknown option or a missing value is a usage error naming it. */
export function parse(command: Command, argv: string[]): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      allowPositionals: command.positionals ?? false,
      strict: true,
    });
    return { values: values as Parsed["values"], positionals };
  } catch (error) {
    // Node's own wording, first sentence only (it goes on about `--` for positional arguments).
    const message = (error instanceof Error ? error.message : String(error)).split("\n")[0]!.split(/\. (?=[A-Z])/)[0]!;
    throw usageError(`${message.replace(/\.$/, "")}; see cloakroom ${command.name} --help.`);
  }
}

/** The value of a string option, or undefined; an empty value is a usage error. */
export function option(args: Parsed, name: string): string | undefined {
  const value = args.values[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.trim() === "") throw usageError(`--${name} needs a value.`);
  return value.trim();
}

/** A whole number option within bounds. */
export function integerOption(args: Parsed, name: string, fallback: number, min = 1, max = 1_000_000): number {
  const text = option(args, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) throw usageError(`--${name} must be a whole number from ${min} to ${max}; got ${JSON.stringify(text)}.`);
  return value;
}

/**
 * The one line a failure prints, and its exit code. A store fault means the server could not
 * be reached or answered an error: say so, and what to check.
 */
export function failureOf(error: unknown): CliError {
  if (error instanceof CliError) return error;
  const text = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ").replace(/^cloakroom: /, "");
  if (error instanceof SessionError) {
    if (error.code === "ERR_SESSION_STORE") return new CliError(`${text}`, EXIT.unreachable);
    if (error.code === "ERR_SESSION_CONFIG") return new CliError(text, EXIT.usage);
    return new CliError(text, EXIT.failed);
  }
  return new CliError(`unexpected error: ${text}`, EXIT.failed);
}
