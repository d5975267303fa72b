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

describe("session data is a plain map of keys", () => {
  it("stores __proto__ and constructor as ordinary keys, never as the data's prototype", async () => {
    const { sessions } = setup<Record<string, unknown>>();
    const session = await sessions.read(null);
    expect(session.get("constructor")).toBeUndefined();
    expect(session.get("toString")).toBeUndefined();
    expect(session.has("constructor")).toBe(false);
    session.set("__proto__", { admin: true });
    expect(session.get("admin")).toBeUndefined();
    expect(session.get("__proto__")).toEqual({ admin: true });
    const cookie = cookieFrom(await sessions.commit(session));
    for (const again of [await sessions.read(cookie), await sessions.read(cookie)]) {
      expect(again.get("admin")).toBeUndefined();
      expect(again.get("__proto__")).toEqual({ admin: true });
      expect(again.has("__proto__")).toBe(true);
      expect(Object.keys(again.toJSON())).toEqual(["__proto__"]);
    }
  });

  it("keeps __proto__ an ordinary key when served from the cookie cache too", async () => {
    const { sessions } = setup<Record<string, unknown>>({ cookieCache: { maxAge: 5 } });
    const session = await sessions.read(null);
    session.set("__proto__", { admin: true });
    const served = await sessions.read(cookieFrom(await sessions.commit(session)));
    expect(served.fromCookieCache).toBe(true);
    expect(served.get("admin")).toBeUndefined();
    expect(served.get("__proto__")).toEqual({ admin: true });
  });
});
