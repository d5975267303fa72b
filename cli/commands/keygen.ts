/** `cloakroom keygen [id]`: a new key entry for SESSION_KEYS. */
import { generateKey } from "../../src/index.ts";
import { usageError, type Command } from "../shell.ts";

export const keygen: Command = {
  name: "keygen",
  summary: "print a new key entry (id:secret) for SESSION_KEYS",
  help: `Usage: cloakroom keygen [id]

Prints a new key entry (id:secret, 32 random bytes) for SESSION_KEYS; the id defaults to
today's date. To rotate: put the new entry first, keep the old one with a notAfter, drop it after:
  SESSION_KEYS="<new entry>,<old entry>@2026-12-31T00:00:00Z"
Check a list with: cloakroom keys check`,
  options: {},
  positionals: true,
  async run(args, io) {
    if (args.positionals.length > 1) throw usageError("keygen takes one id at most; see cloakroom keygen --help.");
    // The one command whose output is a secret: it goes to stdout, for a pipe into a secret store.
    process.stdout.write(`${generateKey(args.positionals[0])}\n`);
    void io;
    return 0;
  },
};
