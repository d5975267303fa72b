import { describe, expect, it } from "vitest";
import { createSessions, generateKey, SessionError } from "../../src/index.ts";
import { memoryStore } from "../../adapters/memory/index.ts";
import type { SessionStore } from "../../src/store.ts";
import { cookieFrom, setup, signIn } from "./helpers.ts";

type Data = { count: number; a: number; b: number; tags: string[] };

/** Lets every request read before any writes: the worst interleaving for lost updates. */
async function parallel<T>(n: number, read: () => Promise<T>, change: (value: T) => Promise<unknown>) {
  const values = await Promise.all(Array.from({ length: n }, read));
  return Promise.all(values.map(change));
}

describe("no lost updates", () => {
  it("50 parallel requests that each add one end with 50", async () => {
    const { sessions, events } = setup<Data>();
    const cookie = await signIn(sessions, "ann");
    await parallel(50, () => sessions.read(cookie), (session) => {
      session.update("count", (count = 0) => count + 1);
      return sessions.commit(session);
    });
    expect((await sessions.read(cookie)).get("count")).toBe(50);
    expect(events.filter((e) => e.type === "conflict-retried").length).toBeGreaterThan(0);
  });

  it("parallel requests that change different keys keep every change", async () => {
    const { sessions } = setup<Data>();
    const cookie = await signIn(sessions, "ann");
    const [first, second, third] = await Promise.all([sessions.read(cookie), sessions.read(cookie), sessions.read(cookie)]);
    first!.set("a", 1);
    second!.set("b", 2);
    third!.update("tags", (tags = []) => [...tags, "x"]);
    await Promise.all([sessions.commit(first!), sessions.commit(second!), sessions.commit(third!)]);
    const after = await sessions.read(cookie);
    expect(after.toJSON()).toEqual({ a: 1, b: 2, tags: ["x"] });
    expect(after.userId).toBe("ann");
  });

  it("does not let a parallel request's commit clear the cookie a sign-in just set", async () => {
    const { sessions } = setup<Data>();
    const cookie = await signIn(sessions, "ann");
    const [login, poll] = await Promise.all([sessions.read(cookie), sessions.read(cookie)]);
    login!.userId = "ann-admin";
    const newCookie = await sessions.commit(login!);
    expect(newCookie).not.toBeNull();
    poll!.update("count", (n = 0) => n + 1);
    expect(await sessions.commit(poll!)).toBeNull();
    expect((await sessions.read(cookieFrom(newCookie))).userId).toBe("ann-admin");
  });

  it("shows the handler the replayed value after a conflict", async () => {
    const { sessions } = setup<Data>();
    const cookie = await signIn(sessions, "ann");
    const [one, two] = await Promise.all([sessions.read(cookie), sessions.read(cookie)]);
    one!.update("count", (count = 0) => count + 1);
    two!.update("count", (count = 0) => count + 10);
    await sessions.commit(one!);
    await sessions.commit(two!);
    expect(two!.get("count")).toBe(11);
  });

  it("gives up with ERR_SESSION_CONFLICT when the record keeps changing", async () => {
    const base = memoryStore();
    // A store whose every compare-and-set loses, as if another writer always wins.
    const hostile: SessionStore = { ...base, name: "hostile", write: async (h, r, v) => (v === 0 ? base.write(h, r, v) : false) };
    const sessions = createSessions<Data>({ store: hostile, keys: generateKey(), conflictRetries: 2 });
    const cookie = await signIn(sessions, "ann");
    const session = await sessions.read(cookie);
    session.set("a", 1);
    const error = await sessions.commit(session).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toMatchObject({ code: "ERR_SESSION_CONFLICT" });
    expect((error as Error).message).toContain("3 write attempts");
  });
});
