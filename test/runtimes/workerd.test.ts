/**
 * Runs the shared cases in workerd (Miniflare), with nodejs_compat off. The cases are bundled into
 * one Worker; this file asks it for the list and registers one vitest test per case, so every
 * case counts as "workerd > <file> > <describe> > <it>" and a failure shows the worker's error.
 */
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { afterAll, describe, expect, it } from "vitest";
import { bundleWorker } from "./bundle-worker.ts";
import type { SerializedError } from "./worker.ts";

// The newest date the workerd bundled with miniflare 4.20260730 accepts; pinned so behaviour only changes on purpose.
const compatibilityDate = "2026-07-30";

interface Listing {
  runtime: { userAgent: string; process: string; Buffer: string };
  cases: { file: string; name: string }[];
  loadErrors: { file: string; error: SerializedError }[];
}

// Inside the repo: Miniflare rejects a scriptPath that climbs out with "..". The bundle has a source map, so workerd reports .ts positions.
const scriptPath = fileURLToPath(new URL("../../.reports/workerd/worker.js", import.meta.url));
const files = await bundleWorker(scriptPath);
const mf = new Miniflare({ modules: true, scriptPath, compatibilityDate, compatibilityFlags: [] });
afterAll(() => mf.dispose());

async function call<T>(path: string, body?: unknown): Promise<T> {
  const init = body === undefined ? {} : { method: "POST", body: JSON.stringify(body) };
  const response = await mf.dispatchFetch(`http://workerd.test${path}`, init);
  if (!response.ok) throw new Error(`worker ${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

/** Rebuilds the worker's error in Node so vitest prints its message, diff and (source-mapped) workerd stack. */
function rethrow(error: SerializedError): never {
  const rebuilt = Object.assign(new Error(error.message), { name: error.name, diff: error.diff, showDiff: false });
  // Keep frames and causes; the header repeats the (possibly multi-line) message.
  const frames = error.stack.split("\n").filter((line) => /^\s*at |^Caused by:/.test(line));
  rebuilt.stack = [`${error.name}: ${error.message}`, ...frames].join("\n");
  throw rebuilt;
}

const listing = await call<Listing>("/cases");

describe("workerd", () => {
  it("runs the cases without Node: Cloudflare-Workers, no process, no Buffer", () => {
    expect(listing.runtime).toEqual({ userAgent: "Cloudflare-Workers", process: "undefined", Buffer: "undefined" });
  });

  for (const file of files) {
    describe(file.replace(/^test\/shared\//, ""), () => {
      const failedLoad = listing.loadErrors.find((e) => e.file === file);
      if (failedLoad) it("loads", () => rethrow(failedLoad.error));
      for (const { name } of listing.cases.filter((c) => c.file === file)) {
        it(name, async () => {
          const result = await call<{ ok: boolean; error?: SerializedError }>("/run", { file, name });
          if (!result.ok) rethrow(result.error!);
        });
      }
    });
  }
});
