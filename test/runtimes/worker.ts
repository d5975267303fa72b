/**
 * The Worker that runs the shared cases inside workerd. bundle-worker.ts generates the entry
 * that calls `serve` with one lazy import per test file, so each file's registrations can be
 * attributed to it and a file that throws while loading is reported instead of hiding its cases.
 *
 *   GET  /cases                  -> { runtime, cases: [{ file, name }], loadErrors: [{ file, error }] }
 *   POST /run  { file, name }    -> { ok: true } | { ok: false, error }
 */
// The copy @vitest/expect itself uses; it turns an assertion's actual/expected into vitest's diff text.
import { processError } from "@vitest/utils/error";
import { cases, enterFile, runCase } from "./vitest-shim.ts";

export interface SerializedError {
  name: string;
  message: string;
  stack: string;
  /** Vitest's diff of actual and expected, when the error is an assertion. */
  diff?: string;
}

export type TestFiles = Record<string, () => Promise<unknown>>;

function serialize(thrown: unknown): SerializedError {
  if (!(thrown instanceof Error)) return { name: "Thrown", message: String(thrown), stack: "" };
  let stack = thrown.stack ?? "";
  for (let cause = thrown.cause; cause !== undefined; cause = cause instanceof Error ? cause.cause : undefined) {
    stack += `\nCaused by: ${cause instanceof Error ? cause.stack : String(cause)}`;
  }
  const { diff } = processError(thrown) as { diff?: string };
  return { name: thrown.name, message: thrown.message, stack, ...(diff ? { diff } : {}) };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

export function serve(files: TestFiles) {
  let loading: Promise<{ file: string; error: SerializedError }[]> | undefined;

  // Files load one after another: registration is synchronous per file, so the current file is known.
  async function loadAll() {
    const loadErrors: { file: string; error: SerializedError }[] = [];
    for (const [file, load] of Object.entries(files)) {
      enterFile(file);
      try {
        await load();
      } catch (error) {
        loadErrors.push({ file, error: serialize(error) });
      }
    }
    return loadErrors;
  }

  return {
    async fetch(request: Request): Promise<Response> {
      const loadErrors = await (loading ??= loadAll());
      const { pathname } = new URL(request.url);
      if (pathname === "/cases") {
        const runtime = {
          userAgent: navigator.userAgent,
          process: typeof (globalThis as { process?: unknown }).process,
          Buffer: typeof (globalThis as { Buffer?: unknown }).Buffer,
        };
        return json({ runtime, cases: cases.map(({ file, name }) => ({ file, name })), loadErrors });
      }
      if (pathname === "/run" && request.method === "POST") {
        const { file, name } = (await request.json()) as { file: string; name: string };
        const found = cases.find((c) => c.file === file && c.name === name);
        if (!found) return json({ error: `no case ${file} > ${name}` }, 404);
        const result = await runCase(found);
        return json(result ? { ok: false, error: serialize(result.error) } : { ok: true });
      }
      return json({ error: `unknown route ${request.method} ${pathname}` }, 404);
    },
  };
}
