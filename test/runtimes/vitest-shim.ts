/**
 * Stands in for "vitest" inside the workerd bundle (esbuild aliases the import here). The
 * shared cases only register describe/it/beforeEach/afterEach and call expect, so this records
 * the registrations and runs one case on demand; `expect` is Vitest's own, from @vitest/expect,
 * wired up the way vitest wires it, so matchers and failure messages match the Node run.
 *
 * Anything else fails loudly: an import this file does not export (beforeAll, vi...) stops the
 * esbuild bundle, and it.skip/only/each... throw at registration. A case that silently did not
 * run in workerd would pass the count and prove nothing.
 */
import {
  ASYMMETRIC_MATCHERS_OBJECT,
  ChaiStyleAssertions,
  GLOBAL_EXPECT,
  JestAsymmetricMatchers,
  JestChaiExpect,
  JestExtend,
  chai,
  customMatchers,
  getState,
  setState,
  type ExpectStatic,
} from "@vitest/expect";

type Fn = () => unknown;

interface Scope {
  name: string;
  parent: Scope | null;
  beforeEach: Fn[];
  afterEach: Fn[];
}

export interface Case {
  file: string;
  /** describe and it names joined with " > ", unique within the file. */
  name: string;
  scope: Scope;
  fn: Fn;
}

export const cases: Case[] = [];
let currentFile = "";
let scope: Scope = { name: "", parent: null, beforeEach: [], afterEach: [] };

/** Called by the worker before it imports each test file, so cases know where they came from. */
export function enterFile(file: string): void {
  currentFile = file;
  scope = { name: "", parent: null, beforeEach: [], afterEach: [] };
}

function pathOf(s: Scope): string[] {
  return s.parent ? [...pathOf(s.parent), s.name] : [];
}

export function describe(name: string, body: () => void): void {
  const parent = scope;
  scope = { name, parent, beforeEach: [], afterEach: [] };
  try {
    const result: unknown = body();
    if (result instanceof Promise) throw new Error(`describe("${name}") returned a promise; register cases synchronously.`);
  } finally {
    scope = parent;
  }
}

export function it(name: string, fn: Fn): void {
  if (typeof fn !== "function") throw new Error(`it("${name}") has no test function; todo cases are not allowed.`);
  const base = [...pathOf(scope), name].join(" > ");
  let unique = base;
  for (let n = 2; cases.some((c) => c.file === currentFile && c.name === unique); n++) unique = `${base} (${n})`;
  cases.push({ file: currentFile, name: unique, scope, fn });
}

export const test = it;

export function beforeEach(hook: Fn): void {
  scope.beforeEach.push(hook);
}

export function afterEach(hook: Fn): void {
  scope.afterEach.push(hook);
}

function unsupported(api: string) {
  return () => {
    throw new Error(`${api} is not supported by the workerd runner (test/runtimes/vitest-shim.ts); shared cases use describe/it/beforeEach/afterEach/expect only.`);
  };
}
for (const api of ["skip", "only", "todo", "each", "skipIf", "runIf", "concurrent", "fails"]) {
  Object.assign(it, { [api]: unsupported(`it.${api}`) });
  Object.assign(describe, { [api]: unsupported(`describe.${api}`) });
}

// The same plugin set vitest installs, minus snapshots and mocks (no file system, no vi).
chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(ChaiStyleAssertions);
chai.use(JestAsymmetricMatchers);

const globals = globalThis as unknown as Record<symbol, unknown>;

/** What vitest's `expect` adds to the @vitest/expect one, limited to what works without a test runner. */
type Expect = ExpectStatic & {
  assertions(count: number): void;
  hasAssertions(): void;
  unreachable(message?: string): never;
};
// JestExtend patches chai.expect with an `extend(expect, matchers)`; vitest's own types declare it, chai's do not.
const chaiExpect = chai.expect as unknown as { extend(target: unknown, matchers: unknown): void };

export const expect = ((value: unknown, message?: string) => {
  setState({ assertionCalls: getState(expect).assertionCalls + 1 }, expect);
  return chai.expect(value, message);
}) as Expect;
Object.assign(expect, chai.expect, globals[ASYMMETRIC_MATCHERS_OBJECT]);
expect.getState = () => getState(expect);
expect.setState = (state) => setState(state, expect);
expect.extend = (matchers) => chaiExpect.extend(expect, matchers);
expect.assertions = (count) => expect.setState({ expectedAssertionsNumber: count });
expect.hasAssertions = () => expect.setState({ isExpectingAssertions: true });
expect.unreachable = (message) => chai.assert.fail(`expected${message ? ` "${message}" ` : " "}not to be reached`);
globals[GLOBAL_EXPECT] = expect;
expect.extend(customMatchers);

function resetAssertionState(name: string): void {
  expect.setState({ assertionCalls: 0, expectedAssertionsNumber: null, isExpectingAssertions: false, currentTestName: name });
}

function checkAssertionCount(): void {
  const { assertionCalls, expectedAssertionsNumber, isExpectingAssertions } = expect.getState();
  if (expectedAssertionsNumber !== null && assertionCalls !== expectedAssertionsNumber) {
    throw new Error(`expected number of assertions to be ${expectedAssertionsNumber}, but got ${assertionCalls}`);
  }
  if (isExpectingAssertions && assertionCalls === 0) throw new Error("expected any number of assertion, but got none");
}

function chainOf(s: Scope): Scope[] {
  return s.parent ? [...chainOf(s.parent), s] : [s];
}

/**
 * Runs one case as vitest would: beforeEach hooks outside-in (a returned function is a
 * cleanup), the test, then afterEach hooks and cleanups inside-out even when something failed.
 * Resolves to the first thing thrown, or undefined when the case passed.
 */
export async function runCase(c: Case): Promise<{ error: unknown } | undefined> {
  resetAssertionState(c.name);
  const chain = chainOf(c.scope);
  const cleanups: Fn[] = [];
  let failed = false;
  let failure: unknown;
  const fail = (error: unknown) => {
    if (!failed) [failed, failure] = [true, error];
  };
  try {
    for (const s of chain) {
      for (const hook of s.beforeEach) {
        const cleanup = await hook();
        if (typeof cleanup === "function") cleanups.unshift(cleanup as Fn);
      }
    }
    await c.fn();
    checkAssertionCount();
  } catch (error) {
    fail(error);
  }
  const after = [...[...chain].reverse().flatMap((s) => [...s.afterEach].reverse()), ...cleanups];
  for (const hook of after) {
    try {
      await hook();
    } catch (error) {
      fail(error);
    }
  }
  return failed ? { error: failure } : undefined;
}
