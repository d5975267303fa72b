/**
 * The failover drill against a running Sentinel deployment: visitors read and write sessions
 * under a key prefix of the drill's own while the sentinels are told to fail over
 * (`SENTINEL FAILOVER`, the controlled failover a maintenance window uses, with the old
 * primary's writes paused so none is lost), and every request is judged (figures.ts). Afterwards a new client reads every visitor back, and the drill's
 * keys are deleted. It checks first that a failover can happen at all: a master the sentinels
 * know, a quorum, and a replica to promote.
 *
 * @module
 */
import type { Redis } from "ioredis";
import { failoverSafeOptions, ioredisStore } from "../../adapters/ioredis/index.ts";
import { loadDriver } from "../../env/load.ts";
import { createSessions, generateKey, SessionError } from "../../src/index.ts";
import { figuresOf, type Figures } from "./figures.ts";
import { signIn, signOutDuringFault, startLoad, verify, type Visitor } from "./visitors.ts";

export interface Address {
  host: string;
  port: number;
}

export interface SentinelDrillOptions {
  sentinels: Address[];
  name: string;
  /** For the data nodes (REDIS_USERNAME, REDIS_PASSWORD) and the sentinels (REDIS_SENTINEL_PASSWORD). */
  username?: string;
  password?: string;
  sentinelPassword?: string;
  visitors: number;
  workers: number;
  /** Load before the failover, ms. */
  warmMs: number;
  /** Load after the new primary answers, ms. */
  afterMs: number;
  /** How long the sentinels may take to name a new primary, ms. */
  timeoutMs: number;
  /** Progress, one line each. */
  log(line: string): void;
}

export interface SentinelDrillResult {
  figures: Figures;
  before: Address;
  after: Address;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const shown = (a: Address) => `${a.host}:${a.port}`;
const drillError = (message: string) => new SessionError("ERR_SESSION_STORE", message);

function addressOf(reply: unknown): Address | undefined {
  return Array.isArray(reply) && reply.length === 2 ? { host: String(reply[0]), port: Number(reply[1]) } : undefined;
}

/** Whether a replica has every write of `primary` (INFO replication offsets), polled until `withinMs`. */
async function caughtUp(primary: Redis, withinMs: number): Promise<boolean> {
  for (const deadline = performance.now() + withinMs; performance.now() < deadline; await sleep(10)) {
    const info = String(await primary.info("replication"));
    const offset = Number(/master_repl_offset:(\d+)/.exec(info)?.[1]);
    const replicas = [...info.matchAll(/^slave\d+:.*offset=(\d+)/gm)].map((match) => Number(match[1]));
    if (replicas.some((replica) => replica >= offset)) return true;
  }
  return false;
}

export async function sentinelDrill(options: SentinelDrillOptions): Promise<SentinelDrillResult> {
  const { Redis } = await loadDriver<typeof import("ioredis")>("ioredis", "--sentinels");
  const quiet = (client: Redis) => (client.on("error", () => {}), client);
  const auth = { ...(options.username ? { username: options.username } : {}), ...(options.password ? { password: options.password } : {}) };
  const sentinelAuth = options.sentinelPassword ? { sentinelPassword: options.sentinelPassword } : {};
  const toSentinel = (address: Address) =>
    quiet(new Redis({ ...address, ...(options.sentinelPassword ? { password: options.sentinelPassword } : {}), commandTimeout: 2000, maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true }));
  const open: Redis[] = [];
  /** The data clients, for the clean-up (the first) and the disconnect. */
  const dataClient = () => {
    const client = quiet(new Redis({ ...failoverSafeOptions(), ...auth, ...sentinelAuth, sentinels: options.sentinels, name: options.name }));
    open.push(client);
    return client;
  };

  /** Asks each sentinel in turn; the first answer counts. */
  async function ask<T>(args: string[], read: (reply: unknown) => T | undefined): Promise<T> {
    let last: unknown;
    for (const address of options.sentinels) {
      const sentinel = toSentinel(address);
      try {
        const value = read(await sentinel.call(args[0]!, ...args.slice(1)));
        if (value !== undefined) return value;
      } catch (error) {
        last = error;
      } finally {
        sentinel.disconnect();
      }
    }
    throw drillError(`no sentinel answered ${args.slice(0, 2).join(" ")} for ${JSON.stringify(options.name)}${last instanceof Error ? ` (${last.message})` : ""}; check --sentinels, --name and REDIS_SENTINEL_PASSWORD.`);
  }

  const before = await ask(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", options.name], addressOf);
  await ask(["SENTINEL", "CKQUORUM", options.name], (reply) => String(reply)).catch((error: Error) => {
    throw drillError(`the sentinels cannot agree on a failover now (${error.message}); fix the quorum before a drill.`);
  });
  const replicas = await ask(["SENTINEL", "REPLICAS", options.name], (reply) => (Array.isArray(reply) ? reply : undefined));
  const healthy = replicas.filter((flat: unknown) => {
    const fields = Array.isArray(flat) ? flat.map(String) : [];
    const flags = fields[fields.indexOf("flags") + 1] ?? "";
    return !/s_down|o_down|disconnected/.test(flags);
  });
  if (healthy.length === 0) throw drillError(`master ${JSON.stringify(options.name)} at ${shown(before)} has no healthy replica to promote; a failover now would fail.`);
  options.log(`master ${JSON.stringify(options.name)} at ${shown(before)}, ${healthy.length} healthy replica(s), quorum ok`);

  const keyPrefix = `cloakroom-drill:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}:`;
  const keys = generateKey("drill");
  const sessions = createSessions<{ count: number }>({ store: ioredisStore({ client: dataClient(), keyPrefix }), keys });
  try {
    const visitors: Visitor[] = [];
    for (let i = 0; i < options.visitors; i++) visitors.push(await signIn(sessions, `drill-visitor-${i}`));
    const victims: Visitor[] = [];
    for (let i = 0; i < 6; i++) victims.push(await signIn(sessions, `drill-victim-${i}`));
    options.log(`${visitors.length} visitors signed in under ${keyPrefix}*; load for ${options.warmMs} ms, then SENTINEL FAILOVER`);

    const load = startLoad(sessions, visitors, options.workers);
    await sleep(options.warmMs);
    // SENTINEL FAILOVER promotes the replica while the old primary still takes writes, until the
    // sentinels turn it into a replica: writes acknowledged there meanwhile are lost (measured
    // here: every write of the second it took). So, as Redis's own FAILOVER command does, the old
    // primary's writes are paused first and the replica caught up; paused clients wait, then
    // find a replica (READONLY) and resend to the new primary.
    const old = quiet(new Redis({ ...before, ...auth, commandTimeout: 2000, maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true }));
    open.push(old);
    await old.call("CLIENT", "PAUSE", String(options.timeoutMs), "WRITE");
    const faultAt = performance.now();
    if (!(await caughtUp(old, 2000))) {
      await old.call("CLIENT", "UNPAUSE").catch(() => {});
      throw drillError(`no replica of ${shown(before)} caught up within 2 s of pausing its writes; the drill stopped before the failover.`);
    }
    await ask(["SENTINEL", "FAILOVER", options.name], (reply) => String(reply));
    const [after, signOuts] = await Promise.all([
      (async () => {
        for (const deadline = faultAt + options.timeoutMs; performance.now() < deadline; await sleep(20)) {
          const address = await ask(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", options.name], addressOf).catch(() => undefined);
          if (!address || shown(address) === shown(before)) continue;
          const probe = quiet(new Redis({ ...address, ...auth, commandTimeout: 1000, maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true }));
          try {
            if (/role:master/.test(String(await probe.info("replication")))) return address;
          } catch {
            // not answering as the primary yet
          } finally {
            probe.disconnect();
          }
        }
        throw drillError(`the sentinels named no new primary within ${options.timeoutMs / 1000} s of SENTINEL FAILOVER.`);
      })(),
      sleep(300).then(() => signOutDuringFault(sessions, victims)),
    ]);
    await old.call("CLIENT", "UNPAUSE").catch(() => {});
    const recoveredAt = performance.now();
    options.log(`new primary ${shown(after)} after ${((recoveredAt - faultAt) / 1000).toFixed(2)} s; load for ${options.afterMs} ms more`);
    await sleep(options.afterMs);
    await load.stop();
    const until = performance.now();

    const fresh = createSessions<{ count: number }>({ store: ioredisStore({ client: dataClient(), keyPrefix }), keys });
    const checked = await verify(fresh, visitors, signOuts);
    return { figures: figuresOf(load.ops, faultAt, recoveredAt, until, { ...checked, cacheBackS: Number.NaN }), before, after };
  } finally {
    // The drill's own keys only, by SCAN under its prefix (never KEYS, never another prefix).
    const client = open.find((c) => c.options.sentinels?.length);
    if (client) {
      let cursor = "0";
      try {
        do {
          const [next, found] = await client.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 500);
          cursor = next;
          if (found.length > 0) await client.unlink(...found);
        } while (cursor !== "0");
      } catch (error) {
        options.log(`could not delete the drill's keys (${(error as Error).message}); they expire on their own within an hour: ${keyPrefix}*`);
      }
    }
    for (const client of open) client.disconnect();
  }
}
