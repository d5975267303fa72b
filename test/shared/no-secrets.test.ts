/**
 * Events and errors go to logs. None may carry the session id, the ticket or a key's secret:
 * any of those in a log is a stolen session (or every session).
 */
import { describe, expect, it } from "vitest";
import { createSessions, generateKey, SessionError } from "../../src/index.ts";
import { Keyring } from "../../src/keyring.ts";
import { openTicket } from "../../src/ticket.ts";
import { memoryStore } from "../../adapters/memory/index.ts";
import { cookieFrom, manualClock } from "./helpers.ts";

describe("no secret in events or errors", () => {
  it("a whole life cycle, failures included, never shows the id, the ticket or a secret", async () => {
    const keys = `${generateKey("k2")},${generateKey("k1")}`;
    const secrets = keys.split(",").map((entry) => entry.split(":")[1]!);
    const clock = manualClock();
    const store = memoryStore({ clock });
    const logged: unknown[] = [];
    const sessions = createSessions({ store, keys, clock, touchInterval: 1, onEvent: (event) => logged.push(event) });

    const first = await sessions.read(null);
    first.userId = "ann";
    first.set("n", 1);
    const ticket = cookieFrom(await sessions.commit(first)).split("=")[1]!;
    const opened = await openTicket(ticket, new Keyring(keys), clock());
    if (!opened.ok) throw new Error("the ticket should open");
    const sid = opened.claims.sid;

    clock.advance(5_000);
    const second = await sessions.read(`__Host-session=${ticket}`);
    second.update("n", (n = 0) => (n as number) + 1);
    await sessions.commit(second);
    await sessions.read(`__Host-session=${ticket.slice(0, -4)}AAAA`);
    await sessions.read(`__Host-session=${"x".repeat(5000)}`);
    await sessions.listUser("ann");

    const broken = { ...store, read: () => Promise.reject(new Error("connection reset")) };
    const failing = createSessions({ store: broken, keys, clock, onEvent: (event) => logged.push(event) });
    const error = await failing.read(`__Host-session=${ticket}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    logged.push({ message: (error as Error).message, cause: String((error as Error).cause) });

    second.destroy();
    await sessions.commit(second);
    await sessions.revokeUser("ann");

    expect(logged.length).toBeGreaterThan(8);
    const text = JSON.stringify(logged, (_key, value) => (value instanceof Error ? { message: value.message, stack: value.stack } : value));
    expect(text).not.toContain(sid);
    expect(text).not.toContain(sid.slice(5));
    expect(text).not.toContain(ticket);
    for (const part of ticket.split(".").filter((p) => p.length > 12)) expect(text).not.toContain(part);
    for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it("a key error never shows the secret", () => {
    const weak = "c2hvcnQtc2VjcmV0LXRoYXQtaXMtdG9vLXNob3J0";
    let message = "";
    try {
      createSessions({ store: memoryStore(), keys: `k1:${weak}` });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('key "k1"');
    expect(message).not.toContain(weak);
  });
});
