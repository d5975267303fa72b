/**
 * `npm run bench:replay`: the replay log on each backend, against the plain commands it stands
 * on, measured in the same run on servers this script starts (the tests' harness: free loopback
 * ports, stopped by PID; PostgreSQL with fsync off). About 1.5 minutes. Prints figures and
 * ratios; never fails on a figure.
 *
 * 1. Appends per second, 16 in flight on one channel (a busy room): `log.append` on memory,
 *    Redis (ioredis), Postgres (pg Pool of 10) and Redis in front of Postgres; the floors are a
 *    plain `XADD key * ...` on the same connection and a plain `INSERT` of (channel, seq, at,
 *    event) with the seq counted by the client (so no gap-free numbering) on the same pool.
 * 2. Catch-up reads per second, 16 in flight: `log.since(channel, head - 100, { limit: 100 })`
 *    on a channel of 1,000 events; floors `XRANGE key <id> + COUNT 100` and
 *    `SELECT ... WHERE channel = $1 AND seq > $2 ORDER BY seq LIMIT 100`.
 * 3. A reconnect storm: 1,000 clients reconnect at once, each with its resume token
 *    (`log.resume`) and a catch-up of 100 events (`log.since`); on Postgres alone and with Redis
 *    in front. Floors: 1,000 plain XRANGE and 1,000 plain range SELECTs at once.
 * Round trips per operation are counted exactly (commands on the Redis connection, statements
 * on the query function). Lines run in interleaved rounds; medians of the rounds.
 *
 * @module
 */
import { cpus } from "node:os";
import { Redis } from "ioredis";
import pg from "pg";
import { memoryReplay, memoryStore } from "../adapters/memory/index.ts";
import { redisReplay } from "../adapters/ioredis/index.ts";
import { fromPg, postgresReplay, type QueryFunction } from "../adapters/postgres/index.ts";
import { createSessions, generateKey, type Session } from "../src/index.ts";
import { cachedReplay, createReplayLog, type ReplayBackend, type ReplayLog } from "../src/replay/index.ts";
import { startPostgres } from "../test/support/postgres-server.ts";
import { interleavedRates } from "./interleaved-rates.ts";
import { startRedisProcess } from "../test/support/redis-server.ts";

const IN_FLIGHT = 16;
const ROUNDS = Number(process.env.BENCH_ROUNDS) > 0 ? Number(process.env.BENCH_ROUNDS) : 3;
const SLICE_MS = Number(process.env.BENCH_SLICE_MS) > 0 ? Number(process.env.BENCH_SLICE_MS) : 1500;
const CLIENTS = 1000;
const CATCH_UP = 100;
const PREFILL = 1000;
const EVENT = { from: "bench-user", text: "a message of about a hundred bytes, as a chat room or a game would send it", n: 0 };

const log = (line = "") => console.log(line);
const progress = (text: string) => process.stderr.write(text);
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const started = performance.now();

const [redisServer, pgServer] = await Promise.all([startRedisProcess(), startPostgres()]);
const redis = new Redis(redisServer.url);
const pool = new pg.Pool({ connectionString: pgServer.url, max: 10 });
pool.on("error", () => {});

/** Counts what goes over the wire: Redis commands on `redis`, statements through `query`. */
let redisCommands = 0;
const send = redis.sendCommand;
redis.sendCommand = function (this: Redis, ...args: Parameters<Redis["sendCommand"]>) {
  redisCommands++;
  return send.apply(this, args);
} as Redis["sendCommand"];
let statements = 0;
const pgQuery = fromPg(pool);
const query: QueryFunction = (text, params) => (statements++, pgQuery(text, params));

try {
  const version = /redis_version:(\S+)/.exec(await redis.info("server"))?.[1];
  const { rows: [pgVersion] } = await pool.query("SHOW server_version");
  log(`cloakroom replay bench: Node ${process.version}, ${cpus().length} CPU (${cpus()[0]?.model ?? "unknown"}), Redis ${version}, PostgreSQL ${pgVersion.server_version} (fsync off), loopback, pg Pool of 10`);
  log("");

  const table = `bench_replay_${Date.now().toString(36)}`;
  const durable = postgresReplay({ query, table });
  await durable.migrate();
  await pool.query(`CREATE TABLE ${table}_floor (channel text, seq bigint, at bigint, event text, PRIMARY KEY (channel, seq))`);

  const keys = generateKey("bench");
  const sessions = createSessions({ store: memoryStore({ maxEntries: 10 * CLIENTS }), keys });
  const backends: Record<string, ReplayBackend> = {
    memory: memoryReplay(),
    redis: redisReplay({ client: redis, keyPrefix: "bench:" }),
    postgres: durable,
    cached: cachedReplay({ cache: redisReplay({ client: redis, keyPrefix: "bench-cache:" }), durable }),
  };
  const logs: Record<string, ReplayLog> = Object.fromEntries(Object.entries(backends).map(([name, backend]) => [name, createReplayLog({ backend, sessions })]));
  const label: Record<string, string> = { memory: "memory", redis: "Redis (ioredis)", postgres: "Postgres (pg)", cached: "Redis in front of Postgres" };

  interface Line {
    id: string;
    label: string;
    run: () => Promise<unknown>;
  }

  async function rates(lines: Line[]): Promise<Map<string, number>> {
    const perRound = await interleavedRates(lines, { inFlight: IN_FLIGHT, warmupMs: 300, sliceMs: SLICE_MS, rounds: ROUNDS, onRound: (round) => progress(`${round} `) });
    progress("\n");
    return new Map(lines.map((line) => [line.id, median(perRound.get(line.id)!)]));
  }

  /** Round trips of one call, counted over 50 calls one at a time. */
  async function trips(run: () => Promise<unknown>): Promise<string> {
    const before = { redis: redisCommands, pg: statements };
    for (let i = 0; i < 50; i++) await run();
    const r = (redisCommands - before.redis) / 50;
    const p = (statements - before.pg) / 50;
    return [r > 0 ? `${+r.toFixed(2)} Redis` : "", p > 0 ? `${+p.toFixed(2)} SQL` : ""].filter(Boolean).join(" + ") || "0";
  }

  // 1. Appends.
  let floorSeq = 0;
  const appendLines: Line[] = [
    ...Object.keys(logs).map((name) => ({ id: name, label: `log.append, ${label[name]}`, run: () => logs[name]!.append(`room-${name}`, EVENT) })),
    { id: "xadd", label: "floor: XADD room * e <json> t <ms>", run: () => redis.xadd("bench:floor:room", "*", "e", JSON.stringify(EVENT), "t", String(Date.now())) },
    {
      id: "insert",
      label: "floor: INSERT (channel, seq, at, event)",
      run: () => query(`INSERT INTO ${table}_floor (channel, seq, at, event) VALUES ($1, $2, $3, $4)`, ["room", ++floorSeq, Date.now(), JSON.stringify(EVENT)]),
    },
  ];
  const appendTrips = new Map<string, string>();
  for (const line of appendLines) appendTrips.set(line.id, await trips(line.run));
  progress(`appends, ${ROUNDS} rounds: `);
  const appends = await rates(appendLines);

  // 2. Catch-up reads on a channel of PREFILL events.
  // One channel per backend: the Postgres line and the cached one share a table.
  for (const name of Object.keys(logs)) for (let i = 0; i < PREFILL; i++) await logs[name]!.append(`read-${name}`, { ...EVENT, n: i });
  for (let i = 0; i < PREFILL; i++) {
    await redis.xadd("bench:floor:read", `${i + 1}-0`, "e", JSON.stringify({ ...EVENT, n: i }), "t", String(Date.now()));
    await pgQuery(`INSERT INTO ${table}_floor (channel, seq, at, event) VALUES ($1, $2, $3, $4)`, ["read", i + 1, Date.now(), JSON.stringify({ ...EVENT, n: i })]);
  }
  const from = PREFILL - CATCH_UP;
  const check = await logs.cached!.since("read-cached", from, { limit: CATCH_UP });
  if (check.gap || check.events.length !== CATCH_UP) throw new Error("the read channel is not as prefilled");
  const readLines: Line[] = [
    ...Object.keys(logs).map((name) => ({ id: name, label: `log.since(head - ${CATCH_UP}), ${label[name]}`, run: () => logs[name]!.since(`read-${name}`, from, { limit: CATCH_UP }) })),
    { id: "xrange", label: `floor: XRANGE read ${from + 1} + COUNT ${CATCH_UP}`, run: () => redis.xrange("bench:floor:read", String(from + 1), "+", "COUNT", CATCH_UP) },
    {
      id: "select",
      label: `floor: SELECT ... seq > $2 ORDER BY seq LIMIT ${CATCH_UP}`,
      run: () => query(`SELECT seq, at, event FROM ${table}_floor WHERE channel = $1 AND seq > $2 ORDER BY seq LIMIT ${CATCH_UP}`, ["read", from]),
    },
  ];
  const readTrips = new Map<string, string>();
  for (const line of readLines) readTrips.set(line.id, await trips(line.run));
  progress(`catch-up reads, ${ROUNDS} rounds: `);
  const reads = await rates(readLines);

  // 3. The reconnect storm: CLIENTS sessions, each with a token CATCH_UP events behind the head.
  const clients: Session[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const session = await sessions.read(null);
    session.userId = `user-${i}`;
    await session.regenerate();
    await sessions.commit(session);
    clients.push(session);
  }
  const positions = clients.map((_, i) => from - (i % 100));
  interface Storm {
    id: string;
    label: string;
    prepare(): Promise<() => Promise<unknown>[]>;
  }
  const reconnect = (name: string): Storm => ({
    id: name,
    label: `${CLIENTS} × (log.resume + log.since ${CATCH_UP}), ${label[name]}`,
    async prepare() {
      const replay = logs[name]!;
      const tokens = await Promise.all(clients.map((session, i) => replay.issueResumeToken(session, `read-${name}`, positions[i]!)));
      return () => clients.map(async (session, i) => {
        const resumed = await replay.resume(tokens[i]!, session);
        if (!resumed.ok) throw new Error(`resume refused: ${resumed.reason}`);
        const caught = await replay.since(resumed.channel, resumed.seq, { limit: CATCH_UP });
        if (caught.gap || caught.events.length !== CATCH_UP) throw new Error("short catch-up");
      });
    },
  });
  const storms: Storm[] = [
    reconnect("postgres"),
    reconnect("cached"),
    reconnect("redis"),
    { id: "xrange", label: `floor: ${CLIENTS} × XRANGE COUNT ${CATCH_UP} at once`, prepare: async () => () => positions.map((p) => redis.xrange("bench:floor:read", String(p + 1), "+", "COUNT", CATCH_UP)) },
    {
      id: "select",
      label: `floor: ${CLIENTS} × range SELECT LIMIT ${CATCH_UP} at once`,
      prepare: async () => () => positions.map((p) => query(`SELECT seq, at, event FROM ${table}_floor WHERE channel = $1 AND seq > $2 ORDER BY seq LIMIT ${CATCH_UP}`, ["read", p])),
    },
  ];
  // One untimed storm per line first: the scripts and statements a reconnect uses get loaded and
  // prepared (1,000 first uses at once would each pay a NOSCRIPT and an EVAL).
  for (const line of storms) await Promise.all((await line.prepare())());
  progress(`reconnect storms, ${ROUNDS} rounds: `);
  const stormMs = new Map(storms.map((storm) => [storm.id, [] as number[]]));
  const stormTrips = new Map<string, string>();
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? storms : [...storms].reverse();
    for (const storm of order) {
      const go = await storm.prepare();
      const before = { redis: redisCommands, pg: statements };
      const t0 = performance.now();
      await Promise.all(go());
      stormMs.get(storm.id)!.push(performance.now() - t0);
      const r = (redisCommands - before.redis) / CLIENTS;
      const p = (statements - before.pg) / CLIENTS;
      stormTrips.set(storm.id, [r > 0 ? `${+r.toFixed(2)} Redis` : "", p > 0 ? `${+p.toFixed(2)} SQL` : ""].filter(Boolean).join(" + ") || "0");
    }
    progress(`${round + 1} `);
  }
  progress("\n");
  const storm = new Map([...stormMs].map(([id, values]) => [id, median(values)]));

  const table1 = (title: string, lines: Line[], measured: Map<string, number>, tripsOf: Map<string, string>, floors: Record<string, string>) => {
    log(title);
    log("");
    log("| line | ops/s | vs floor | round trips per op |");
    log("|---|---:|---:|---|");
    for (const line of lines) {
      const floor = floors[line.id];
      const vs = floor ? `${ratio(measured.get(line.id)!, measured.get(floor)!)} of ${floor}` : "";
      log(`| ${line.label} | ${fmt(measured.get(line.id)!)} | ${vs} | ${tripsOf.get(line.id)} |`);
    }
    log("");
  };
  table1(`1. Appends, ${IN_FLIGHT} in flight on one channel, median of ${ROUNDS} rounds of ${SLICE_MS} ms`, appendLines, appends, appendTrips, { redis: "xadd", postgres: "insert", cached: "insert" });
  table1(`2. Catch-up reads of ${CATCH_UP} events, ${IN_FLIGHT} in flight, median of ${ROUNDS} rounds`, readLines, reads, readTrips, { redis: "xrange", postgres: "select", cached: "xrange" });

  log(`3. Reconnect storm: ${CLIENTS} clients at once, each resume + catch-up of ${CATCH_UP} events; median of ${ROUNDS} storms`);
  log("");
  log("| line | time ms | clients/s | vs floor | round trips per client |");
  log("|---|---:|---:|---:|---|");
  const stormFloor: Record<string, string> = { postgres: "select", cached: "xrange", redis: "xrange" };
  for (const line of storms) {
    const ms = storm.get(line.id)!;
    const floor = stormFloor[line.id];
    log(`| ${line.label} | ${fmt(ms)} | ${fmt(CLIENTS / (ms / 1000))} | ${floor ? `${ratio(ms, storm.get(floor)!)} the time of ${floor}` : ""} | ${stormTrips.get(line.id)} |`);
  }
  log("");
  log(`Redis in front of Postgres reconnects the ${CLIENTS} clients in ${ratio(storm.get("cached")!, storm.get("postgres")!)} the time of Postgres alone.`);
  log(`(ratios: ops/s of the line over ops/s of its floor, higher is better; storm time over the floor's time, lower is better.)`);
  log(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
  await pool.query(`DROP TABLE IF EXISTS ${table}, ${table}_channels, ${table}_members, ${table}_tokens, ${table}_floor`);
} finally {
  redis.disconnect();
  await pool.end();
  await Promise.all([redisServer.stop(), pgServer.stop()]);
}
