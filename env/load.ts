/**
 * Loads a Node-only driver (ioredis, pg, @electric-sql/pglite, node:fs) by a specifier held in
 * a variable. Bundlers (esbuild, wrangler, Vite) follow only `import()` of a string literal, so a
 * Worker bundle of cloakroom/env never pulls these in, and an application installs only the
 * driver it uses.
 *
 * @module
 */
import { configError } from "./variables.ts";

/** Whether `error` says the package `specifier` is not installed (Node, Bun, Deno, Vite wording). */
export function isNotFound(error: unknown, specifier: string): boolean {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : "";
  return (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" || /Cannot find (package|module)|Failed to load url/.test(message)) &&
    message.includes(specifier);
}

/**
 * @param specifier a package name or a `node:` module
 * @param neededBy the variable that asked for it, for the error message
 */
export async function loadDriver<T>(specifier: string, neededBy: string): Promise<T> {
  const name = specifier;
  try {
    return (await import(/* @vite-ignore */ /* webpackIgnore: true */ name)) as T;
  } catch (error) {
    if (isNotFound(error, specifier)) {
      throw configError(`${neededBy} is set, which needs the ${specifier} package; install it (npm install ${specifier}) or unset ${neededBy}.`);
    }
    throw error;
  }
}
