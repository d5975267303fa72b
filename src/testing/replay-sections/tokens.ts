/** Rule 6 of src/replay/backend.ts, and resume tokens through the log on this backend: single use. */
import { describe, expect, it } from "vitest";
import { memoryStore } from "../../../adapters/memory/index.ts";
import { createSessions } from "../../manager.ts";
import type { ReplayBackend } from "../../replay/backend.ts";
import { testChannel, testKeys, testLog, type ReplaySuite } from "../replay-suite.ts";

export function tokens<B extends ReplayBackend>({ withBackend }: ReplaySuite<B>): void {
  describe("tokens", () => {
    it("consumes a saved hash once, atomically, and not after its expiry", () =>
      withBackend(async (backend) => {
        const now = Date.now();
        const [once, late, raced] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
        await backend.saveToken(once, now + 60_000);
        await backend.saveToken(late, now + 1_000);
        await backend.saveToken(raced, now + 60_000);
        expect(await backend.consumeToken(once, now)).toBe(true);
        expect(await backend.consumeToken(once, now)).toBe(false);
        expect(await backend.consumeToken(late, now + 1_000)).toBe(false);
        expect(await backend.consumeToken(crypto.randomUUID(), now)).toBe(false);
        const outcomes = await Promise.all(Array.from({ length: 10 }, () => backend.consumeToken(raced, now)));
        expect(outcomes.filter(Boolean)).toHaveLength(1);
      }));

    it("resumes once with a token issued for a session, then refuses it as replayed", () =>
      withBackend(async (backend) => {
        const sessions = createSessions({ store: memoryStore(), keys: testKeys() });
        const session = await sessions.read(null);
        session.set("n", 1);
        await sessions.commit(session);
        const { log } = testLog(backend, { sessions, clock: Date.now });
        const channel = testChannel("resume");
        const token = await log.issueResumeToken(session, channel, 7);
        expect(await log.resume(token, session)).toEqual({ ok: true, channel, seq: 7 });
        expect(await log.resume(token, session)).toEqual({ ok: false, reason: "replayed" });
      }));
  });
}
