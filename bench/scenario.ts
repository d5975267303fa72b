/**
 * What a benchmark line is: something to time (see measure.ts), plus what to count around it
 * and how to tell from its result that it measured what its label says.
 *
 * @module
 */
import type { MemoryStore } from "../adapters/memory/index.ts";
import type { Timed } from "./measure.ts";

export type Group = "baseline" | "ticket" | "request" | "store";

export interface Scenario extends Timed {
  group: Group;
  /** The store this line goes through; its calls are counted per operation. */
  store?: MemoryStore;
  /**
   * Reads one result during the counting pass: whether it carried a Set-Cookie, and what is
   * wrong with it if the setup is broken (say, a repeat visitor read as a new session, which
   * would make the line's figure meaningless).
   */
  inspect?: (result: unknown) => { setCookie?: boolean; problem?: string | undefined };
}

/** What a request line returns: enough to check it and to count Set-Cookie. */
export interface RequestOutcome {
  /** Whether the read found the visitor's session. */
  known: boolean;
  setCookie: string | null;
}

/** `inspect` for request lines: checks that the visitor was (or was not) recognised. */
export function expectVisitor(known: boolean): NonNullable<Scenario["inspect"]> {
  return (result) => {
    const outcome = result as RequestOutcome;
    return {
      setCookie: outcome.setCookie !== null,
      problem: outcome.known === known ? undefined : known ? "a repeat visitor read as a new session" : "a new visitor read as known",
    };
  };
}
