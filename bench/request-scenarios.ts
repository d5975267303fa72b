/**
 * Whole requests through `createSessions` on the memory store: `read` from a Cookie header,
 * what the handler does, `commit`. Each line has its own manager and store, so lines cannot
 * warm or fill each other's caches.
 *
 * The clock is frozen: no touch becomes due and nothing expires mid-run, so every request of a
 * line makes exactly the same calls, and the counts are exact. The cookie is passed as the
 * Cookie header string, the cheapest source `read` accepts, so the figures are cloakroom's own.
 *
 * @module
 */
import { createSessions, generateKey, type Sessions, type SessionsOptions } from "../src/index.ts";
import { memoryStore, type MemoryStore } from "../adapters/memory/index.ts";
import { manualClock, signIn } from "../test/shared/helpers.ts";
import { expectVisitor, type RequestOutcome, type Scenario } from "./scenario.ts";

type Data = { count: number };

/** Signed-in visitors per line: enough that lookups are not all one hot cache line. */
const VISITORS = 512;

interface Line {
  sessions: Sessions<Data>;
  store: MemoryStore;
  /** Cookie headers of signed-in visitors, taken in turn. */
  nextVisitor: () => string;
}

async function line(now: number, options: Partial<SessionsOptions> = {}, maxEntries?: number): Promise<Line> {
  const clock = manualClock(now);
  const store = memoryStore({ clock, ...(maxEntries ? { maxEntries } : {}) });
  const sessions = createSessions<Data>({ store, keys: generateKey("bench"), clock, ...options });
  const cookies: string[] = [];
  for (let i = 0; i < VISITORS; i++) cookies.push(await signIn(sessions, `user-${i}`));
  let next = 0;
  return { sessions, store, nextVisitor: () => cookies[next++ % VISITORS]! };
}

export async function requestScenarios(now: number): Promise<Scenario[]> {
  const cached = await line(now);
  const uncached = await line(now, { ticketCacheSize: 0 });
  const writing = await line(now);
  // Room for every sign-in of the run: what a full store costs is measured on its own
  // (store-scenarios.ts), and must not creep into this line halfway through.
  const signingIn = await line(now, {}, 10_000_000);

  async function readOnly({ sessions, nextVisitor }: Line): Promise<RequestOutcome> {
    const session = await sessions.read(nextVisitor());
    const known = !session.isNew;
    return { known, setCookie: await sessions.commit(session) };
  }

  let userNumber = 0;
  return [
    {
      id: "steady", group: "request", label: "(a) repeat visitor, no change",
      store: cached.store,
      run: () => readOnly(cached),
      inspect: expectVisitor(true),
    },
    {
      id: "nocache", group: "request", label: "(b) repeat visitor, ticketCacheSize: 0",
      store: uncached.store,
      run: () => readOnly(uncached),
      inspect: expectVisitor(true),
    },
    {
      id: "write", group: "request", label: "(c) read + update(\"count\") + commit",
      store: writing.store,
      run: async (): Promise<RequestOutcome> => {
        const session = await writing.sessions.read(writing.nextVisitor());
        const known = !session.isNew;
        session.update("count", (count = 0) => count + 1);
        return { known, setCookie: await writing.sessions.commit(session) };
      },
      inspect: expectVisitor(true),
    },
    {
      id: "signin", group: "request", label: "(d) new visitor sign-in",
      store: signingIn.store,
      run: async (): Promise<RequestOutcome> => {
        const session = await signingIn.sessions.read(null);
        const known = !session.isNew;
        session.regenerate();
        session.userId = `user-${userNumber++ % 1000}`;
        return { known, setCookie: await signingIn.sessions.commit(session) };
      },
      inspect: expectVisitor(false),
    },
  ];
}
