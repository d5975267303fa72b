import { describe, expect, it } from "vitest";
import { createSessions, generateKey, SessionError } from "../../src/index.ts";
import { memoryStore } from "../../adapters/memory/index.ts";

const base = () => ({ store: memoryStore(), keys: generateKey() });

function configError(options: Record<string, unknown>): SessionError {
  try {
    createSessions(options as never);
  } catch (error) {
    expect(error).toBeInstanceOf(SessionError);
    return error as SessionError;
  }
  throw new Error("expected createSessions to throw");
}

describe("options are checked when the manager is created", () => {
  it("names a missing store or keys and how to fix it", () => {
    expect(configError({ keys: generateKey() }).message).toMatch(/store must be a session store, for example memoryStore\(\)/);
    expect(configError({ store: memoryStore() }).message).toMatch(/keys is missing.*npx cloakroom keygen/);
    expect(configError({ store: memoryStore(), keys: "" }).code).toBe("ERR_SESSION_CONFIG");
    expect(configError(null as never).code).toBe("ERR_SESSION_CONFIG");
  });

  it("takes an environment variable as it is typed (string | undefined), and refuses it missing at creation", () => {
    // Type-checked by `tsc -p tsconfig.json`: `keys: process.env.SESSION_KEYS` needs no `!`.
    const env: Record<string, string | undefined> = {};
    expect(() => createSessions({ store: memoryStore(), keys: env.SESSION_KEYS })).toThrow(/keys is missing/);
  });

  it("names an unknown option, so a typo does not pass silently", () => {
    expect(configError({ ...base(), idleTimout: 5 }).message).toContain("unknown option idleTimout");
    expect(configError({ ...base(), cookie: { sameSit: "lax" } }).message).toContain("unknown option cookie.sameSit");
  });

  it("refuses bad timeouts", () => {
    expect(configError({ ...base(), idleTimeout: 0 }).message).toContain("idleTimeout must be a positive number of seconds");
    expect(configError({ ...base(), absoluteTimeout: "1h" }).message).toContain("absoluteTimeout");
    expect(configError({ ...base(), idleTimeout: 100, touchInterval: 60 }).message).toContain("at most half of idleTimeout");
    expect(configError({ ...base(), conflictRetries: 1.5 }).message).toContain("conflictRetries must be an integer");
    expect(configError({ ...base(), maxCookieBytes: 10 }).message).toContain("maxCookieBytes");
  });

  it("refuses cookie settings browsers would drop", () => {
    expect(configError({ ...base(), cookie: { secure: false } }).message).toMatch(/__Host- prefix.*name: "session", secure: false/);
    expect(configError({ ...base(), cookie: { domain: "example.com" } }).message).toContain("__Host-");
    expect(configError({ ...base(), cookie: { name: "s", sameSite: "none", secure: false } }).message).toContain('sameSite "none" needs secure');
    expect(configError({ ...base(), cookie: { name: "__Secure-s", secure: false } }).message).toContain("__Secure-");
    expect(configError({ ...base(), cookie: { name: "bad name" } }).message).toContain("cookie.name");
    expect(configError({ ...base(), cookie: { name: "s", path: "app" } }).message).toContain("cookie.path");
  });

  it("accepts a plain-http development cookie", async () => {
    const sessions = createSessions({ ...base(), cookie: { name: "session", secure: false, sameSite: "strict" } });
    const session = await sessions.read(null);
    session.set("a", 1);
    expect(await sessions.commit(session)).toMatch(/^session=[^;]+; Max-Age=604800; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(sessions.cookieName).toBe("session");
  });
});
