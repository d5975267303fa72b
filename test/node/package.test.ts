/**
 * Checks the package as npm would publish it: the tarball from `npm pack` of the tsup build in
 * dist/, linted by publint and are-the-types-wrong, its exports map held to tsup's entries, and
 * each subpath imported by Node from an unpacked copy the way a consumer would.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { publint } from "publint";
import { formatMessage } from "publint/utils";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { libraryEntries } from "../../tsup.config.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

let work: string;
let tarball: string;
let packed: string[];
/** node_modules/cloakroom of a throwaway consumer, holding the unpacked tarball. */
let installed: string;

beforeAll(() => {
  // `npm test` builds first; a lone `vitest run` of this file builds for itself, also after
  // `npm start`, whose quick build leaves out the declarations.
  if (!existsSync(join(root, "dist/index.js")) || !existsSync(join(root, "dist/index.d.ts"))) execFileSync(bin("tsup"), ["--silent"], { cwd: root, stdio: "inherit" });
  work = mkdtempSync(join(tmpdir(), "cloakroom-pack-"));
  const out = execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [result] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, result!.filename);
  packed = result!.files.map((f) => f.path);
  installed = join(work, "consumer", "node_modules", "cloakroom");
  mkdirSync(installed, { recursive: true });
  execFileSync("tar", ["xzf", tarball, "-C", installed, "--strip-components=1"]);
  // The consumer gets the runtime and peer dependencies from this repo's node_modules.
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })) {
    const link = join(work, "consumer", "node_modules", dep);
    mkdirSync(dirname(link), { recursive: true }); // a scoped package (@upstash/redis) needs its @scope folder
    symlinkSync(join(root, "node_modules", dep), link, "dir");
  }
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("package.json", () => {
  it("exports exactly the tsup library entries, each with types and an ESM default", () => {
    const subpath = (entry: string) => (entry === "index" ? "." : `./${entry}`);
    expect(Object.keys(pkg.exports)).toEqual([".", "./hono", "./express", "./express-session", "./otel", "./next", "./env", "./adapters/memory", "./adapters/ioredis", "./adapters/upstash", "./adapters/postgres", "./testing", "./replay"]);
    expect(Object.keys(libraryEntries).map(subpath)).toEqual(Object.keys(pkg.exports));
    for (const entry of Object.keys(libraryEntries)) {
      expect(pkg.exports[subpath(entry)], subpath(entry)).toEqual({ types: `./dist/${entry}.d.ts`, default: `./dist/${entry}.js` });
    }
  });

  it("depends on jose only and declares no side effects", () => {
    expect(Object.keys(pkg.dependencies)).toEqual(["jose"]);
    expect(pkg.sideEffects).toBe(false);
  });
});

describe("the packed tarball", () => {
  it("contains every file the exports map and bin point to", () => {
    const targets = [...Object.values(pkg.exports).flatMap((e) => Object.values(e as object)), ...Object.values(pkg.bin)];
    for (const target of targets as string[]) expect(packed, target).toContain(target.replace(/^\.\//, ""));
  });

  it("passes publint with warnings counted as errors", async () => {
    const data = readFileSync(tarball);
    const { messages, pkg: linted } = await publint({
      pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) },
      level: "warning",
      strict: true,
    });
    expect(messages.map((m) => `${m.type}: ${formatMessage(m, linted, { color: false })}`)).toEqual([]);
  });

  it("passes are-the-types-wrong for an ESM-only package", () => {
    const attw = spawnSync(bin("attw"), [tarball, "--profile", "esm-only", "--format", "ascii", "--no-color"], { encoding: "utf8" });
    expect(attw.status, `${attw.stdout}${attw.stderr}`).toBe(0);
  });

  it("imports in Node through every subpath, with one SessionError class across them", () => {
    const script = `
      const core = await import("cloakroom");
      const hono = await import("cloakroom/hono");
      const memory = await import("cloakroom/adapters/memory");
      const sessions = core.createSessions({ store: memory.memoryStore(), keys: core.generateKey("k1") });
      const first = await sessions.read(null);
      first.set("visits", 1);
      const cookie = (await sessions.commit(first)).split(";")[0];
      let honoError;
      try { hono.sessionMiddleware(undefined); } catch (error) { honoError = error; }
      console.log(JSON.stringify({
        types: [core.createSessions, core.SessionError, core.generateKey, hono.sessionMiddleware, memory.memoryStore].map((f) => typeof f),
        visits: (await sessions.read(cookie)).get("visits"),
        sharedErrorClass: honoError instanceof core.SessionError,
      }));`;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: join(work, "consumer"), encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({ types: Array(5).fill("function"), visits: 1, sharedErrorClass: true });
  });

  it("imports cloakroom/replay, whose resume tokens use a manager made by the main entry", () => {
    const script = `
      const core = await import("cloakroom");
      const { createReplayLog } = await import("cloakroom/replay");
      const { memoryStore, memoryReplay } = await import("cloakroom/adapters/memory");
      const sessions = core.createSessions({ store: memoryStore(), keys: core.generateKey("k1") });
      const session = await sessions.read(null);
      session.set("n", 1);
      await sessions.commit(session);
      const log = createReplayLog({ backend: memoryReplay(), sessions });
      await log.append("room", "hi");
      const token = await log.issueResumeToken(session, "room", 0);
      const resumed = await log.resume(token, session);
      console.log(JSON.stringify({ resumed, events: (await log.since(resumed.channel, resumed.seq)).events.map((e) => e.event) }));`;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: join(work, "consumer"), encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({ resumed: { ok: true, channel: "room", seq: 0 }, events: ["hi"] });
  });

  it("imports the ioredis adapter through its subpath, with ioredis as the consumer's own peer", () => {
    const script = `
      const core = await import("cloakroom");
      const { ioredisStore } = await import("cloakroom/adapters/ioredis");
      const { Redis } = await import("ioredis");
      const client = new Redis({ lazyConnect: true });
      let error;
      try { ioredisStore({}); } catch (e) { error = e; }
      console.log(JSON.stringify({ name: ioredisStore({ client }).name, sharedErrorClass: error instanceof core.SessionError }));
      client.disconnect();`;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: join(work, "consumer"), encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({ name: "ioredis", sharedErrorClass: true });
  });

  it("imports cloakroom/env, which loads ioredis and pg from the consumer's own node_modules only when asked", () => {
    const script = `
      const core = await import("cloakroom");
      const { storeFromEnv } = await import("cloakroom/env");
      const lines = [];
      const log = (line) => lines.push(line);
      const memory = await storeFromEnv({}, { log });
      const redis = await storeFromEnv({ REDIS_URL: "redis://127.0.0.1:1" }, { log });
      await redis.close();
      let error;
      try { await storeFromEnv({ DATABASE_URL: "postgres://127.0.0.1:1/app" }, { log }); } catch (e) { error = e; }
      console.log(JSON.stringify({
        memory: memory.store.name,
        redis: redis.store.name,
        postgres: error instanceof core.SessionError ? error.code : String(error),
        chose: lines.filter((line) => line.startsWith("cloakroom: sessions in")).length,
      }));`;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: join(work, "consumer"), encoding: "utf8" });
    expect(run.stderr).toBe("");
    // pg was loaded (and found nothing on port 1): a store error, not a missing package.
    expect(JSON.parse(run.stdout)).toEqual({ memory: "memory", redis: "ioredis", postgres: "ERR_SESSION_STORE", chose: 2 });
  });

  it("imports cloakroom/express and cloakroom/express-session, with cookie-signature as the consumer's own peer", () => {
    const script = `
      const core = await import("cloakroom");
      const { sessionMiddleware } = await import("cloakroom/express");
      const { adoptExpressSession } = await import("cloakroom/express-session");
      const { sign } = await import("cookie-signature");
      const adopter = adoptExpressSession({ secret: "s3cret", store: { get: () => {}, destroy: () => {} }, userIdOf: () => null });
      const good = await adopter.verify(encodeURIComponent("s:" + sign("abc", "s3cret")));
      const bad = await adopter.verify(encodeURIComponent("s:" + sign("abc", "other")));
      let error;
      try { sessionMiddleware({}); } catch (e) { error = e; }
      console.log(JSON.stringify({ id: good.ok && good.id, bad: bad.ok || bad.reason, sharedErrorClass: error instanceof core.SessionError }));`;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: join(work, "consumer"), encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({ id: "abc", bad: "forged", sharedErrorClass: true });
  });

  it("imports cloakroom/next in Node with no `next` installed: its helpers are structural", () => {
    const script = `
      const core = await import("cloakroom");
      const next = await import("cloakroom/next");
      const { memoryStore } = await import("cloakroom/adapters/memory");
      const sessions = core.createSessions({ store: memoryStore(), keys: core.generateKey("k1") });
      const jar = new Map();
      const cookies = { get: (name) => jar.get(name), set: (name, value) => jar.set(name, { value }), delete: ({ name }) => jar.delete(name) };
      const first = await next.readSession(sessions, cookies);
      first.set("visits", 1);
      await next.commitSession(sessions, first, cookies);
      let error;
      try { await next.commitSession(sessions, first, new Headers()); } catch (e) { error = e; }
      console.log(JSON.stringify({ visits: (await next.readSession(sessions, cookies)).get("visits"), sharedErrorClass: error instanceof core.SessionError }));`;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: join(work, "consumer"), encoding: "utf8" });
    expect(existsSync(join(work, "consumer", "node_modules", "next"))).toBe(false);
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({ visits: 1, sharedErrorClass: true });
  });
});

describe("cloakroom/testing, as a third party uses it", () => {
  // A consumer's own adapter test, run by the consumer's vitest against the packed package: the
  // memory store passes; a store whose write ignores the expected version fails, so the suite
  // can fail.
  const consumerTest = `
    import { replayConformance, storeConformance } from "cloakroom/testing";
    import { memoryReplay, memoryStore } from "cloakroom/adapters/memory";
    storeConformance("memory, by factory", () => memoryStore());
    replayConformance("memory replay", () => memoryReplay());
    const careless = () => {
      const store = memoryStore();
      const write = store.write.bind(store);
      return Object.assign(store, { write: (handle, record) => write(handle, record, 0).then(async (ok) => ok || (await store.delete(handle), write(handle, record, 0))) });
    };
    storeConformance("careless", careless);`;

  it("runs under the consumer's vitest: a good store passes, a store that ignores versions fails", () => {
    const consumer = join(work, "consumer");
    writeFileSync(join(consumer, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(join(consumer, "store.test.js"), consumerTest);
    const report = join(consumer, "report.json");
    spawnSync(bin("vitest"), ["run", "--root", consumer, "--reporter=json", `--outputFile=${report}`], { cwd: consumer, encoding: "utf8", env: { ...process.env, CI: "" } });
    const results = JSON.parse(readFileSync(report, "utf8")) as { testResults: { assertionResults: { fullName: string; status: string }[] }[] };
    const tests = results.testResults.flatMap((file) => file.assertionResults);
    const byStore = (name: string) => tests.filter((t) => t.fullName.startsWith(`store conformance: ${name} `));
    expect(byStore("memory, by factory").length).toBeGreaterThan(25);
    expect(byStore("memory, by factory").filter((t) => t.status !== "passed")).toEqual([]);
    const replay = tests.filter((t) => t.fullName.startsWith("replay conformance: memory replay "));
    expect(replay.length).toBeGreaterThan(15);
    expect(replay.filter((t) => t.status !== "passed")).toEqual([]);
    expect(byStore("careless").filter((t) => t.status === "failed").map((t) => t.fullName)).toContain(
      "store conformance: careless read and write compare-and-set: writes on the expected version, refuses a stale one",
    );
  });
});

/** References to Node: `node:` module specifiers, the `process` and `Buffer` globals, Node type references. */
function nodeUsages(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const at = (node: ts.Node) => `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${node.getText()}`;
  const found = source.typeReferenceDirectives.filter((r) => r.fileName === "node").map(() => `${file}: reference types="node"`);
  const specifierOf = (parent: ts.Node) =>
    ts.isImportDeclaration(parent) || ts.isExportDeclaration(parent) || ts.isCallExpression(parent) ||
    ts.isExternalModuleReference(parent) || ts.isLiteralTypeNode(parent) || ts.isModuleDeclaration(parent);
  const visit = (node: ts.Node): void => {
    const parent = node.parent;
    if (ts.isStringLiteralLike(node) && node.text.startsWith("node:") && specifierOf(parent)) found.push(at(node));
    // Only free references count: not `x.process`, not a property or declaration named Buffer.
    const isName = (parent as { name?: ts.Node }).name === node || (ts.isQualifiedName(parent) && parent.right === node);
    if (ts.isIdentifier(node) && (node.text === "process" || node.text === "Buffer") && !isName) found.push(at(node));
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(source, visit);
  return found;
}

describe("dist", () => {
  it("is Web-standard: nothing but the CLI touches node: modules, process or Buffer", () => {
    const dist = join(root, "dist");
    const files = readdirSync(dist, { recursive: true, encoding: "utf8" }).filter((f) => /\.(js|d\.ts)$/.test(f) && f !== "cli.js");
    expect(files).toContain("index.js");
    const usages = files.flatMap((f) => nodeUsages(relative(root, join(dist, f)), readFileSync(join(dist, f), "utf8")));
    // One exception, by name: cloakroom/env makes the parent directory of a pglite:<dir>
    // DATABASE_URL with node:fs, loaded lazily on that branch only (which needs Node anyway);
    // test/env/workerd.test.ts runs the entry in workerd without nodejs_compat.
    // The CLI uses cloakroom/env too, so that code may sit in a chunk both entries import.
    const pgliteDirectory = /^dist\/(env|chunk-[A-Z0-9]+)\.js:\d+ "node:fs"$/;
    expect(usages.filter((usage) => pgliteDirectory.test(usage))).toHaveLength(1);
    expect(usages.filter((usage) => !pgliteDirectory.test(usage))).toEqual([]);
  });

  it("the usage finder flags what it should, so the check above can fail", () => {
    const code = [
      `import { x } from "node:fs"; const b = Buffer.from("a"); export const e = process.env.X;`,
      `const fine = ["node:fs", "process.env", o.process, { Buffer: 1 }]; // process.env, Buffer`,
      `export declare function f(b: import("node:buffer").Buffer): typeof process;`,
    ].join("\n");
    expect(nodeUsages("probe.d.ts", code)).toEqual([
      `probe.d.ts:1 "node:fs"`,
      "probe.d.ts:1 Buffer",
      "probe.d.ts:1 process",
      `probe.d.ts:3 "node:buffer"`,
      "probe.d.ts:3 Buffer",
      "probe.d.ts:3 process",
    ]);
  });
});
