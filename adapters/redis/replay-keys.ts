/**
 * Where the Redis replay backend keeps a channel. Every key of a channel carries the channel as
 * its Cluster hash tag, so each script runs on one slot (one channel, one slot):
 *
 *   <prefix>replay:{<channel>}:m   HASH {head, at}: the last sequence number and its time
 *   <prefix>replay:{<channel>}:e   STREAM: entry id <seq>-0, fields e (the event's JSON) and t (its time)
 *   <prefix>replay:{<channel>}:a   HASH member -> "<seq>:<heartbeatAt>:<ttl ms>"
 *   <prefix>replay:{<channel>}:l   ZSET member, score = when it stops being live (epoch ms)
 *   <prefix>replay:{<channel>}:w   ZSET the cache window (cachedReplay): score seq, member "<seq>:<at>:<json>"
 *   <prefix>replay:t:<hash>        STRING a resume token's hash: its expiry (epoch ms)
 *
 * The core refuses channel names with braces (src/replay/arguments.ts), so a name cannot move
 * its keys to another slot.
 *
 * @module
 */
import { keyLayout } from "./keys.ts";

export interface ReplayKeys {
  readonly prefix: string;
  /** meta, stream, members, live: the keys of the log scripts, in that order. */
  channel(channel: string): [meta: string, stream: string, members: string, live: string];
  window(channel: string): string;
  token(hash: string): string;
}

export function replayKeys(prefix?: string): ReplayKeys {
  // The same rule as the session store's prefix: no braces (they would pick the slot).
  const checked = keyLayout(prefix).prefix;
  const stem = (channel: string) => `${checked}replay:{${channel}}:`;
  return {
    prefix: checked,
    channel: (channel) => {
      const s = stem(channel);
      return [`${s}m`, `${s}e`, `${s}a`, `${s}l`];
    },
    window: (channel) => `${stem(channel)}w`,
    token: (hash) => `${checked}replay:t:${hash}`,
  };
}
