/**
 * Which drivers the runtime can use. ioredis and pg need TCP sockets and Node's modules, which
 * Node, Bun and Deno have and Cloudflare Workers (and other fetch-only edge runtimes) do not;
 * Upstash speaks HTTP and works everywhere.
 *
 * @module
 */

/** "node": Node, Bun or Deno (TCP and Node drivers). "edge": Cloudflare Workers and other fetch-only runtimes. */
export type RuntimeKind = "node" | "edge";

export interface Runtime {
  kind: RuntimeKind;
  /** For messages: "Node", "Cloudflare Workers", ... */
  name: string;
}

export function detectRuntime(): Runtime {
  const g = globalThis as {
    navigator?: { userAgent?: unknown };
    EdgeRuntime?: unknown;
    Deno?: unknown;
    Bun?: unknown;
    process?: { versions?: { node?: unknown } };
  };
  // Before the Node check: with nodejs_compat a Worker has a `process` too, but still no TCP driver.
  if (g.navigator?.userAgent === "Cloudflare-Workers") return { kind: "edge", name: "Cloudflare Workers" };
  if (typeof g.EdgeRuntime === "string") return { kind: "edge", name: "an edge runtime (Vercel Edge)" };
  if (typeof g.Deno === "object" && g.Deno !== null) return { kind: "node", name: "Deno" };
  if (typeof g.Bun === "object" && g.Bun !== null) return { kind: "node", name: "Bun" };
  if (typeof g.process?.versions?.node === "string") return { kind: "node", name: "Node" };
  return { kind: "edge", name: "this runtime (not Node, Bun or Deno)" };
}

export function runtimeOf(kind: RuntimeKind | undefined): Runtime {
  const detected = detectRuntime();
  if (kind === undefined || kind === detected.kind) return detected;
  return kind === "edge" ? { kind, name: "an edge runtime (runtime: \"edge\")" } : { kind, name: "Node (runtime: \"node\")" };
}
