/**
 * `createReplayLog`: an ordered log of events per channel that a reconnecting client catches
 * up from, exactly: in order, once, or with a plain `gap` when what it missed is gone. The
 * core owns the rules (arguments, gaps, pruning cadence, resume tokens); a backend persists.
 *
 * @module
 */
import { contextOf } from "../manager-context.ts";
import { configError, SessionError } from "../errors.ts";
import { checkChannel, checkLimit, checkMember, checkSeq, encodeEvent } from "./arguments.ts";
import type { ReplayBackend, StoredEvent } from "./backend.ts";
import { resolveReplayOptions, type ReplayLogOptions } from "./options.ts";
import { issueResumeToken, resume, type ResumeResult, type SessionRef, type TokenDeps } from "./resume.ts";

export interface ReplayEvent<Event = unknown> {
  seq: number;
  event: Event;
  /** Epoch ms the event was appended (never earlier than the event before it). */
  at: number;
}

export type SinceResult<Event = unknown> =
  /** The events after the position, in order; `more` when `limit` cut the list. */
  | { gap: false; events: ReplayEvent<Event>[]; more: boolean; head: number }
  /**
   * Events after the position are gone (pruned, past retention), or the position is beyond the
   * channel's head (the log was reset). Start again from `oldest`, knowing events were missed.
   */
  | { gap: true; oldest: number; head: number };

export interface ReplayMember {
  member: string;
  /** The acknowledged position. */
  seq: number;
  /** Epoch ms of the last heartbeat or ack. */
  heartbeatAt: number;
  /** Epoch ms at which the member stops being live unless it beats again. */
  expiresAt: number;
}

export interface ReplayLog<Event = unknown> {
  /** Appends an event; its `seq` is the channel's next number (no gaps, across processes). */
  append(channel: string, event: Event): Promise<{ seq: number }>;
  /** The events after `seq`, in order, at most `limit` (default 100); or a gap. */
  since(channel: string, seq: number, options?: { limit?: number }): Promise<SinceResult<Event>>;
  /** Records that `member` has everything up to `seq`; keeps it live. */
  ack(channel: string, member: string, seq: number): Promise<void>;
  /** Keeps `member` live for `ttl` seconds (default: the log's `memberTtl`). */
  heartbeat(channel: string, member: string, options?: { ttl?: number }): Promise<void>;
  /** The live members, by name. */
  members(channel: string): Promise<ReplayMember[]>;
  /** Prunes the channel now (appends, acks and heartbeats already do, every `pruneEvery`). */
  prune(channel: string): Promise<{ events: number }>;
  /** A single-use token bound to the session, the channel and the position (needs `sessions`). */
  issueResumeToken(session: SessionRef, channel: string, seq: number): Promise<string>;
  /** `{ ok: true, channel, seq }` once per token, or why not (needs `sessions`). */
  resume(token: string, session: SessionRef): Promise<ResumeResult>;
  readonly backend: ReplayBackend;
}

/**
 * @example
 * import { createReplayLog } from "cloakroom/replay";
 * import { memoryReplay } from "cloakroom/adapters/memory";
 *
 * const log = createReplayLog<{ text: string }>({ backend: memoryReplay(), retention: 3600, maxEvents: 1000, sessions });
 * const { seq } = await log.append("room:1", { text: "hello" });
 * const missed = await log.since("room:1", lastSeen);   // { gap: false, events, more } or { gap: true, oldest }
 * const token = await log.issueResumeToken(session, "room:1", seq);
 */
export function createReplayLog<Event = unknown>(options: ReplayLogOptions): ReplayLog<Event> {
  const config = resolveReplayOptions(options);
  const { backend, policy, clock } = config;
  const ctx = config.sessions === undefined ? undefined : contextOf(config.sessions);
  if (config.sessions !== undefined && !ctx) {
    throw configError("createReplayLog sessions must be the object createSessions returned (from the same cloakroom package).");
  }

  function call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return Promise.resolve()
      .then(run)
      .catch((error: unknown) => {
        if (error instanceof SessionError) throw error;
        throw new SessionError(
          "ERR_SESSION_STORE",
          `the ${backend.name} replay backend failed during ${operation}. Check its connection (the cause is attached).`,
          { cause: error },
        );
      });
  }

  let operations = 0;
  /** The amortised cleanup: one prune every `pruneEvery` calls that add to a channel. */
  async function tick(channel: string): Promise<void> {
    if (++operations % config.pruneEvery !== 0) return;
    // A failed prune costs only space; the call that triggered it has succeeded.
    await backend.prune(channel, clock(), policy).catch(() => {});
  }

  function decode(stored: StoredEvent, channel: string): ReplayEvent<Event> {
    let event: Event;
    try {
      event = JSON.parse(stored.payload) as Event;
    } catch (error) {
      throw new SessionError("ERR_SESSION_STORE", `event ${stored.seq} of channel ${channel} in the ${backend.name} replay backend is not the JSON cloakroom wrote.`, { cause: error });
    }
    return { seq: stored.seq, event, at: stored.at };
  }

  function tokens(): TokenDeps {
    if (!ctx) {
      throw configError("resume tokens need the session manager: createReplayLog({ backend, sessions }) with the object createSessions returned.");
    }
    return { ctx, backend, tokenTtlMs: config.tokenTtlMs, clock, call };
  }

  return {
    backend,

    async append(channel, event) {
      checkChannel(channel);
      const payload = encodeEvent(event, config.maxEventBytes);
      const { seq } = await call("append", () => backend.append(channel, payload, clock(), policy));
      await tick(channel);
      return { seq };
    },

    async since(channel, seq, sinceOptions = {}) {
      checkChannel(channel);
      checkSeq(seq, "since's seq");
      const limit = checkLimit(sinceOptions?.limit, config.maxLimit);
      const now = clock();
      // One more than asked: whether it comes back says `more` without another round trip.
      const { head, events } = await call("read", () => backend.read(channel, seq, limit + 1, now, policy));
      if (seq > head) {
        // Beyond the head: the channel was forgotten or reset since the client saw `seq`.
        const first = await call("read", () => backend.read(channel, 0, 1, now, policy));
        return { gap: true, oldest: first.events[0]?.seq ?? first.head + 1, head: first.head };
      }
      if (seq < head && events[0]?.seq !== seq + 1) {
        // What is excluded is a prefix (backend rule 3), so the first event returned is the oldest kept.
        return { gap: true, oldest: events[0]?.seq ?? head + 1, head };
      }
      let count = Math.min(events.length, limit);
      // A hole inside the list (a broken backend) is cut off: the next call reports it as a gap.
      for (let i = 1; i < count; i++) if (events[i]!.seq !== seq + 1 + i) count = i;
      return { gap: false, events: events.slice(0, count).map((stored) => decode(stored, channel)), more: count < events.length, head };
    },

    async ack(channel, member, seq) {
      checkChannel(channel);
      checkMember(member);
      checkSeq(seq, "ack's seq");
      await call("ack", () => backend.ack(channel, member, seq, clock(), policy));
      await tick(channel);
    },

    async heartbeat(channel, member, heartbeatOptions = {}) {
      checkChannel(channel);
      checkMember(member);
      const ttl = heartbeatOptions?.ttl;
      if (ttl !== undefined && (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl <= 0 || ttl > 86_400)) {
        throw new SessionError("ERR_SESSION_DATA", `heartbeat's ttl is in seconds and must be a number > 0 and at most 86400; got ${String(ttl)}.`);
      }
      const ttlMs = ttl === undefined ? policy.memberTtlMs : Math.max(1, Math.round(ttl * 1000));
      await call("heartbeat", () => backend.heartbeat(channel, member, clock(), ttlMs, policy));
      await tick(channel);
    },

    async members(channel) {
      checkChannel(channel);
      const now = clock();
      const live = await call("members", () => backend.members(channel, now));
      return live
        .filter((member) => member.expiresAt > now)
        .map(({ member, seq, heartbeatAt, expiresAt }) => ({ member, seq, heartbeatAt, expiresAt }))
        .sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
    },

    async prune(channel) {
      checkChannel(channel);
      return { events: await call("prune", () => backend.prune(channel, clock(), policy)) };
    },

    issueResumeToken: async (session, channel, seq) => issueResumeToken(tokens(), session, channel, seq),
    resume: async (token, session) => resume(tokens(), token, session),
  };
}
