import { describe, expect, it } from "vitest";
import { memoryStore } from "../../adapters/memory/index.ts";
import { copySessions, migratingStore } from "../../src/index.ts";
import type { SessionStore } from "../../src/store.ts";
import { storeConformance, testHandle, testRecord } from "cloakroom/testing";
import { liveMigration } from "./migration-scenario.ts";

// Both stores empty at the start: every rule of the contract holds for what is written through it.
storeConformance("migratingStore(memory → memory)", {
  create: () => migratingStore({ from: memoryStore(), to: memoryStore() }),
  capabilities: { scan: false },
});

/**
 * A store whose next call of `method` waits until released: puts a racing operation exactly
 * between two steps of another.
 */
function gated<S extends SessionStore>(store: S, method: "write" | "read") {
  let gate: { reached: () => void; release: Promise<void> } | undefined;
  const wrapped = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== method || typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        const held = gate;
        gate = undefined;
        if (held) {
          held.reached();
          await held.release;
        }
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  return {
    store: wrapped,
    /** Holds the next call; resolves once it is held, and gives the function that lets it go. */
    hold(): Promise<() => void> {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      return new Promise((reached) => (gate = { reached: () => reached(release), release: released }));
    },
  };
}

function stores() {
  const from = memoryStore();
  const to = memoryStore();
  return { from, to, store: migratingStore({ from, to }) };
}

describe("migratingStore", () => {
  it("reads the old store when the new one misses, and copies the session on that first touch", async () => {
    const { from, to, store } = stores();
    const handle = testHandle("ann");
    const past = Date.now() - 20_000;
    const record = testRecord({ userId: "ann", version: 3, lastSeenAt: past, expiresAt: past + 60_000 });
    await from.write(handle, record, 0);

    const now = Date.now();
    const read = await store.read(handle, { now, interval: 5_000 });
    expect(read).toEqual({ record: { ...record, lastSeenAt: now, expiresAt: now + 60_000 }, touched: true });
    // In the new store with its version, touched expiry and user index; served from there now.
    expect((await to.read(handle))?.record).toEqual(read!.record);
    expect(to.raw.get(handle)?.expiresAt).toBe(now + 60_000);
    expect((await to.listUser("ann")).map((s) => s.handle)).toEqual([handle]);
    expect(await store.read(handle)).toEqual({ record: read!.record, touched: false });
    expect(await store.read(testHandle())).toBeNull();
  });

  it("moves a session still in the old store with its first write, compare-and-set on the old version", async () => {
    const { from, to, store } = stores();
    const handle = testHandle();
    await from.write(handle, testRecord({ version: 3 }), 0);
    expect(await store.write(handle, testRecord({ version: 3, data: { stale: true } }), 2)).toBe(false);
    expect(await store.write(handle, testRecord({ version: 4, data: { moved: true } }), 3)).toBe(true);
    expect((await to.read(handle))?.record).toMatchObject({ version: 4, data: { moved: true } });
    expect(await from.read(handle)).toBeNull();
    expect(await store.write(handle, testRecord({ version: 5 }), 3)).toBe(false);
  });

  it("removes the old copy when a copied session is written, signed out or retired", async () => {
    const { from, to, store } = stores();
    const [written, signedOut, retired] = [testHandle(), testHandle(), testHandle()];
    for (const handle of [written, signedOut, retired]) {
      await from.write(handle, testRecord(), 0);
      await store.read(handle);
      expect(await to.read(handle)).not.toBeNull();
    }
    await store.write(written, testRecord({ version: 2 }), 1);
    await store.delete(signedOut);
    await store.write(retired, testRecord({ version: 2, expiresAt: Date.now() }), 1);
    for (const handle of [written, signedOut, retired]) expect(await from.read(handle)).toBeNull();
    for (const handle of [signedOut, retired]) expect(await store.read(handle)).toBeNull();
  });

  it("never brings back a session signed out while a read was copying it", async () => {
    const from = memoryStore();
    const to = gated(memoryStore(), "write");
    const store = migratingStore({ from, to: to.store });
    const handle = testHandle();
    await from.write(handle, testRecord(), 0);
    const held = to.hold();
    const reading = store.read(handle);
    const release = await held; // the read found the old copy and is about to create the new one
    await store.delete(handle);
    release();
    expect(await reading).toBeNull();
    expect(await store.read(handle)).toBeNull();
    expect(await to.store.read(handle)).toBeNull();
  });

  it("never brings back a session revoked while a write was moving it", async () => {
    const from = memoryStore();
    const to = gated(memoryStore(), "write");
    const store = migratingStore({ from, to: to.store });
    const handle = testHandle("bo");
    await from.write(handle, testRecord({ userId: "bo" }), 0);
    // The first new-store write (the compare-and-set) passes; the move's create is held.
    const moving = (async () => {
      const first = to.hold();
      const writing = store.write(handle, testRecord({ userId: "bo", version: 2 }), 1);
      (await first)();
      return writing;
    })();
    const second = await to.hold();
    expect(await store.revokeUser!("bo")).toBe(1);
    second();
    // Acknowledged, and revoked at once: ordered before the revocation, as on Redis.
    expect(await moving).toBe(true);
    expect(await store.read(handle)).toBeNull();
    expect(await store.listUser!("bo")).toEqual([]);
  });

  it("lists and revokes a user's sessions in both stores, counting each once", async () => {
    const { from, to, store } = stores();
    const [oldOnly, copied, fresh, kept] = [testHandle("cy"), testHandle("cy"), testHandle("cy"), testHandle("cy")];
    for (const handle of [oldOnly, copied, kept]) await from.write(handle, testRecord({ userId: "cy" }), 0);
    await store.read(copied);
    await store.write(fresh, testRecord({ userId: "cy" }), 0);
    expect((await store.listUser!("cy")).map((s) => s.handle).sort()).toEqual([oldOnly, copied, fresh, kept].sort());
    expect(await store.revokeUser!("cy", { except: kept })).toBe(3);
    expect((await store.listUser!("cy")).map((s) => s.handle)).toEqual([kept]);
    for (const handle of [oldOnly, copied, fresh]) {
      expect(await from.read(handle)).toBeNull();
      expect(await to.read(handle)).toBeNull();
    }
  });

  it("reports the old store's outage as degraded, the new store's as down", async () => {
    const { from, store } = stores();
    expect((await store.health()).details?.status).toBe("ok");
    const broken = migratingStore({ from: { ...from, name: "old", health: async () => ({ ok: false, latencyMs: 1 }) }, to: memoryStore() });
    expect(await broken.health()).toMatchObject({ ok: true, details: { status: "degraded" } });
    const down = migratingStore({ from, to: { ...memoryStore(), health: async () => { throw new Error("refused"); } } });
    expect(await down.health()).toMatchObject({ ok: false, details: { status: "down" } });
  });

  it("refuses a missing or identical pair of stores", () => {
    const one = memoryStore();
    expect(() => migratingStore({ from: one, to: one })).toThrow(/same store/);
    expect(() => migratingStore({ from: one } as never)).toThrow(/needs \{ from, to \}/);
  });
});

describe("copySessions", () => {
  async function seeded(count: number) {
    const from = memoryStore();
    const to = memoryStore();
    for (let i = 0; i < count; i++) await from.write(testHandle(i % 2 ? `u${i}` : null), testRecord({ userId: i % 2 ? `u${i}` : null }), 0);
    return { from, to };
  }

  it("copies every live session, resumes from a saved cursor and copies nothing twice", async () => {
    const { from, to } = await seeded(25);
    const stop = new AbortController();
    const cursors: (string | null)[] = [];
    const first = await copySessions({
      from, to, pageSize: 10,
      onPage: (progress) => {
        cursors.push(progress.cursor);
        stop.abort(); // interrupted after one page
      },
      signal: stop.signal,
    });
    expect(first).toMatchObject({ scanned: 10, copied: 10, done: false });
    const rest = await copySessions({ from, to, pageSize: 10, cursor: cursors[0]! });
    expect(rest).toMatchObject({ scanned: 15, copied: 15, present: 0, done: true, cursor: null });
    expect(to.size).toBe(25);
    const again = await copySessions({ from, to });
    expect(again).toMatchObject({ scanned: 25, copied: 0, present: 25, gone: 0, done: true });
  });

  it("counts only on a dry run", async () => {
    const { from, to } = await seeded(7);
    expect(await copySessions({ from, to, dryRun: true })).toMatchObject({ scanned: 7, copied: 0, done: true });
    expect(to.size).toBe(0);
  });

  it("refuses a store that cannot scan", async () => {
    const { scan: _, ...noScan } = memoryStore();
    await expect(copySessions({ from: noScan, to: memoryStore() })).rejects.toThrow(/cannot list its sessions/);
  });

  it("loses no session and brings none back while visitors read, write, sign out and are revoked", async () => {
    const figures = await liveMigration({ from: memoryStore(), to: memoryStore(), users: 20, anonymous: 6, pageSize: 4 });
    expect(figures.notes).toEqual([]);
    expect(figures).toMatchObject({ failed: 0, logouts: 0, stale: 0, back: 0, lost: 0, unindexed: 0 });
    expect(figures.copy.done).toBe(true);
    expect(figures.copy.copied + figures.copy.present + figures.copy.gone).toBe(figures.copy.scanned);
    expect(figures.copy.copied).toBeGreaterThanOrEqual(figures.idle);
    expect(figures.duringCopy.writes).toBeGreaterThan(0);
    expect(figures.duringCopy.signOuts + figures.duringCopy.revocations).toBeGreaterThan(0);
  });
});
