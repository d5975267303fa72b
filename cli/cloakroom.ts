#!/usr/bin/env node
/**
 * `npx cloakroom keygen [id]`: prints a new `id:secret` entry for SESSION_KEYS.
 *
 * @module
 */
import { generateKey, SessionError } from "../src/index.ts";

const usage = `Usage: cloakroom keygen [id]

Prints a new key entry (id:secret, 32 random bytes) for SESSION_KEYS.
To rotate: put the new entry first, keep the old one with a notAfter, drop it after:
  SESSION_KEYS="<new entry>,<old entry>@2026-12-31T00:00:00Z"`;

const [command, id, ...rest] = process.argv.slice(2);
if (command === "keygen" && rest.length === 0) {
  try {
    process.stdout.write(`${generateKey(id)}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof SessionError ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
} else if (command === "help" || command === "--help" || command === "-h") {
  process.stdout.write(`${usage}\n`);
} else {
  process.stderr.write(`${usage}\n`);
  process.exitCode = 1;
}
