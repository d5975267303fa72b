/**
 * The demo's environment -> options function on plain env objects. (The store choice is
 * cloakroom/env's storeFromEnv: test/env/.)
 */
import { createSessions, generateKey, SessionError } from "cloakroom";
import { memoryStore } from "cloakroom/adapters/memory";
import { describe, expect, it } from "vitest";
import { configFromEnv, type Env } from "../../examples/hono-node/config.ts";

/** The error configFromEnv throws for `env`; fails the test when it does not throw. */
function errorOf(run: () => unknown): SessionError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).message).toMatch(/^cloakroom: /);
    return error as SessionError;
  }
  throw new Error("expected an error");
}

const secretOf = (entry: string) => entry.slice(entry.indexOf(":") + 1);

describe("configFromEnv: defaults", () => {
  it("listens on 127.0.0.1:3000 with the __Host- Secure cookie and the library's timeouts", () => {
    const config = configFromEnv({ SESSION_KEYS: generateKey("k1") });
    expect(config.port).toBe(3000);
    expect(config.host).toBe("127.0.0.1");
    expect(config.sessions.cookie).toEqual({ name: "__Host-session", secure: true });
    expect(config.sessions.idleTimeout).toBeUndefined();
    expect(config.sessions.absoluteTimeout).toBeUndefined();
    expect(config.warnings).toEqual([]);
  });

  it("passes SESSION_KEYS on, newest first, usable by createSessions", () => {
    const first = generateKey("2026-11");
    const second = generateKey("2026-10");
    const config = configFromEnv({ SESSION_KEYS: ` ${first}, ${second}@2030-01-01T00:00:00Z ` });
    expect(config.sessions.keys).toEqual([
      { id: "2026-11", secret: secretOf(first) },
      { id: "2026-10", secret: secretOf(second), notAfter: "2030-01-01T00:00:00Z" },
    ]);
    const sessions = createSessions({ ...config.sessions, store: memoryStore() });
    expect(sessions.cookieName).toBe("__Host-session");
  });

  it("makes a throwaway key outside production, with one warning that says how to make one", () => {
    for (const env of [{}, { NODE_ENV: "development" }, { SESSION_KEYS: "  " }] as Env[]) {
      const config = configFromEnv(env);
      expect(typeof config.sessions.keys).toBe("string");
      expect(() => createSessions({ ...config.sessions, store: memoryStore() })).not.toThrow();
      expect(config.warnings).toHaveLength(1);
      const [warning] = config.warnings;
      expect(warning).toContain("SESSION_KEYS");
      expect(warning).toMatch(/restart/);
      expect(warning).toContain("npx cloakroom keygen");
      expect(warning).not.toMatch(/\n/);
      // The warning goes to a log: it must not carry the throwaway secret either.
      expect(warning).not.toContain(secretOf(config.sessions.keys as string));
    }
  });

  it("reads HOST, PORT and the timeouts", () => {
    const config = configFromEnv({
      SESSION_KEYS: generateKey("k1"), HOST: "0.0.0.0", PORT: "8080",
      SESSION_IDLE_TIMEOUT: "60", SESSION_ABSOLUTE_TIMEOUT: " 3600 ",
    });
    expect(config).toMatchObject({ host: "0.0.0.0", port: 8080, sessions: { idleTimeout: 60, absoluteTimeout: 3600 } });
    expect(configFromEnv({ SESSION_KEYS: generateKey("k1"), PORT: "0" }).port).toBe(0);
  });
});

describe("configFromEnv: refusing to start", () => {
  it("refuses production without SESSION_KEYS and says how to make one", () => {
    for (const keys of [undefined, "", "   "]) {
      const error = errorOf(() => configFromEnv({ NODE_ENV: "production", SESSION_KEYS: keys }));
      expect(error.code).toBe("ERR_SESSION_KEYS");
      expect(error.message).toContain("SESSION_KEYS");
      expect(error.message).toContain("production");
      expect(error.message).toContain("npx cloakroom keygen");
    }
  });

  it("names a malformed SESSION_KEYS entry by position, never by its text", () => {
    const good = generateKey("k1");
    const bad = "k2SuperSecretPassphraseWithNoColon";
    const error = errorOf(() => configFromEnv({ SESSION_KEYS: `${good},${bad}` }));
    expect(error.code).toBe("ERR_SESSION_KEYS");
    expect(error.message).toContain("SESSION_KEYS");
    expect(error.message).toContain("entry 2");
    expect(error.message).not.toContain(bad);
    expect(error.message).not.toContain("SuperSecret");
    expect(error.message).not.toContain(secretOf(good));
  });

  it("leaves weak secrets to createSessions, which names the key by id and hides the secret", () => {
    const good = generateKey("k1");
    const weak = "k2:c2hvcnQtc2VjcmV0"; // "short-secret": 12 bytes
    const config = configFromEnv({ SESSION_KEYS: `${good},${weak}` });
    const error = errorOf(() => createSessions({ ...config.sessions, store: memoryStore() }));
    expect(error.code).toBe("ERR_SESSION_KEYS");
    expect(error.message).toContain('"k2"');
    expect(error.message).not.toContain(secretOf(weak));
    expect(error.message).not.toContain(secretOf(good));
  });

  it("names the variable when a number is not a number", () => {
    const keys = generateKey("k1");
    const cases: Array<[string, string]> = [
      ["SESSION_IDLE_TIMEOUT", "30m"],
      ["SESSION_IDLE_TIMEOUT", "0"],
      ["SESSION_IDLE_TIMEOUT", "-5"],
      ["SESSION_ABSOLUTE_TIMEOUT", "a week"],
      ["SESSION_ABSOLUTE_TIMEOUT", "1.5"],
      ["PORT", "http"],
      ["PORT", "70000"],
    ];
    for (const [name, value] of cases) {
      const error = errorOf(() => configFromEnv({ SESSION_KEYS: keys, [name]: value }));
      expect(error.code, `${name}=${value}`).toBe("ERR_SESSION_CONFIG");
      expect(error.message).toContain(name);
      expect(error.message).toContain(JSON.stringify(value));
    }
  });

  it("names SESSION_COOKIE_SECURE when it is neither true nor false", () => {
    const error = errorOf(() => configFromEnv({ SESSION_KEYS: generateKey("k1"), SESSION_COOKIE_SECURE: "no" }));
    expect(error.message).toContain("SESSION_COOKIE_SECURE");
  });
});

describe("configFromEnv: plain http beyond localhost", () => {
  it("SESSION_COOKIE_SECURE=false drops Secure and the __Host- prefix", () => {
    const config = configFromEnv({ SESSION_KEYS: generateKey("k1"), SESSION_COOKIE_SECURE: "false" });
    expect(config.sessions.cookie?.secure).toBe(false);
    expect(config.sessions.cookie?.name).not.toMatch(/^__Host-|^__Secure-/);
    // createSessions would refuse a __Host- name without Secure: this one it takes.
    const sessions = createSessions({ ...config.sessions, store: memoryStore() });
    expect(sessions.cookieName).toBe("session");
    expect(config.warnings).toEqual([]);
  });

  it("SESSION_COOKIE_SECURE=true keeps the default", () => {
    const config = configFromEnv({ SESSION_KEYS: generateKey("k1"), SESSION_COOKIE_SECURE: "TRUE" });
    expect(config.sessions.cookie).toEqual({ name: "__Host-session", secure: true });
  });

  it("warns when production runs without Secure", () => {
    const config = configFromEnv({ SESSION_KEYS: generateKey("k1"), SESSION_COOKIE_SECURE: "false", NODE_ENV: "production" });
    expect(config.warnings.join("\n")).toContain("SESSION_COOKIE_SECURE");
  });
});

describe("configFromEnv: stolen-cookie defences", () => {
  it("turns on device-bound sessions over https, and renewal, from the environment", () => {
    const config = configFromEnv({
      SESSION_KEYS: generateKey("k1"), DEMO_DEVICE_BOUND: "Strict", DEMO_DBSC_COOKIE_MAX_AGE: "300",
      DEMO_TLS_CERT: "/tmp/c.pem", DEMO_TLS_KEY: "/tmp/k.pem", SESSION_RENEW_EVERY: "120",
    });
    expect(config).toMatchObject({ deviceBinding: "strict", tls: { cert: "/tmp/c.pem", key: "/tmp/k.pem" }, warnings: [] });
    expect(config.sessions).toMatchObject({ deviceBound: { cookie: { maxAge: 300 } }, renew: { every: 120, grace: 5 } });
    const sessions = createSessions({ ...config.sessions, store: memoryStore() });
    expect(sessions.deviceBound?.cookieName).toBe("__Host-session-bound");
    expect(configFromEnv({ SESSION_KEYS: generateKey("k1") })).toMatchObject({ deviceBinding: "off", tls: undefined });
  });

  it("warns about DBSC on plain http, and refuses half a TLS pair or an unknown mode", () => {
    expect(configFromEnv({ SESSION_KEYS: generateKey("k1"), DEMO_DEVICE_BOUND: "on" }).warnings.join("\n")).toContain("DEMO_TLS_CERT");
    expect(errorOf(() => configFromEnv({ SESSION_KEYS: generateKey("k1"), DEMO_TLS_CERT: "/tmp/c.pem" })).message).toContain("DEMO_TLS_KEY");
    expect(errorOf(() => configFromEnv({ SESSION_KEYS: generateKey("k1"), DEMO_DEVICE_BOUND: "yes" })).message).toContain('"strict"');
  });
});
