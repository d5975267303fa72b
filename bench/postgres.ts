/**
 * `npm run bench:postgres`: the Postgres store on a real PostgreSQL server this script starts
 * (initdb into a temporary directory, like the tests; DATABASE_URL points it at another one).
 * About 1.5 minutes (2 cores). Prints figures and plain verdicts; never fails on a figure.
 *
 * Part 1, reads: requests per second and statements per request for a validated session read
 * (a visitor with a cookie, nothing changed), on the same server in the same run:
 *   - cloakroom: `sessions.read(cookie)` + `commit` (ticket cache warm, no touch due), pg Pool;
 *     with named prepared statements (fromPg's default) and with `prepare: false`;
 *   - connect-pg-simple as express-session drives it per request: the signed cookie checked
 *     (HMAC, as cookie-signature does), `store.get(sid)`, then `store.touch(sid, sess)` (what
 *     express-session calls on every request that did not change the session); and the same
 *     with `disableTouch` (get only);
 *   - the floor: one bare `SELECT ... WHERE pk = $1` through a pg Pool.
 *   express-session's own per-request work beyond that (building the Session object, hashing
 *   the session JSON twice to detect changes) is left out, which favours connect-pg-simple.
 *   16 requests in flight, each line on its own Pool of 10 connections; warm-up, then rounds
 *   of 1 s slices in an order that rotates and reverses every round; medians of the rounds.
 *
 * Part 2, pruning: `deleteExpired()` on 1,000,000 sessions of which about 10 % expired: the
 * time, the plan of one batch (EXPLAIN ANALYZE inside a rolled-back transaction: does it use
 * the expiry index?), and for reference one plain `DELETE ... WHERE expires_at <= now` (what
 * connect-pg-simple's pruner sends) on an identical copy.
 *
 * The server runs with fsync off (a throwaway directory), so write costs are lower than on a
 * durable production server; reads are unaffected. shared_buffers is 1 GB so the pruning
 * tables fit in memory, as a production server's hot tables would.
 *
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { cpus } from "node:os";
import connectPgSimple from "connect-pg-simple";
import session from "express-session";
import pg from "pg";
import { createSessions, generateKey } from "../src/index.ts";
import { fromPg, postgresStore, type QueryFunction } from "../adapters/postgres/index.ts";
import { statements } from "../adapters/postgres/statements.ts";
import { tableNames } from "../adapters/postgres/schema.ts";
import { startPostgres } from "../test/support/postgres-server.ts";
import { interleavedRates } from "./interleaved-rates.ts";

const VISITORS = 1_000;
const IN_FLIGHT = 16;
const POOL_SIZE = 10;
const WARMUP_MS = 1_500;
const SLICE_MS = 1_000;
const ROUNDS = 7;
const COUNTED = 200;
const PRUNE_ROWS = 1_000_000;
const PRUNE_BATCH = 1_000;

const log = (line = "") => console.log(line);
const progress = (text: string) => process.stderr.write(text);
const started = performance.now();
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const pick = <T>(list: readonly T[]) => list[Math.floor(Math.random() * list.length)]!;

interface Line {
  id: string;
  label: string;
  /** One request. */
  run(): Promise<unknown>;
  /** Statements sent so far through this line's pool. */
  statements(): number;
  pool: pg.Pool;
}

// Room for the 1,000,000-row table and its copy (about 0.5 GB), as a production server would
// give its hot tables; the default 128 MB would measure buffer evictions instead.
const server = await startPostgres({ settings: { shared_buffers: "1GB" } });
const pools: pg.Pool[] = [];
function newPool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: server.url, max: POOL_SIZE });
  // pool.end() resolves before its sockets close: the server stopping must not crash the run.
  pool.on("error", () => {});
  pools.push(pool);
  return pool;
}

/** A pool whose `query` calls are counted: what connect-pg-simple and the floor line get. */
function countedPool(pool: pg.Pool): { pool: pg.Pool; count: () => number } {
  let count = 0;
  const wrapper = {
    query: (...args: Parameters<pg.Pool["query"]>) => {
      count++;
      return (pool.query as (...a: unknown[]) => unknown)(...args);
    },
  } as unknown as pg.Pool;
  return { pool: wrapper, count: () => count };
}

try {
  const { rows: [version] } = await newPool().query("SHOW server_version");
  const cpu = cpus();
  log(`cloakroom postgres bench: Node ${process.version}, ${cpu.length} CPU (${cpu[0]?.model ?? "unknown"}), PostgreSQL ${version.server_version}${server.external ? " (DATABASE_URL)" : " (own server, fsync off)"}`);
  log("");

  // ── Part 1: reads ────────────────────────────────────────────────────────────────────
  progress(`setting up ${VISITORS} signed-in visitors per store... `);
  const lines: Line[] = [];

  for (const prepare of [true, false]) {
    const pool = newPool();
    let sent = 0;
    const base = fromPg(pool, { prepare });
    const query: QueryFunction = (text, params) => {
      sent++;
      return base(text, params);
    };
    const store = postgresStore({ query, table: "bench_cloakroom" });
    await store.migrate();
    const sessions = createSessions({ store, keys: generateKey("bench") });
    const cookies: string[] = [];
    for (let i = 0; i < VISITORS; i++) {
      const visitor = await sessions.read(null);
      visitor.userId = `user-${i}`;
      visitor.set("count", i);
      visitor.set("device", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36");
      cookies.push((await sessions.commit(visitor))!.split(";")[0]!);
    }
    lines.push({
      id: prepare ? "cloakroom" : "cloakroom-unnamed",
      label: prepare ? "cloakroom read + commit (pg Pool, fromPg)" : "cloakroom, fromPg(pool, { prepare: false })",
      async run() {
        const visitor = await sessions.read(pick(cookies));
        if (visitor.userId === null) throw new Error("bench: a visitor lost their session");
        return sessions.commit(visitor);
      },
      statements: () => sent,
      pool,
    });
  }

  const secret = randomBytes(32).toString("base64");
  /** What cookie-signature's unsign does: HMAC-SHA256 of the id, compared in constant time. */
  function unsign(signed: string): string | false {
    const dot = signed.lastIndexOf(".");
    const value = signed.slice(0, dot);
    const expected = Buffer.from(`${value}.${createHmac("sha256", secret).update(value).digest("base64").replace(/=+$/, "")}`);
    const given = Buffer.from(signed);
    return expected.length === given.length && timingSafeEqual(expected, given) ? value : false;
  }
  const sign = (value: string) => `${value}.${createHmac("sha256", secret).update(value).digest("base64").replace(/=+$/, "")}`;

  const PGStore = connectPgSimple(session);
  for (const disableTouch of [false, true]) {
    const raw = newPool();
    const { pool, count } = countedPool(raw);
    const store = new PGStore({ pool, tableName: "bench_cps", createTableIfMissing: true, pruneSessionInterval: false, disableTouch });
    const get = (sid: string) =>
      new Promise<session.SessionData | null | undefined>((resolve, reject) => store.get(sid, (error, data) => (error ? reject(error) : resolve(data))));
    const touch = (sid: string, data: session.SessionData) =>
      // Typed as `() => void` by @types/express-session; connect-pg-simple passes the error.
      new Promise<void>((resolve, reject) => store.touch(sid, data, ((error?: unknown) => (error ? reject(error) : resolve())) as () => void));
    const set = (sid: string, data: session.SessionData) =>
      new Promise<void>((resolve, reject) => store.set(sid, data, (error) => (error ? reject(error) : resolve())));
    const signed: string[] = [];
    for (let i = 0; i < VISITORS; i++) {
      const sid = randomBytes(24).toString("base64url");
      const cookie = { originalMaxAge: 1_800_000, expires: new Date(Date.now() + 1_800_000), httpOnly: true, path: "/" };
      await set(sid, { cookie, user: `user-${i}`, count: i, device: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36" } as unknown as session.SessionData);
      signed.push(`s:${sign(sid)}`);
    }
    lines.push({
      id: disableTouch ? "cps-get" : "cps",
      label: disableTouch ? "connect-pg-simple get only (disableTouch)" : "connect-pg-simple get + touch (express-session)",
      async run() {
        const sid = unsign(pick(signed).slice(2));
        if (sid === false) throw new Error("bench: bad signature");
        const data = await get(sid);
        if (!data) throw new Error("bench: a visitor lost their session");
        // express-session pushes the cookie's expiry forward and calls touch on every request.
        if (!disableTouch) await touch(sid, data);
        return data;
      },
      statements: count,
      pool: raw,
    });
  }

  {
    const raw = newPool();
    const { pool, count } = countedPool(raw);
    const { rows } = await raw.query(`SELECT handle FROM "bench_cloakroom" LIMIT ${VISITORS}`);
    const handles = rows.map((row) => row.handle as string);
    lines.push({
      id: "floor",
      label: "floor: one SELECT by primary key (pg Pool)",
      run: () => pool.query(`SELECT data FROM "bench_cloakroom" WHERE handle = $1`, [pick(handles)]),
      statements: count,
      pool: raw,
    });
  }
  progress("done\n");

  // Counting pass: exact statements per request, one request at a time.
  const perRequest = new Map<string, number>();
  for (const line of lines) {
    const before = line.statements();
    for (let i = 0; i < COUNTED; i++) await line.run();
    perRequest.set(line.id, (line.statements() - before) / COUNTED);
  }

  progress("warming up, then ");
  progress(`timing ${ROUNDS} rounds: `);
  const perRound = await interleavedRates(lines, { inFlight: IN_FLIGHT, warmupMs: WARMUP_MS, sliceMs: SLICE_MS, rounds: ROUNDS, onRound: (round) => progress(`${round} `) });
  progress("\n");

  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  const rate = new Map(lines.map((line) => [line.id, median(perRound.get(line.id)!)]));
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

  log(`1. Validated session read: ${VISITORS} sessions per store, ${IN_FLIGHT} requests in flight, Pool of ${POOL_SIZE} per line, median of ${ROUNDS} rounds`);
  log("");
  log(`   ${"line".padEnd(50)} ${"reads/s".padStart(9)} ${"min..max".padStart(15)} ${"stmts/req".padStart(10)} ${"x floor".padStart(8)}`);
  for (const line of lines) {
    const rounds = perRound.get(line.id)!;
    const range = `${fmt(Math.min(...rounds))}..${fmt(Math.max(...rounds))}`;
    log(`   ${line.label.padEnd(50)} ${fmt(rate.get(line.id)!).padStart(9)} ${range.padStart(15)} ${perRequest.get(line.id)!.toFixed(2).padStart(10)} ${(rate.get(line.id)! / rate.get("floor")!).toFixed(2).padStart(8)}`);
  }
  const vsCps = rate.get("cloakroom")! / rate.get("cps")!;
  const vsCpsGet = rate.get("cloakroom")! / rate.get("cps-get")!;
  const prepared = rate.get("cloakroom")! / rate.get("cloakroom-unnamed")!;
  log("");
  log(`   cloakroom / connect-pg-simple (get + touch): ${vsCps.toFixed(2)}x reads/s; statements per request ${perRequest.get("cloakroom")} vs ${perRequest.get("cps")}`);
  log(`   cloakroom / connect-pg-simple (get only):    ${vsCpsGet.toFixed(2)}x reads/s`);
  log(`   prepared statements (default) / prepare: false: ${prepared.toFixed(2)}x reads/s`);
  log("");
  const verdict = (met: boolean, text: string) => log(`   ${met ? "met   " : "MISSED"}  ${text}`);
  verdict(perRequest.get("cloakroom") === 1, `one statement per validated read (got ${perRequest.get("cloakroom")})`);
  verdict(vsCps >= 1, `at least as many reads/s as connect-pg-simple under express-session (got ${vsCps.toFixed(2)}x)`);
  // The floor does less: no expiry check, no touch, no ticket, no session object. Runs here
  // put cloakroom at 0.66-0.75x of it; 0.6x leaves room for noise.
  verdict(rate.get("cloakroom")! / rate.get("floor")! >= 0.6, `at least 0.6x of a bare primary-key SELECT (got ${(rate.get("cloakroom")! / rate.get("floor")!).toFixed(2)}x)`);
  log("");

  // ── Part 2: pruning ──────────────────────────────────────────────────────────────────
  const admin = newPool();
  const table = "bench_prune";
  const t = tableNames(table);
  // One instant for the whole part: the fill takes seconds, and rows must not expire during it.
  const now = Date.now();
  // Each pruning statement timed on its own, to see whether later batches slow down.
  const batchMs: number[] = [];
  const adminQuery = fromPg(admin);
  const prune = statements(t).deleteExpiredSessions;
  const timedQuery: QueryFunction = async (text, params) => {
    const t1 = performance.now();
    try {
      return await adminQuery(text, params);
    } finally {
      if (text === prune) batchMs.push(performance.now() - t1);
    }
  };
  const store = postgresStore({ query: timedQuery, table, clock: () => now });
  await store.migrate();
  progress(`filling ${PRUNE_ROWS.toLocaleString("en-US")} sessions... `);
  let t0 = performance.now();
  // Expired rows are scattered through the table, as idle expiry scatters them in real life.
  await admin.query(
    `INSERT INTO ${t.sessions}
     SELECT md5(i::text) || md5((i * 7)::text), CASE WHEN i % 2 = 0 THEN 'user-' || (i % 100000) END,
            jsonb_build_object('count', i, 'device', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36'), 1,
            $1::bigint - 7200000, $1::bigint - 60000, e, GREATEST(e, $1::bigint + 3600000), 1800000
     FROM (SELECT i, CASE WHEN random() < 0.1 THEN $1::bigint - 1 - (random() * 3600000)::bigint
                          ELSE $1::bigint + 1 + (random() * 1800000)::bigint END AS e
           FROM generate_series(1, ${PRUNE_ROWS}) AS i) AS rows`,
    [now],
  );
  const fillMs = performance.now() - t0;
  progress(`${seconds(fillMs)}; copy for the reference DELETE... `);
  await admin.query(`CREATE TABLE bench_prune_reference (LIKE ${t.sessions} INCLUDING ALL)`);
  await admin.query(`INSERT INTO bench_prune_reference SELECT * FROM ${t.sessions}`);
  progress("VACUUM ANALYZE... ");
  await admin.query(`VACUUM ANALYZE ${t.sessions}`);
  await admin.query("VACUUM ANALYZE bench_prune_reference");
  const { rows: [counts] } = await admin.query(
    `SELECT count(*) FILTER (WHERE expires_at <= $1)::int AS expired, count(*)::int AS total FROM ${t.sessions}`,
    [now],
  );
  progress("explain... ");

  // One batch under EXPLAIN ANALYZE, rolled back so the timed run starts from the same table.
  const client = await admin.connect();
  let plan: string;
  try {
    await client.query("BEGIN");
    const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${prune}`, [now, PRUNE_BATCH, Number.MIN_SAFE_INTEGER]);
    plan = rows.map((row) => row["QUERY PLAN"] as string).join("\n");
    await client.query("ROLLBACK");
  } finally {
    client.release();
  }
  progress("deleteExpired... ");
  t0 = performance.now();
  const result = await store.deleteExpired({ batchSize: PRUNE_BATCH });
  const pruneMs = performance.now() - t0;
  progress("reference DELETE... ");
  t0 = performance.now();
  const reference = await admin.query("DELETE FROM bench_prune_reference WHERE expires_at <= $1", [now]);
  const referenceMs = performance.now() - t0;
  const { rows: [after] } = await admin.query(
    `SELECT count(*) FILTER (WHERE expires_at <= $1)::int AS expired, count(*)::int AS total FROM ${t.sessions}`,
    [now],
  );
  progress("done\n");

  const usesIndex = plan.includes(`Index Scan using ${t.expiresIndex.replaceAll('"', "")}`) || plan.includes(`Index Scan using ${t.expiresIndex}`);
  const seqScan = /Seq Scan/.test(plan);
  log(`2. deleteExpired on ${counts.total.toLocaleString("en-US")} sessions, ${counts.expired.toLocaleString("en-US")} expired (${((100 * counts.expired) / counts.total).toFixed(1)} %), batchSize ${PRUNE_BATCH}`);
  log("");
  log(`   fill (INSERT ... SELECT, not part of the figure): ${seconds(fillMs)}`);
  log(`   deleteExpired: ${seconds(pruneMs)} for ${result.sessions.toLocaleString("en-US")} rows in ${result.batches} statements (${fmt(result.sessions / (pruneMs / 1000))} rows/s, ${(pruneMs / Math.max(1, result.batches - 2)).toFixed(1)} ms per batch)`);
  const full = batchMs.slice(0, -1); // the last batch is short
  const firstBatches = median(full.slice(0, 10));
  const lastBatches = median(full.slice(-10));
  log(`   per batch: median of the first 10 ${firstBatches.toFixed(1)} ms, of the last 10 ${lastBatches.toFixed(1)} ms`);
  log(`   left: ${after.total.toLocaleString("en-US")} rows, ${after.expired} expired`);
  log(`   reference, one DELETE ... WHERE expires_at <= now (connect-pg-simple's pruner): ${seconds(referenceMs)} for ${reference.rowCount?.toLocaleString("en-US")} rows, all in one transaction`);
  log("");
  log("   plan of one batch (EXPLAIN ANALYZE, rolled back):");
  for (const row of plan.split("\n")) log(`     ${row}`);
  log("");
  verdict(usesIndex && !seqScan, `each batch finds expired rows through ${t.expiresIndex} and scans no table (${usesIndex ? "index scan" : "no index scan"}${seqScan ? ", SEQ SCAN" : ""})`);
  verdict(result.sessions === counts.expired && after.expired === 0 && after.total === counts.total - counts.expired, "every expired row deleted, every live row kept");
  verdict(lastBatches <= 2 * firstBatches, `later batches no slower than 2x the first ones: index driven, not quadratic (got ${(lastBatches / firstBatches).toFixed(2)}x)`);
  log(`   note    one big DELETE is ${(pruneMs / referenceMs).toFixed(1)}x faster in total, but holds ${counts.expired.toLocaleString("en-US")} row locks in one transaction`);
  log("           and cannot be shared between instances or cut to a time budget; batches of 1000 each lock briefly.");
  log("");
  log(`total ${seconds(performance.now() - started)}`);
} finally {
  for (const pool of pools) await pool.end().catch(() => {});
  if (server.external) {
    const cleanup = new pg.Pool({ connectionString: server.url, max: 1 });
    await cleanup.query(`DROP TABLE IF EXISTS bench_cloakroom, bench_cloakroom_counters, bench_cps, bench_prune, bench_prune_counters, bench_prune_reference`);
    await cleanup.end();
  }
  await server.stop();
}
