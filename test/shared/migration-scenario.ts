/**
 * A move between two stores under load, as the README's recipe runs it: sessions live in the
 * old store; the application switches to `migratingStore({ from, to })`; `copySessions` copies
 * in the background while visitors read, write, sign in, sign out and are revoked everywhere;
 * then the application runs on the new store alone. Every answer is judged:
 * - a live visitor read as signed out (or its session missing) is a logout;
 * - a count below one already acknowledged is a stale read;
 * - a visitor whose sign-out or revocation was acknowledged and who reads as signed in, on the
 *   migrating store or on the new store alone afterwards, is "back";
 * - afterwards, on the new store alone, a live visitor that does not read with its
 *   acknowledged count is lost.
 *
 * Web-standard (runs wherever test/shared runs); the real-server pairs are in test/migration/.
 */
import { copySessions, createSessions, generateKey, migratingStore, type CopyProgress, type Sessions, type SessionStore } from "../../src/index.ts";
import { cookieFrom } from "./helpers.ts";

interface Visitor {
  user: string | null;
  cookie: string;
  acked: number;
  out: boolean;
}

export interface MigrationFigures {
  seeded: number;
  /** Seeded sessions nobody uses during the move: only the copy can move them. */
  idle: number;
  copy: CopyProgress;
  reads: number;
  writes: number;
  signIns: number;
  signOuts: number;
  revocations: number;
  /** Of the above, while the copy ran. */
  duringCopy: { writes: number; signOuts: number; revocations: number };
  /** Operations that threw. */
  failed: number;
  logouts: number;
  stale: number;
  back: number;
  lost: number;
  /** Live signed-in visitors the new store's user index does not list afterwards. */
  unindexed: number;
  /** What went wrong, for the failure message. */
  notes: string[];
}

export interface ScenarioOptions {
  from: SessionStore;
  to: SessionStore;
  /** Signed-in users seeded in the old store, two devices each. @default 30 */
  users?: number;
  /** Anonymous sessions seeded (a cart, no user). @default 10 */
  anonymous?: number;
  workers?: number;
  pageSize?: number;
  /** Rounds of traffic after the copy finished. @default 1 */
  roundsAfter?: number;
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 0));

async function signIn(sessions: Sessions<{ count: number }>, user: string): Promise<Visitor> {
  const session = await sessions.read(null);
  session.userId = user;
  session.set("count", 1);
  return { user, cookie: cookieFrom(await sessions.commit(session)), acked: 1, out: false };
}

export async function liveMigration(options: ScenarioOptions): Promise<MigrationFigures> {
  const keys = generateKey("move");
  const old = createSessions<{ count: number }>({ store: options.from, keys });
  const app = createSessions<{ count: number }>({ store: migratingStore({ from: options.from, to: options.to }), keys });
  const figures: MigrationFigures = {
    seeded: 0, idle: 0, copy: { scanned: 0, copied: 0, present: 0, gone: 0, cursor: null, done: false },
    reads: 0, writes: 0, signIns: 0, signOuts: 0, revocations: 0, duringCopy: { writes: 0, signOuts: 0, revocations: 0 }, failed: 0, logouts: 0, stale: 0, back: 0, lost: 0, unindexed: 0, notes: [],
  };
  const note = (line: string) => figures.notes.length < 20 && figures.notes.push(line);

  // Before the move: the application on the old store alone. A user's devices form a group,
  // and one worker serves a group, so a revocation never races a read it would explain.
  const groups: Visitor[][] = [];
  const tag = Math.random().toString(36).slice(2, 8);
  for (let i = 0; i < (options.users ?? 30); i++) {
    groups.push([await signIn(old, `mover-${tag}-${i}`), await signIn(old, `mover-${tag}-${i}`)]);
  }
  for (let i = 0; i < (options.anonymous ?? 10); i++) {
    const session = await old.read(null);
    session.set("count", 1);
    groups.push([{ user: null, cookie: cookieFrom(await old.commit(session)), acked: 1, out: false }]);
  }
  figures.seeded = groups.flat().length;
  // A third of the users and carts stay away during the move, as most sessions do.
  const idle = new Set(groups.filter((_, g) => g % 3 === 2));
  figures.idle = [...idle].flat().length;
  let newcomers = 0;

  /** One visitor's next step, chosen at random; every step is judged. */
  async function step(visitor: Visitor, group: Visitor[]): Promise<void> {
    steps++;
    const during = copying ? figures.duringCopy : { writes: 0, signOuts: 0, revocations: 0 };
    const session = await app.read(visitor.cookie);
    figures.reads++;
    const signedIn = visitor.user === null ? !session.isNew : session.userId === visitor.user;
    if (visitor.out) {
      if (signedIn) figures.back++, note(`${visitor.user ?? "anonymous"} read as signed in after its sign-out`);
      return;
    }
    if (!signedIn) {
      figures.logouts++;
      note(`${visitor.user ?? "anonymous"} read as signed out (${session.invalidReason ?? "new"})`);
      return;
    }
    const count = session.get("count") ?? 0;
    if (count < visitor.acked) figures.stale++, note(`${visitor.user ?? "anonymous"} read ${count}, acknowledged ${visitor.acked}`);
    const roll = Math.random();
    if (roll < 0.45) {
      session.update("count", (n = 0) => n + 1);
      const setCookie = await app.commit(session);
      if (setCookie) visitor.cookie = cookieFrom(setCookie);
      visitor.acked = session.get("count")!;
      figures.writes++;
      during.writes++;
    } else if (roll < 0.5) {
      session.destroy();
      await app.commit(session);
      visitor.out = true;
      figures.signOuts++;
      during.signOuts++;
    } else if (roll < 0.54 && visitor.user !== null) {
      await app.revokeUser(visitor.user);
      for (const device of group) device.out = true;
      figures.revocations++;
      during.revocations++;
    } else if (roll < 0.58) {
      // Someone new signs in on the migrating store: the session lives in the new store only.
      groups.push([await signIn(app, `new-${tag}-${newcomers++}`)]);
      figures.signIns++;
    }
  }

  let copying = true;
  let steps = 0;
  const copy = copySessions({
    from: options.from,
    to: options.to,
    pageSize: options.pageSize ?? 8,
    concurrency: 4,
    // Visitors take a few steps between two pages, however fast the copy: every page is copied
    // while sessions around it are read, written, signed out and revoked.
    onPage: async () => {
      for (const until = steps + 12; steps < until; ) await new Promise((resolve) => setTimeout(resolve, 1));
    },
  }).finally(() => (copying = false));
  const workers = options.workers ?? 4;
  const traffic = Array.from({ length: workers }, async (_, w) => {
    for (let round = 0, after = 0; copying || after++ < (options.roundsAfter ?? 1); round++) {
      for (let g = w; g < groups.length; g += workers) {
        if (idle.has(groups[g]!)) continue;
        for (const visitor of groups[g]!) {
          try {
            await step(visitor, groups[g]!);
          } catch (error) {
            figures.failed++;
            note(`an operation threw: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
      }
      await pause();
    }
  });
  figures.copy = await copy;
  await Promise.all(traffic);
  const visitors = groups.flat();

  // Step 3 of the recipe: the new store alone.
  const after = createSessions<{ count: number }>({ store: options.to, keys });
  for (const target of [after, app]) {
    for (const visitor of visitors) {
      const session = await target.read(visitor.cookie);
      const signedIn = visitor.user === null ? !session.isNew : session.userId === visitor.user;
      if (visitor.out && signedIn) figures.back++, note(`${visitor.user ?? "anonymous"} signed in again after the move`);
      if (!visitor.out && (!signedIn || session.get("count") !== visitor.acked)) {
        figures.lost++;
        note(`${visitor.user ?? "anonymous"} lost: ${signedIn ? `count ${session.get("count")}, acknowledged ${visitor.acked}` : session.invalidReason}`);
      }
      if (target === after && !visitor.out && visitor.user !== null && signedIn) {
        const listed = await after.listUser(visitor.user);
        if (!listed.some((info) => info.handle === session.handle)) figures.unindexed++, note(`${visitor.user} missing from the user index`);
      }
    }
  }
  return figures;
}
