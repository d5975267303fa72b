/**
 * Runs the bundled suites under Deno: one `Deno.test` per case, named
 * "<suite> > <file> > <describe> > <it>", so the JUnit report counts every case. Started by
 * test/deno/run.ts, which bundles the suites (test/deno/bundle.ts), starts the Upstash REST
 * bridge and a redis-server, and passes in by environment:
 *
 *   CLOAKROOM_DENO_BUNDLES     directory holding shared.js and upstash.js
 *   UPSTASH_REDIS_REST_URL     the bridge (http://127.0.0.1:<port>)
 *   UPSTASH_REDIS_REST_TOKEN   its token
 *
 * Deno's own globals are reached through globalThis with a local type, so the repository's tsc
 * (Node types) checks this file too.
 */
export {}; // a module: top-level await, and the local `Deno` below shadows no global

interface DenoApi {
  test(definition: { name: string; fn: () => unknown | Promise<unknown> }): void;
  env: { get(name: string): string | undefined };
}
const Deno = (globalThis as unknown as { Deno: DenoApi }).Deno;

interface SerializedError {
  name: string;
  message: string;
  stack: string;
  diff?: string;
}

interface Runner {
  fetch(request: Request, env?: Record<string, string>): Promise<Response>;
}

interface Listing {
  runtime: { userAgent: string; process: string; Buffer: string };
  cases: { file: string; name: string }[];
  loadErrors: { file: string; error: SerializedError }[];
}

function required(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`test/deno/cases.test.ts: ${name} is not set; run it through node test/deno/run.ts.`);
  return value;
}

/** The worker's error as one Deno sees: message, vitest's diff when it is an assertion, the bundle's frames. */
function rethrow(error: SerializedError): never {
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  const frames = error.stack.split("\n").filter((line) => /^\s*at |^Caused by:/.test(line));
  // Deno prints the stack after its first line, so the diff goes there (once), before the frames.
  rebuilt.stack = [`${error.name}: ${error.message}`, ...(error.diff ? ["", error.diff, ""] : []), ...frames].join("\n");
  throw rebuilt;
}

const dir = required("CLOAKROOM_DENO_BUNDLES");
const suites: { suite: string; env?: Record<string, string> }[] = [
  { suite: "shared" },
  {
    suite: "upstash",
    env: { UPSTASH_REDIS_REST_URL: required("UPSTASH_REDIS_REST_URL"), UPSTASH_REDIS_REST_TOKEN: required("UPSTASH_REDIS_REST_TOKEN") },
  },
];

for (const { suite, env } of suites) {
  const runner = ((await import(new URL(`${suite}.js`, `file://${dir}/`).href)) as { default: Runner }).default;
  const call = async <T>(path: string, body?: unknown): Promise<T> => {
    const init = body === undefined ? {} : { method: "POST", body: JSON.stringify(body) };
    const response = await runner.fetch(new Request(`http://deno.test${path}`, init), env);
    if (!response.ok) throw new Error(`${suite} ${path} answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as T;
  };
  const listing = await call<Listing>("/cases");

  Deno.test({
    name: `${suite} > runs in Deno, and its cases loaded`,
    fn() {
      if (!/^Deno\//.test(listing.runtime.userAgent)) throw new Error(`expected a Deno user agent, got ${listing.runtime.userAgent}`);
      for (const failed of listing.loadErrors) rethrow({ ...failed.error, message: `${failed.file} did not load: ${failed.error.message}` });
      if (listing.cases.length === 0) throw new Error(`${suite}: no cases registered`);
    },
  });
  for (const { file, name } of listing.cases) {
    Deno.test({
      // A file imported statically by the entry (upstash-worker.ts) registers before the runner names it.
      name: [suite, file.replace(/^test\//, ""), name].filter(Boolean).join(" > "),
      async fn() {
        const result = await call<{ ok: boolean; error?: SerializedError }>("/run", { file, name });
        if (!result.ok) rethrow(result.error!);
      },
    });
  }
}
