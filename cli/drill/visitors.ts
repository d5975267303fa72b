/**
 * The drill's visitors, driven through a session manager (what an application does with the
 * store), not over HTTP: sign in, read (GET /me), +1 (POST /count), sign out, sign out
 * everywhere. Each visitor belongs to one worker, so its requests never overlap and every
 * answer can be judged (figures.ts): a store error is a failure (the app would answer 503),
 * "signed out" for a live session a logout, a count below the acknowledged one a stale read.
 */
import type { Sessions } from "../../src/index.ts";
import { judge, type Op } from "./figures.ts";

export interface Visitor {
  user: string;
  cookie: string;
  /** Highest count a write acknowledged. */
  acked: number;
}

type Counter = Sessions<{ count: number }>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cookieOf = (setCookie: string | null) => setCookie?.split(";")[0] ?? "";

export async function signIn(sessions: Counter, user: string): Promise<Visitor> {
  const session = await sessions.read(null);
  session.userId = user;
  session.set("count", 1);
  return { user, cookie: cookieOf(await sessions.commit(session)), acked: 1 };
}

/** Reads the visitor's session: 200 with the count, 401 when it reads as signed out, 500 on a store error. */
async function readOne(sessions: Counter, visitor: Visitor): Promise<{ status: number; count: number }> {
  try {
    const session = await sessions.read(visitor.cookie);
    return session.userId === visitor.user ? { status: 200, count: session.get("count") ?? 0 } : { status: 401, count: 0 };
  } catch {
    return { status: 500, count: 0 };
  }
}

async function writeOne(sessions: Counter, visitor: Visitor): Promise<{ status: number; count: number }> {
  try {
    const session = await sessions.read(visitor.cookie);
    if (session.userId !== visitor.user) return { status: 401, count: 0 };
    const count = session.update("count", (n = 0) => n + 1);
    await sessions.commit(session);
    return { status: 200, count };
  } catch {
    return { status: 500, count: 0 };
  }
}

/** One visitor's read (GET /me) or +1 (POST /count): the status and the count it showed. */
export type VisitorCall = (visitor: Visitor) => Promise<{ status: number; count: number }>;

/**
 * Visitors read and write until stopped, through `calls` (the manager here, HTTP in the test
 * harness); each worker owns every `workers`-th visitor, and every answer is judged.
 */
export function runVisitors(visitors: Visitor[], workers: number, calls: { read: VisitorCall; write: VisitorCall }) {
  const ops: Op[] = [];
  let running = true;
  const worker = async (w: number) => {
    while (running) {
      for (let v = w; v < visitors.length && running; v += workers) {
        const visitor = visitors[v]!;
        let startedAt = performance.now();
        const read = await calls.read(visitor);
        let outcome = judge(read.status);
        if (outcome === "ok" && read.count < visitor.acked) outcome = "stale";
        ops.push({ kind: "read", startedAt, endedAt: performance.now(), status: read.status, outcome });

        startedAt = performance.now();
        const write = await calls.write(visitor);
        outcome = judge(write.status);
        if (outcome === "ok") {
          // The count written is one more than the one read: at or below an acknowledged count,
          // the write started from a stale read.
          if (write.count <= visitor.acked) outcome = "stale";
          visitor.acked = Math.max(visitor.acked, write.count);
        }
        ops.push({ kind: "write", startedAt, endedAt: performance.now(), status: write.status, outcome });
      }
      // Leave the event loop (and the servers) some air.
      await sleep(2);
    }
  };
  const all = Array.from({ length: workers }, (_, w) => worker(w));
  return {
    ops,
    async stop(): Promise<void> {
      running = false;
      // Every request is bounded by the stores' time budgets; this only guards the harness.
      await Promise.race([Promise.all(all), sleep(15_000)]);
    },
  };
}

/** The drill's load through a session manager. */
export function startLoad(sessions: Counter, visitors: Visitor[], workers: number) {
  return runVisitors(visitors, workers, { read: (visitor) => readOne(sessions, visitor), write: (visitor) => writeOne(sessions, visitor) });
}

export interface SignOut {
  visitor: Visitor;
  acknowledged: boolean;
}

/** Signs victims out while the fault lasts: one device, or every device of the user, in turn. */
export async function signOutDuringFault(sessions: Counter, victims: Visitor[]): Promise<SignOut[]> {
  const results: SignOut[] = [];
  for (const [i, visitor] of victims.entries()) {
    try {
      if (i % 2 === 0) {
        const session = await sessions.read(visitor.cookie);
        session.destroy();
        await sessions.commit(session);
      } else {
        await sessions.revokeUser(visitor.user);
      }
      results.push({ visitor, acknowledged: true });
    } catch {
      results.push({ visitor, acknowledged: false });
    }
  }
  return results;
}

/** After the fault, through a new client: every visitor read back, every acknowledged sign-out checked. */
export async function verify(fresh: Counter, visitors: Visitor[], signOuts: SignOut[]) {
  let sessionsLost = 0;
  for (const visitor of visitors) {
    const read = await readOne(fresh, visitor);
    if (read.status !== 200 || read.count < visitor.acked) sessionsLost++;
  }
  let staleSignOuts = 0;
  for (const { visitor, acknowledged } of signOuts) {
    if (acknowledged && (await readOne(fresh, visitor)).status === 200) staleSignOuts++;
  }
  return { sessionsLost, staleSignOuts, signOutsAcknowledged: signOuts.filter((s) => s.acknowledged).length };
}
