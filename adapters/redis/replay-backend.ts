/**
 * The Redis replay backend shared by the ioredis and Upstash adapters: every operation is one
 * Lua script (replay-scripts.ts), so one round trip per append and per read, and atomic on one
 * slot per channel. It also has a window, so it can be `cachedReplay`'s cache in front of
 * Postgres. Web-standard: it only talks to a `ScriptRunner`.
 *
 * @module
 */
import { SessionError } from "../../src/errors.ts";
import type { MemberRecord, ReplayBackend, ReplayWindow, StoredEvent } from "../../src/replay/backend.ts";
import { replayKeys, type ReplayKeys } from "./replay-keys.ts";
import {
  ACK, APPEND, CONSUME_TOKEN, DROP_WINDOW, HEARTBEAT, MEMBERS, MERGE_WINDOW, PRUNE, READ, READ_WINDOW, SAVE_TOKEN,
} from "./replay-scripts.ts";
import type { ScriptRunner } from "./script-runner.ts";

export interface RedisReplayOptions {
  /** Prepended to every key, before `replay:`. Must not contain "{" or "}". @default "cloakroom:" */
  keyPrefix?: string;
}

export interface RedisReplay extends ReplayBackend {
  readonly window: ReplayWindow;
  readonly keys: ReplayKeys;
}

function unexpected(what: string): SessionError {
  return new SessionError("ERR_SESSION_STORE", `the Redis replay backend got a reply it did not expect from ${what}; is something else writing under its keys?`);
}

function int(value: unknown, what: string): number {
  const number = typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;
  if (!Number.isSafeInteger(number)) throw unexpected(what);
  return number;
}

function list(reply: unknown, what: string): unknown[] {
  if (!Array.isArray(reply)) throw unexpected(what);
  return reply;
}

/** "<seq>:<at>:<json>", the window's members. */
function windowEvent(member: unknown): StoredEvent {
  const text = typeof member === "string" ? member : "";
  const first = text.indexOf(":");
  const second = text.indexOf(":", first + 1);
  if (first < 1 || second < 0) throw unexpected("the window");
  return { seq: int(text.slice(0, first), "the window"), at: int(text.slice(first + 1, second), "the window"), payload: text.slice(second + 1) };
}

export function redisReplayBackend(runner: ScriptRunner, name: string, options: RedisReplayOptions = {}): RedisReplay {
  const keys = replayKeys(options.keyPrefix);

  const window: ReplayWindow = {
    async readWindow(channel, after, limit, now, policy) {
      const reply = list(await runner.run(READ_WINDOW, [keys.window(channel)], [after, limit, now, policy.retentionMs, policy.maxEvents]), "the window");
      if (reply[0] !== 1) return null;
      return { head: int(reply[1], "the window"), events: reply.slice(2).map(windowEvent) };
    },
    async mergeWindow(channel, events, { size, ttlMs, fresh }) {
      if (events.length === 0) return;
      const args: (string | number)[] = [size, ttlMs, fresh ? 1 : 0];
      for (const event of events) args.push(event.seq, `${event.seq}:${event.at}:${event.payload}`);
      await runner.run(MERGE_WINDOW, [keys.window(channel)], args);
    },
    async dropWindow(channel) {
      await runner.run(DROP_WINDOW, [keys.window(channel)], []);
    },
  };

  return {
    name,
    keys,
    window,

    async append(channel, payload, now, policy) {
      const reply = list(await runner.run(APPEND, keys.channel(channel).slice(0, 2), [payload, now, policy.retentionMs, policy.maxEvents]), "append");
      return { seq: int(reply[0], "append"), at: int(reply[1], "append") };
    },

    async read(channel, after, limit, now, policy) {
      const reply = list(await runner.run(READ, keys.channel(channel).slice(0, 2), [after, limit, now, policy.retentionMs, policy.maxEvents]), "read");
      const events: StoredEvent[] = [];
      for (let i = 1; i + 2 < reply.length; i += 3) {
        const payload = reply[i + 2];
        if (typeof payload !== "string") throw unexpected("read");
        events.push({ seq: int(reply[i], "read"), at: int(reply[i + 1], "read"), payload });
      }
      return { head: int(reply[0], "read"), events };
    },

    async heartbeat(channel, member, now, ttlMs) {
      await runner.run(HEARTBEAT, keys.channel(channel), [member, now, ttlMs, now + ttlMs]);
    },

    async ack(channel, member, seq, now, policy) {
      await runner.run(ACK, keys.channel(channel), [member, seq, now, policy.memberTtlMs]);
    },

    async members(channel, now) {
      const [, , membersKey, liveKey] = keys.channel(channel);
      const reply = list(await runner.run(MEMBERS, [membersKey, liveKey], [now]), "members");
      const found: MemberRecord[] = [];
      for (let i = 0; i + 2 < reply.length; i += 3) {
        const [seq, heartbeatAt] = String(reply[i + 1]).split(":");
        found.push({ member: String(reply[i]), seq: int(seq, "members"), heartbeatAt: int(heartbeatAt, "members"), expiresAt: int(reply[i + 2], "members") });
      }
      return found;
    },

    async prune(channel, now, policy) {
      return int(await runner.run(PRUNE, keys.channel(channel), [now, policy.retentionMs, policy.maxEvents, policy.batch]), "prune");
    },

    async saveToken(hash, expiresAt) {
      await runner.run(SAVE_TOKEN, [keys.token(hash)], [expiresAt]);
    },

    async consumeToken(hash, now) {
      return int(await runner.run(CONSUME_TOKEN, [keys.token(hash)], [now]), "consumeToken") === 1;
    },
  };
}
