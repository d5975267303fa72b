#!/usr/bin/env node
/**
 * `npx cloakroom <command>`: the operator's commands, each a thin shell over library calls
 * (one file per command in cli/commands/). Every command answers --help, masks passwords and
 * tokens, and fails with one line and an exit code (cli/shell.ts: 1 failed, 2 a store cannot be
 * reached, 64 bad usage).
 *
 *   keygen [id]         a new key entry for SESSION_KEYS
 *   keys check          what SESSION_KEYS does now and what the next rotation does
 *   health              the store's health, exit 0 ok / 1 degraded / 2 down
 *   cleanup             deleteExpired on Postgres, in batches
 *   migrate             copy every session from one store to another, resumably
 *   drill               the Sentinel failover drill against a running deployment
 *
 * @module
 */
import { cleanup } from "./commands/cleanup.ts";
import { drill } from "./commands/drill.ts";
import { health } from "./commands/health.ts";
import { keygen } from "./commands/keygen.ts";
import { keysCheck } from "./commands/keys-check.ts";
import { migrate } from "./commands/migrate.ts";
import { EXIT, failureOf, parse, processIo, usageError, type Command } from "./shell.ts";

const COMMANDS: Command[] = [keygen, keysCheck, health, cleanup, migrate, drill];

const overview = `Usage: cloakroom <command> [options]      (cloakroom <command> --help for one)

${COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join("\n")}

Exit codes: 0 done, 1 failed (health: degraded), 2 a store cannot be reached (health: down), 64 bad usage.`;

/** The command named by the first one or two words, and the arguments after them. */
function find(argv: string[]): { command: Command | undefined; rest: string[] } {
  const two = COMMANDS.find((c) => c.name === argv.slice(0, 2).join(" "));
  if (two) return { command: two, rest: argv.slice(2) };
  return { command: COMMANDS.find((c) => c.name === argv[0] && !c.name.includes(" ")), rest: argv.slice(1) };
}

async function main(argv: string[]): Promise<number> {
  const io = processIo();
  if (argv.length === 0 || ["help", "--help", "-h"].includes(argv[0]!)) {
    const topic = argv[0] === "help" ? find(argv.slice(1)).command : undefined;
    io.out(topic ? topic.help : overview);
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const { command, rest } = find(argv);
  try {
    if (!command) {
      const guess = argv[0] === "keys" ? "keys check" : undefined;
      throw usageError(`unknown command ${JSON.stringify(argv.slice(0, guess ? 2 : 1).join(" "))}; ${guess ? `did you mean cloakroom ${guess}?` : "cloakroom --help lists the commands."}`);
    }
    const args = parse(command, rest);
    if (args.values.help) {
      io.out(command.help);
      return EXIT.ok;
    }
    return await command.run(args, io);
  } catch (error) {
    const failure = failureOf(error);
    io.err(`cloakroom${command ? ` ${command.name}` : ""}: ${failure.message}`);
    return failure.exitCode;
  }
}

// Exit as soon as the command is done: a driver's idle socket or timer must not keep a cron job
// waiting. Writes to a pipe or a file are synchronous on Linux and macOS, so nothing is cut off.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`cloakroom: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(EXIT.failed);
  },
);
