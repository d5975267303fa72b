/** Rule 9 of src/store.ts: a scan walks every live session in pages, and only reads. */
import { describe, expect, it } from "vitest";
import type { ScanPage, SessionRecord, SessionStore, UserSession } from "../../store.ts";
import { sleep, testHandle, testRecord } from "../fixtures.ts";
import type { Suite } from "../suite.ts";

/** Every page of a full scan; fails instead of looping when `next` never ends. */
async function scanAll(store: SessionStore, limit: number): Promise<{ found: UserSession[]; pages: ScanPage[] }> {
  const pages: ScanPage[] = [];
  let cursor: string | null = null;
  do {
    const page: ScanPage = await store.scan!(cursor, { limit });
    pages.push(page);
    if (pages.length > 10_000) throw new Error(`${store.name}.scan did not end after 10000 pages`);
    expect(page.next === null || typeof page.next === "string", "next is a string or null").toBe(true);
    cursor = page.next;
  } while (cursor !== null);
  return { found: pages.flatMap((page) => page.sessions), pages };
}

export function scan<S extends SessionStore>({ name, withStore, backend }: Suite<S>): void {
  describe("scan", () => {
    it("returns every live session over pages, with its record, and no expired or deleted one", () =>
      withStore(async (store) => {
        if (!store.scan) throw new Error(`${name} must implement scan`);
        const user = `scan-${testHandle()}`;
        const written = new Map<string, SessionRecord>();
        for (let i = 0; i < 23; i++) {
          const userId = i % 3 === 0 ? user : null;
          const handle = testHandle(userId);
          const record = testRecord({ userId, data: { i } });
          await store.write(handle, record, 0);
          written.set(handle, record);
        }
        const expiring = testHandle();
        await store.write(expiring, testRecord({ expiresAt: Date.now() + 150 }), 0);
        const deleted = testHandle();
        await store.write(deleted, testRecord(), 0);
        await store.delete(deleted);
        await sleep(400);

        // The store may hold other tests' sessions (a shared table): judge only these.
        const { found, pages } = await scanAll(store, 5);
        const mine = found.filter((session) => written.has(session.handle) || session.handle === expiring || session.handle === deleted);
        expect(new Set(mine.map((session) => session.handle))).toEqual(new Set(written.keys()));
        for (const session of mine) expect(session.record).toEqual(written.get(session.handle));
        // Paged: a limit of 5 cannot put 23 sessions in one page.
        expect(pages.length).toBeGreaterThan(1);
      }));

    it("resumes from a saved cursor, and reads without touching", () =>
      withStore(async (store) => {
        const past = Date.now() - 30_000;
        const handles: string[] = [];
        for (let i = 0; i < 12; i++) {
          const handle = testHandle();
          await store.write(handle, testRecord({ lastSeenAt: past, expiresAt: past + 60_000 }), 0);
          handles.push(handle);
        }
        const before = await Promise.all(handles.map((handle) => backend?.expiryOf(store, handle)));
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const page: ScanPage = await store.scan!(cursor, { limit: 4 });
          seen.push(...page.sessions.map((session) => session.handle));
          // What an operator's tool saves between runs: a string, through JSON.
          cursor = JSON.parse(JSON.stringify(page.next)) as string | null;
        } while (cursor !== null);
        for (const handle of handles) expect(seen).toContain(handle);
        for (const handle of handles) expect((await store.read(handle))?.record.lastSeenAt).toBe(past);
        if (backend) expect(await Promise.all(handles.map((handle) => backend.expiryOf(store, handle)))).toEqual(before);
      }));
  });
}
