/**
 * The Lua scripts of the Redis replay backend: each operation is one script, so one round trip
 * and atomic on the server (one channel's keys share a slot, see replay-keys.ts).
 *
 * Why these shapes:
 * - Events are a Redis stream whose entry ids are the sequence numbers (`<seq>-0`): XRANGE reads
 *   from a position directly and XTRIM MINID prunes a prefix, both without scanning. The head
 *   (and the last event's time) is a small hash next to it, bumped by HINCRBY in the same script
 *   as the XADD, so numbers are gap-free whatever the number of appenders.
 * - Times are the caller's clock, passed as decimal strings and stored as sent; only comparisons
 *   go through tonumber. An event's time is max(now, the previous event's), so what retention
 *   removes is a prefix, which the scripts find by binary search over the stream.
 * - Every key lives at least as long as what it serves: EXTEND moves a key's expiry later,
 *   never earlier, so a long member ttl and the retention do not cut each other short.
 *
 * @module
 */
import type { RedisScript } from "./script-runner.ts";

const PRELUDE = `
local function extend(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
local function seqOf(entry) return tonumber(string.match(entry[1], '^(%d+)')) end
local function atOf(entry) return tonumber(entry[2][4]) end
-- The lowest position x in [lo, hi] whose next entry is at or after cutoff (hi when none is):
-- times never decrease along the stream, so this is a binary search.
local function firstFresh(stream, lo, hi, cutoff)
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local entry = redis.call('XRANGE', stream, mid, '+', 'COUNT', 1)[1]
    if entry and atOf(entry) < cutoff then lo = seqOf(entry) + 1 else hi = mid end
  end
  return lo
end
local function head(meta) return tonumber(redis.call('HGET', meta, 'head') or '0') end
`;

const script = (name: string, body: string): RedisScript => ({ name, lua: `${PRELUDE}${body}` });

/**
 * KEYS meta, stream. ARGV payload, now, retentionMs, maxEvents. Returns {seq, at}. Four commands
 * in the steady state: the XADD trims to maxEvents itself (MINID), the previous time is the
 * stream's last entry, and the expiries move only once the retention's tenth has passed.
 */
export const APPEND = script("replay append", `
local meta, stream = KEYS[1], KEYS[2]
local retention, maxEvents = tonumber(ARGV[3]), tonumber(ARGV[4])
local seq = redis.call('HINCRBY', meta, 'head', 1)
local at = ARGV[2]
local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)[1]
if last and atOf(last) > tonumber(at) then at = last[2][4] end
local added = redis.pcall('XADD', stream, 'MINID', math.max(0, seq - maxEvents + 1), seq .. '-0', 'e', ARGV[1], 't', at)
if type(added) == 'table' and added.err then
  -- The stream is ahead of its head (the hash was lost or evicted): go on after the stream.
  local info = redis.call('XINFO', 'STREAM', stream)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then seq = tonumber(string.match(info[i + 1], '^(%d+)')) + 1 end
  end
  redis.call('HSET', meta, 'head', seq)
  redis.call('XADD', stream, 'MINID', math.max(0, seq - maxEvents + 1), seq .. '-0', 'e', ARGV[1], 't', at)
end
-- Both keys live at least the retention past this event; refreshed in steps of a tenth of it.
if redis.call('PTTL', meta) < retention then
  local ms = retention + math.floor(retention / 10)
  extend(meta, ms)
  extend(stream, ms)
end
return {seq, at}
`);

/** KEYS meta, stream. ARGV after, limit, now, retentionMs, maxEvents. Returns {head, seq, at, payload, ...}. */
export const READ = script("replay read", `
local stream = KEYS[2]
local top = head(KEYS[1])
local out = {top}
local start = math.max(tonumber(ARGV[1]) + 1, top - tonumber(ARGV[5]) + 1)
if start > top then return out end
local limit, cutoff = tonumber(ARGV[2]), tonumber(ARGV[3]) - tonumber(ARGV[4])
local entries = redis.call('XRANGE', stream, start, '+', 'COUNT', limit)
if entries[1] and atOf(entries[1]) < cutoff then
  local fresh = firstFresh(stream, seqOf(entries[1]) + 1, top + 1, cutoff)
  entries = redis.call('XRANGE', stream, fresh, '+', 'COUNT', limit)
end
for _, entry in ipairs(entries) do
  out[#out + 1] = seqOf(entry)
  out[#out + 1] = entry[2][4]
  out[#out + 1] = entry[2][2]
end
return out
`);

/** KEYS meta, stream, members, live. ARGV member, now, ttlMs, expiresAt. */
export const HEARTBEAT = script("replay heartbeat", `
local member, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local seq = head(KEYS[1])
local until_ = redis.call('ZSCORE', KEYS[4], member)
if until_ and tonumber(until_) > now then
  local record = redis.call('HGET', KEYS[3], member)
  if record then seq = string.match(record, '^(%d+)') end
end
redis.call('HSET', KEYS[3], member, seq .. ':' .. ARGV[2] .. ':' .. ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[4], member)
for i = 1, 4 do extend(KEYS[i], ttl) end
return 1
`);

/** KEYS meta, stream, members, live. ARGV member, seq, now, defaultTtlMs. */
export const ACK = script("replay ack", `
local member, wanted, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local top = head(KEYS[1])
local previous, ttl = 0, ARGV[4]
local until_ = redis.call('ZSCORE', KEYS[4], member)
if until_ and tonumber(until_) > now then
  local record = redis.call('HGET', KEYS[3], member)
  if record then
    local s, _, t = string.match(record, '^(%d+):(%d+):(%d+)$')
    previous, ttl = tonumber(s), t
  end
end
local position = math.max(previous, math.min(wanted, top))
redis.call('HSET', KEYS[3], member, position .. ':' .. ARGV[3] .. ':' .. ttl)
redis.call('ZADD', KEYS[4], now + tonumber(ttl), member)
for i = 1, 4 do extend(KEYS[i], tonumber(ttl)) end
return 1
`);

/** KEYS members, live. ARGV now. Returns {member, record, expiresAt, ...} for live members. */
export const MEMBERS = script("replay members", `
local live = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'WITHSCORES')
local out = {}
for i = 1, #live, 2 do
  local record = redis.call('HGET', KEYS[1], live[i])
  if record then
    out[#out + 1] = live[i]
    out[#out + 1] = record
    out[#out + 1] = live[i + 1]
  end
end
return out
`);

/** KEYS meta, stream, members, live. ARGV now, retentionMs, maxEvents, batch. Returns events deleted. */
export const PRUNE = script("replay prune", `
local meta, stream, members, live = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, batch = tonumber(ARGV[1]), tonumber(ARGV[4])
local expired = redis.call('ZRANGEBYSCORE', live, '-inf', ARGV[1], 'LIMIT', 0, batch)
for i = 1, #expired, 500 do
  local chunk = {unpack(expired, i, math.min(i + 499, #expired))}
  redis.call('ZREM', live, unpack(chunk))
  redis.call('HDEL', members, unpack(chunk))
end
local top = head(meta)
local bound = top - tonumber(ARGV[3])
local alive = redis.call('ZRANGEBYSCORE', live, '(' .. ARGV[1], '+inf')
if #alive > 0 then
  local lowest = nil
  for _, member in ipairs(alive) do
    local record = redis.call('HGET', members, member)
    local s = record and tonumber(string.match(record, '^(%d+)'))
    if s and (lowest == nil or s < lowest) then lowest = s end
  end
  if lowest then bound = math.max(bound, lowest) end
end
local first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
if not first then return 0 end
local oldest = seqOf(first)
local cutoff = now - tonumber(ARGV[2])
if atOf(first) < cutoff then bound = math.max(bound, firstFresh(stream, oldest, top + 1, cutoff) - 1) end
local target = math.min(bound, oldest + batch - 1)
if target < oldest then return 0 end
return redis.call('XTRIM', stream, 'MINID', target + 1)
`);

/** KEYS token. ARGV expiresAt. */
export const SAVE_TOKEN = script("replay save token", `
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[1])
return 1
`);

/** KEYS token. ARGV now. Returns 1 when the token was there and live (and is now gone). */
export const CONSUME_TOKEN = script("replay consume token", `
local expires = redis.call('GET', KEYS[1])
if not expires then return 0 end
redis.call('DEL', KEYS[1])
if tonumber(expires) > tonumber(ARGV[1]) then return 1 end
return 0
`);

/** KEYS window. ARGV after, limit, now, retentionMs, maxEvents. Returns {0} (cannot answer) or {1, head, member, ...}. */
export const READ_WINDOW = script("replay read window", `
local window = KEYS[1]
local lowest = redis.call('ZRANGE', window, 0, 0, 'WITHSCORES')
if not lowest[1] then return {0} end
local top = tonumber(redis.call('ZRANGE', window, -1, -1, 'WITHSCORES')[2])
local floor, after = tonumber(lowest[2]) - 1, tonumber(ARGV[1])
if after < floor or after > top or after < top - tonumber(ARGV[5]) then return {0} end
local items = redis.call('ZRANGEBYSCORE', window, '(' .. ARGV[1], '+inf', 'LIMIT', 0, tonumber(ARGV[2]))
local cutoff = tonumber(ARGV[3]) - tonumber(ARGV[4])
local out = {1, top}
for _, item in ipairs(items) do
  if tonumber(string.match(item, '^%d+:(%d+):')) < cutoff then return {0} end
  out[#out + 1] = item
end
return out
`);

/** KEYS window. ARGV size, ttlMs, fresh (1 or 0), then seq, member for each event (ascending, contiguous). */
export const MERGE_WINDOW = script("replay merge window", `
local window = KEYS[1]
local fresh = ARGV[3] == '1'
local first, last = tonumber(ARGV[4]), tonumber(ARGV[#ARGV - 1])
local lowest = redis.call('ZRANGE', window, 0, 0, 'WITHSCORES')
local floor, top, reset = 0, 0, false
if not lowest[1] then
  if not fresh then return 0 end
  reset = true
else
  floor = tonumber(lowest[2]) - 1
  top = tonumber(redis.call('ZRANGE', window, -1, -1, 'WITHSCORES')[2])
  if first - 1 > top then
    if not fresh then return 0 end
    reset = true
  elseif last < floor then return 0 end
end
if reset then redis.call('DEL', window) end
for i = 4, #ARGV, 2 do
  local seq = tonumber(ARGV[i])
  if reset or seq <= floor or seq > top then redis.call('ZADD', window, ARGV[i], ARGV[i + 1]) end
end
redis.call('ZREMRANGEBYRANK', window, 0, -(tonumber(ARGV[1]) + 1))
redis.call('PEXPIRE', window, ARGV[2])
return 1
`);

/** KEYS window. */
export const DROP_WINDOW = script("replay drop window", `
redis.call('DEL', KEYS[1])
return 1
`);
