/**
 * Flash messages: kept for a later request (the page a form post redirects to), saved with the
 * session like any change (compare-and-set, replayed on a conflict), gone once read.
 */
import { describe, expect, it } from "vitest";
import { cookieFrom, setup, signIn } from "./helpers.ts";

type Data = { theme: string };

describe("flash messages", () => {
  it("survive exactly one later request: set on a post, read after the redirect, gone after", async () => {
    const { sessions } = setup<Data>();
    const cookie = await signIn(sessions, "ann");
    const post = await sessions.read(cookie);
    post.flash("notice", { text: "Saved.", level: "info" });
    expect(await sessions.commit(post)).toBeNull(); // no new ticket: the record holds it
    const page = await sessions.read(cookie);
    expect(page.takeFlash("notice")).toEqual({ text: "Saved.", level: "info" });
    expect(page.takeFlash("notice")).toBeUndefined(); // once per request too
    await sessions.commit(page);
    const next = await sessions.read(cookie);
    expect(next.takeFlash("notice")).toBeUndefined();
    expect(next.isDirty).toBe(false); // reading nothing changes nothing
  });

  it("stay out of the data the application sees, and keep the data beside them", async () => {
    const { sessions } = setup<Data>();
    const session = await sessions.read(null);
    session.set("theme", "dark");
    session.flash("notice", "Welcome");
    const cookie = cookieFrom(await sessions.commit(session));
    const again = await sessions.read(cookie);
    expect(again.toJSON()).toEqual({ theme: "dark" });
    expect(again.takeFlash("notice")).toBe("Welcome");
    await sessions.commit(again);
    expect((await sessions.read(cookie)).toJSON()).toEqual({ theme: "dark" });
  });

  it("are not lost to a parallel request's write: a flash set meanwhile survives a take", async () => {
    const { sessions } = setup<Data>();
    const cookie = await signIn(sessions, "ann");
    const seed = await sessions.read(cookie);
    seed.flash("first", 1);
    await sessions.commit(seed);
    const [reader, writer] = await Promise.all([sessions.read(cookie), sessions.read(cookie)]);
    writer.flash("second", 2);
    writer.set("theme", "light");
    await sessions.commit(writer);
    expect(reader.takeFlash("first")).toBe(1);
    await sessions.commit(reader); // conflicts, re-reads, replays the take on top of the writer's change
    const after = await sessions.read(cookie);
    expect(after.takeFlash("first")).toBeUndefined();
    expect(after.takeFlash("second")).toBe(2);
    expect(after.get("theme")).toBe("light");
  });

  it("ride in a cookie-cache snapshot even when include leaves the rest out", async () => {
    const { sessions, store } = setup<Data>({ cookieCache: { maxAge: 5, include: () => ({}) } });
    const session = await sessions.read(null);
    session.set("theme", "dark");
    session.flash("notice", "Saved.");
    const cookie = cookieFrom(await sessions.commit(session));
    const before = store.total();
    const served = await sessions.read(cookie);
    expect(served.fromCookieCache).toBe(true);
    expect(store.total()).toBe(before);
    expect(served.takeFlash("notice")).toBe("Saved.");
    await sessions.commit(served);
    expect(JSON.parse(store.raw.get(served.handle!)!.json).data).toEqual({ theme: "dark" });
  });

  it("refuse what is not JSON, as set does", async () => {
    const { sessions } = setup<Data>();
    const session = await sessions.read(null);
    expect(() => session.flash("bad", () => 1)).toThrow(/ERR_SESSION_DATA|JSON/);
    expect(() => session.flash("\ud800", "x")).toThrow(/lone surrogate/);
  });
});

describe("session data: no key reaches the data's prototype", () => {
  it("refuses __proto__ as a key, and reads inherited names as absent", async () => {
    const { sessions } = setup<Record<string, unknown>>();
    const session = await sessions.read(null);
    expect(session.get("constructor")).toBeUndefined();
    expect(session.get("toString")).toBeUndefined();
    expect(session.has("constructor")).toBe(false);
    expect(session.update("hasOwnProperty", (current) => current ?? "fresh")).toBe("fresh");
    for (const change of [() => session.set("__proto__", { admin: true }), () => session.update("__proto__", () => ({ admin: true })), () => session.flash("__proto__", 1)]) {
      expect(change).toThrow(/"__proto__" cannot be a (flash )?key/);
    }
    expect(session.get("admin")).toBeUndefined();
    expect(session.isDirty).toBe(true); // the update above
  });

  it("reads a stored __proto__ key as an own value, never as the prototype", async () => {
    const { sessions, store } = setup<Record<string, unknown>>();
    const session = await sessions.read(null);
    session.set("placeholder", 1);
    const cookie = cookieFrom(await sessions.commit(session));
    // As another writer may have left it; JSON.parse makes it an own property named __proto__.
    const stored = store.raw.get(session.handle!)!.json;
    store.raw.set(session.handle!, stored.replace('"data":{"placeholder":1}', '"data":{"__proto__":{"admin":true}}'));
    const again = await sessions.read(cookie);
    expect(again.get("admin")).toBeUndefined();
    expect(again.get("__proto__")).toEqual({ admin: true });
    again.set("other", 2);
    await sessions.commit(again);
    const next = await sessions.read(cookie);
    expect(next.get("admin")).toBeUndefined();
    expect(next.toJSON()).toEqual({ ["__proto__"]: { admin: true }, other: 2 });
  });
});
