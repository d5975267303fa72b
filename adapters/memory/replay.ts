/**
 * The replay log in process memory: for development, tests and single-instance apps, and as
 * the window of a `cachedReplay` in tests. Nothing survives a restart (a client then holds a
 * position beyond the head, which `since` answers as a gap) and nothing is shared between
 * processes. Every rule of src/replay/backend.ts holds; time is the caller's `now`.
 *
 * @module
 */
import { EventList } from "./replay-events.ts";
import { type MemberRecord, type ReadResult, type ReplayBackend, type ReplayPolicy, type ReplayWindow, type StoredEvent } from "../../src/replay/backend.ts";

interface Member {
  seq: number;
  heartbeatAt: number;
  ttlMs: number;
  expiresAt: number;
}

interface Channel {
  head: number;
  lastAt: number;
  events: EventList;
  members: Map<string, Member>;
  /** Epoch ms after which an idle channel is forgotten (rule 5). */
  idleUntil: number;
}

interface Window {
  events: StoredEvent[];
  expiresAt: number;
}

export interface MemoryReplay extends ReplayBackend {
  readonly window: ReplayWindow;
  /** Channels held (live or not yet swept). */
  readonly size: number;
  /** What is stored, bypassing every rule; for tests. */
  readonly raw: {
    /** Sequence numbers of the channel's events as stored, pruned or not. */
    seqs(channel: string): number[];
  };
}

/**
 * @example
 * import { createReplayLog } from "cloakroom/replay";
 * const log = createReplayLog({ backend: memoryReplay(), sessions });
 */
export function memoryReplay(): MemoryReplay {
  const channels = new Map<string, Channel>();
  const tokens = new Map<string, number>();
  const windows = new Map<string, Window>();
  let channelSweep: Iterator<string> = channels.keys();
  let tokenSweep: Iterator<string> = tokens.keys();

  const keeps = (channel: Channel, now: number, policy: ReplayPolicy) => {
    const cutoff = now - policy.retentionMs;
    const lowest = channel.head - policy.maxEvents;
    return (event: StoredEvent) => event.seq > lowest && event.at >= cutoff;
  };

  function liveChannel(name: string, now: number): Channel | undefined {
    const channel = channels.get(name);
    // idleUntil covers the last append's retention and every member's expiry.
    if (channel && channel.idleUntil <= now) {
      channels.delete(name);
      return undefined;
    }
    return channel;
  }

  function channelFor(name: string, now: number): Channel {
    let channel = liveChannel(name, now);
    if (!channel) channels.set(name, (channel = { head: 0, lastAt: 0, events: new EventList(), members: new Map(), idleUntil: 0 }));
    return channel;
  }

  /** Steps a sweep over a map's keys, wrapping around; `visit` may delete the key it is given. */
  function sweep<K>(iterator: Iterator<K>, restart: () => Iterator<K>, steps: number, visit: (key: K) => void): Iterator<K> {
    for (let i = 0; i < steps; i++) {
      const next = iterator.next();
      if (next.done) return restart();
      visit(next.value);
    }
    return iterator;
  }

  const window: ReplayWindow = {
    async readWindow(name, after, limit, now, policy) {
      const held = windows.get(name);
      if (!held || held.expiresAt <= now || held.events.length === 0) return null;
      const floor = held.events[0]!.seq - 1;
      const head = held.events[held.events.length - 1]!.seq;
      if (after < floor || after > head || after < head - policy.maxEvents) return null;
      const events = held.events.slice(after - floor, after - floor + limit);
      if (events.some((event) => event.at < now - policy.retentionMs)) return null;
      return { head, events: events.map((event) => ({ ...event })) };
    },

    async mergeWindow(name, incoming, { size, now, ttlMs, fresh }) {
      if (incoming.length === 0) return;
      const held = windows.get(name);
      const copy = incoming.map((event) => ({ ...event }));
      const first = copy[0]!.seq;
      const last = copy[copy.length - 1]!.seq;
      let events: StoredEvent[];
      if (!held || held.expiresAt <= now || held.events.length === 0) {
        if (!fresh) return;
        events = copy;
      } else {
        const floor = held.events[0]!.seq - 1;
        const head = held.events[held.events.length - 1]!.seq;
        if (first - 1 > head) {
          if (!fresh) return;
          events = copy; // the window missed events: start again from these
        } else if (last < floor) return; // older than the window and not touching it
        else {
          const below = copy.filter((event) => event.seq <= floor);
          const above = copy.filter((event) => event.seq > head);
          events = [...below, ...held.events, ...above];
        }
      }
      windows.set(name, { events: events.slice(-size), expiresAt: now + ttlMs });
    },

    async dropWindow(name) {
      windows.delete(name);
    },
  };

  return {
    name: "memory",
    window,
    get size() {
      return channels.size;
    },
    raw: {
      seqs: (name) => {
        const list = channels.get(name)?.events;
        return list ? list.items.slice(list.start).map((event) => event.seq) : [];
      },
    },

    async append(name, payload, now, policy) {
      const channel = channelFor(name, now);
      const at = Math.max(now, channel.lastAt);
      const seq = ++channel.head;
      channel.lastAt = at;
      channel.idleUntil = Math.max(channel.idleUntil, now + policy.retentionMs);
      channel.events.items.push({ seq, at, payload });
      return { seq, at };
    },

    async read(name, after, limit, now, policy) {
      const channel = liveChannel(name, now);
      if (!channel) return { head: 0, events: [] };
      const events = channel.events.after(after, limit, keeps(channel, now, policy));
      return { head: channel.head, events: events.map((event) => ({ ...event })) } satisfies ReadResult;
    },

    async heartbeat(name, member, now, ttlMs) {
      const channel = channelFor(name, now);
      const known = channel.members.get(member);
      const seq = known && known.expiresAt > now ? known.seq : channel.head;
      channel.members.set(member, { seq, heartbeatAt: now, ttlMs, expiresAt: now + ttlMs });
      channel.idleUntil = Math.max(channel.idleUntil, now + ttlMs);
    },

    async ack(name, member, seq, now, policy) {
      const channel = channelFor(name, now);
      const known = channel.members.get(member);
      const live = known && known.expiresAt > now ? known : undefined;
      const ttlMs = live?.ttlMs ?? policy.memberTtlMs;
      const position = Math.max(live?.seq ?? 0, Math.min(seq, channel.head));
      channel.members.set(member, { seq: position, heartbeatAt: now, ttlMs, expiresAt: now + ttlMs });
      channel.idleUntil = Math.max(channel.idleUntil, now + ttlMs);
    },

    async members(name, now) {
      const channel = liveChannel(name, now);
      if (!channel) return [];
      const live: MemberRecord[] = [];
      for (const [member, { seq, heartbeatAt, expiresAt }] of channel.members) {
        if (expiresAt > now) live.push({ member, seq, heartbeatAt, expiresAt });
      }
      return live;
    },

    async prune(name, now, policy) {
      channelSweep = sweep(channelSweep, () => channels.keys(), policy.batch, (key) => void liveChannel(key, now));
      tokenSweep = sweep(tokenSweep, () => tokens.keys(), policy.batch, (key) => {
        if (tokens.get(key)! <= now) tokens.delete(key);
      });
      const channel = liveChannel(name, now);
      if (!channel) return 0;
      let removed = 0;
      for (const [member, record] of channel.members) {
        if (removed >= policy.batch) break;
        if (record.expiresAt <= now) {
          channel.members.delete(member);
          removed++;
        }
      }
      let bound = channel.head - policy.maxEvents;
      let lowestLive = Infinity;
      for (const member of channel.members.values()) if (member.expiresAt > now) lowestLive = Math.min(lowestLive, member.seq);
      if (lowestLive !== Infinity) bound = Math.max(bound, lowestLive);
      const cutoff = now - policy.retentionMs;
      return channel.events.dropWhile((event) => event.seq <= bound || event.at < cutoff, policy.batch);
    },

    async saveToken(hash, expiresAt) {
      tokens.set(hash, expiresAt);
    },

    async consumeToken(hash, now) {
      const expiresAt = tokens.get(hash);
      tokens.delete(hash);
      return expiresAt !== undefined && expiresAt > now;
    },
  };
}
