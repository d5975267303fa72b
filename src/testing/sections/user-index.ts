/** Rule 6 of src/store.ts: the per-user index, and revokeUser's atomicity against racing writes. */
import { describe, expect, it } from "vitest";
import type { SessionStore } from "../../store.ts";
import { sleep, testHandle, testRecord } from "../fixtures.ts";
import type { Suite } from "../suite.ts";

export function userIndex<S extends SessionStore>({ name, withStore }: Suite<S>): void {
  describe("user index", () => {
    it("lists a user's live sessions and follows userId changes", () =>
      withStore(async (store) => {
        if (!store.listUser) throw new Error(`${name} must implement listUser`);
        const ann = `ann-${testHandle()}`;
        const bob = `bob-${testHandle()}`;
        const [a, b, c] = [testHandle(ann), testHandle(ann), testHandle(bob)];
        await store.write(a, testRecord({ userId: ann }), 0);
        await store.write(b, testRecord({ userId: ann }), 0);
        await store.write(c, testRecord({ userId: bob }), 0);
        const handles = async (user: string) => (await store.listUser!(user)).map((s) => s.handle).sort();
        expect(await handles(ann)).toEqual([a, b].sort());
        expect((await store.listUser(bob))[0]?.record.userId).toBe(bob);

        await store.write(a, testRecord({ userId: null, version: 2 }), 1);
        expect(await handles(ann)).toEqual([b]);
        await store.write(a, testRecord({ userId: ann, version: 3 }), 2);
        expect(await handles(ann)).toEqual([a, b].sort());

        await store.delete(b);
        expect(await handles(ann)).toEqual([a]);
        await store.delete(c);
        expect(await handles(bob)).toEqual([]);
        expect(await store.listUser(`nobody-${testHandle()}`)).toEqual([]);
      }));

    it("does not list expired sessions", () =>
      withStore(async (store) => {
        const user = `exp-${testHandle()}`;
        const live = testHandle(user);
        await store.write(testHandle(user), testRecord({ userId: user, expiresAt: Date.now() + 150 }), 0);
        await store.write(live, testRecord({ userId: user }), 0);
        await sleep(400);
        expect((await store.listUser!(user)).map((s) => s.handle)).toEqual([live]);
      }));

    it("revokes every session of a user but the exception, and only that user's", () =>
      withStore(async (store) => {
        if (!store.revokeUser) throw new Error(`${name} must implement revokeUser`);
        const user = `rev-${testHandle()}`;
        const other = `oth-${testHandle()}`;
        const handles = [testHandle(user), testHandle(user), testHandle(user)];
        const keep = testHandle(user);
        const foreign = testHandle(other);
        for (const handle of [...handles, keep]) await store.write(handle, testRecord({ userId: user }), 0);
        await store.write(foreign, testRecord({ userId: other }), 0);
        expect(await store.revokeUser(user, { except: keep })).toBe(3);
        for (const handle of handles) expect(await store.read(handle)).toBeNull();
        expect(await store.read(keep)).not.toBeNull();
        expect(await store.read(foreign)).not.toBeNull();
        expect((await store.listUser!(user)).map((s) => s.handle)).toEqual([keep]);
        expect(await store.revokeUser(user)).toBe(1);
        expect(await store.read(keep)).toBeNull();
        expect(await store.revokeUser(`none-${testHandle()}`)).toBe(0);
      }));

    it("revokes every session whose write completed before revokeUser returned, racing or not", () =>
      withStore(async (store) => {
        const user = `race-${testHandle()}`;
        const handles = Array.from({ length: 20 }, () => testHandle(user));
        // Writes and the revocation go out together; the order they complete in is what counts.
        const completed: string[] = [];
        let completedBeforeRevoke: string[] | undefined;
        const writes = handles.map((handle) => store.write(handle, testRecord({ userId: user }), 0).then(() => completed.push(handle)));
        const revoked = store.revokeUser!(user).then(() => (completedBeforeRevoke = [...completed]));
        await Promise.all([...writes, revoked]);
        expect(completedBeforeRevoke!.length).toBeGreaterThan(0);
        for (const handle of completedBeforeRevoke!) expect(await store.read(handle)).toBeNull();
      }));

  });
}
