/**
 * The Lua scripts that hold every session rule on the Redis server, each run atomically in one
 * round trip through a `ScriptRunner`. Key layout: keys.ts.
 *
 * Why these shapes:
 * - A session is ONE string (record-codec.ts): the metadata in a head of space-separated
 *   numbers, then the application data as one opaque JSON string that Lua never decodes (cjson
 *   would turn `[]` into `{}` and round numbers), then the user id. So the store's steady-state
 *   read is a plain `GET` (store.ts), and only a read whose touch may be due runs READ.
 * - Numbers cross as decimal strings and are stored as sent; a value Lua computes (a touch's
 *   expiry) is written with `%.17g`, which JavaScript's `Number()` reads back to the same double.
 *   Scripts return strings, never Lua numbers: Redis truncates those to integers.
 * - Time is the caller's `now` (an argument), not the server's TIME: the core computed the
 *   record's times with its clock, and expiry must be judged by the clock that set it (tests
 *   also run the core on a manual clock). `PEXPIREAT` is the server's backstop: it drops a key
 *   at its expiry even if nothing reads it again.
 * - The user index scores a handle with the session's *absolute* expiry, not its idle one. A
 *   touch never moves the absolute expiry, so a read touches one key, and an entry is in the
 *   index for at least as long as its session can live. Entries of sessions that idled out
 *   would stay until their absolute expiry: a write that creates a session drops those whose
 *   session key is gone (up to PRUNE of them), and listUser drops the ones it finds.
 * - Writes are idempotent: a client may send a write again when its reply was lost (ioredis
 *   resends unanswered commands after a reconnect, @upstash/redis retries a failed fetch), and
 *   the second run must not report the first run's own change as a conflict (the core would
 *   then replay the session's operations a second time, or give up on a sign-in). Each write
 *   call carries a random nonce; the record keeps the nonce of the write that made it, and a
 *   retirement leaves a short-lived tombstone holding it (see WRITE).
 *
 * @module
 */
import type { RedisScript } from "./script-runner.ts";

/** Shared helpers, prepended to every session script. */
const PRELUDE = `
local function number(s)
  return s and tonumber(s)
end

-- The session string as {version, userId, createdAt, lastSeenAt, expiresAt, absoluteExpiresAt,
-- idleTimeout, data, nonce, issuedAt, the whole string, successor (false for a live session)}
-- and 'ok'; or nil and 'missing'; or nil and 'malformed' for anything this adapter did not
-- write (another type, another shape, a field that is not a number).
local function load(key)
  local v = redis.pcall('GET', key)
  if type(v) == 'table' then return nil, 'malformed' end
  if not v then return nil, 'missing' end
  local version, created, last, expires, absolute, idle, issued, nonce, extras, data, user =
    string.match(v, '^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S*)([^\\n]*)\\n([^\\n]*)\\n(.*)$')
  if not (number(version) and number(created) and number(last) and number(expires) and number(absolute) and number(idle) and number(issued)) then
    return nil, 'malformed'
  end
  -- Store rule 10: a retired marker's head ends in " s=<successor>" (record-codec.ts).
  local successor = string.match(extras, '^ s=(%S+)') or false
  return {version, user, created, last, expires, absolute, idle, data, nonce, issued, v, successor}, 'ok'
end

local function live(f, now)
  return tonumber(f[5]) > now and tonumber(f[6]) > now
end

-- A record as one reply string: "<lead> <the session string>" (record-codec.ts).
local function reply(lead, f)
  return lead .. ' ' .. f[11]
end

-- Epoch ms as PEXPIREAT takes it: a whole number, rounded up so a key never goes early.
local function at(ms)
  return string.format('%.0f', math.ceil(ms))
end
`;

function script(name: string, body: string, prelude = PRELUDE): RedisScript {
  return { name, lua: `${prelude}\n${body.trim()}\n` };
}

/**
 * How long a write that deleted its record (a retirement) leaves the tombstone that answers the
 * same write sent again: longer than any client resends (ioredis within its command timeout,
 * @upstash/redis's five retries back off over about 4 s by default, a custom `retry` may wait longer).
 */
export const TOMBSTONE_MS = 60_000;

/** Index entries a write that creates a session checks for a session key that is gone. */
export const PRUNE = 64;

/**
 * Read, and touch when due (store rules 1 and 4).
 * KEYS: session. ARGV: now, touch interval ('' = never touch).
 * Returns nil (missing, malformed or expired) or "<1 (touched) or 0> <the session string>".
 *
 * The store runs it only when a touch may be due (store.ts); every other read is a plain GET.
 * Written out without the prelude's helpers: on Redis 7.0 their calls and checks cost about
 * twice the server time of inline code (INFO commandstats). It checks only what it compares;
 * the client's shape check rejects any other field that is not a number.
 */
export const READ = script("read", `
local v = redis.pcall('GET', KEYS[1])
if type(v) ~= 'string' then return nil end
local version, created, last, expires, absolute, idle, rest = string.match(v, '^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (.*)$')
if not rest then return nil end
local now, expiry, limit = tonumber(ARGV[1]), tonumber(expires), tonumber(absolute)
if not (expiry and limit and expiry > now and limit > now) then return nil end
local touched = '0'
if ARGV[2] ~= '' then
  local v1, lastSeen, idleMs = tonumber(version), tonumber(last), tonumber(idle)
  if not (v1 and lastSeen and idleMs and tonumber(created)) then return nil end
  -- Due after the interval, or after half the session's own idle timeout if that is shorter;
  -- and only for a record the client accepts (what the Postgres adapter's WELL_FORMED checks: a
  -- positive whole version, a positive idle timeout, data that is one JSON object on one line).
  -- A read must neither change nor delete what it cannot read: an idle timeout <= 0 would set
  -- the expiry in the past and Redis would drop the key.
  -- A head that goes on past the nonce with anything but a device binding (" d=...") is a
  -- retired marker, which is never touched (store rule 10a).
  if now - lastSeen >= math.min(tonumber(ARGV[2]), idleMs / 2) and v1 > 0 and v1 % 1 == 0 and idleMs > 0
    and (string.find(rest, '^%S+ %S*\\n{[^\\n]*}\\n') or string.find(rest, '^%S+ %S* d=%S+\\n{[^\\n]*}\\n')) then
    expiry = math.min(now + idleMs, limit)
    v = version .. ' ' .. created .. ' ' .. ARGV[1] .. ' ' .. string.format('%.17g', expiry) .. ' ' .. absolute .. ' ' .. idle .. ' ' .. rest
    redis.call('SET', KEYS[1], v)
    redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', math.ceil(expiry)))
    touched = '1'
  end
end
return touched .. ' ' .. v
`, "");

/**
 * Compare-and-set write, with the user index kept in step (store rules 2, 3 and 6).
 * KEYS: session, slot stem. ARGV: expected version, now, handle, the record's version, userId
 * ('' = none), createdAt, lastSeenAt, expiresAt, absoluteExpiresAt, idleTimeout and data, then
 * the key's expiry (whole epoch ms), the index score, the write's nonce (random hex, new for
 * every write call, the same when a client sends the call again) and the head's extras ('', or
 * " s=<successor>" and/or " d=<device>", record-codec.ts).
 * Returns 0 (the stored version is not the expected one), 1 (stored, or retired) or 2
 * (accepted and at once revoked: the session was issued before the user's revocation mark,
 * see REVOKE).
 *
 * The stored version counts as 0 when the record is absent or expired, and as -1 (matches
 * nothing) when it is malformed, as in the memory store. A record whose expiresAt has come
 * retires the session: it is deleted (rule 2). A session's `issuedAt` is the lastSeenAt of the
 * write that created it (the writer's clock then): unlike createdAt, which a regenerated session
 * carries over from the one it replaces, it says when this session id was handed out.
 *
 * A write sent twice (its reply was lost) is done once and answered 1 both times: the record
 * keeps its writer's nonce, so a second run that finds the record at the new version with its
 * own nonce has nothing to do; a write that deleted the record (a retirement, or a session
 * revoked on arrival) leaves the nonce in a tombstone key `t:<handle>` for TOMBSTONE_MS, which
 * only this check reads (reads, lists and creates ignore it). What this cannot tell: a second
 * run that arrives after another writer has already replaced the record reports 0, as before.
 */
export const WRITE = script("write", `
local key, stem, handle, nonce = KEYS[1], KEYS[2], ARGV[3], ARGV[14]
local now = tonumber(ARGV[2])
local tombstone = stem .. 't:' .. handle
local f, state = load(key)
-- This very write, sent again: it is done already.
if state == 'ok' and nonce ~= '' and f[9] == nonce and tonumber(f[1]) == tonumber(ARGV[4]) then return 1 end
local current = 0
if state == 'malformed' then current = -1 elseif state == 'ok' and live(f, now) then current = tonumber(f[1]) end
if current ~= tonumber(ARGV[1]) then
  -- This write deleted the record the first time it ran (pcall: a key of another type is not ours).
  if nonce ~= '' and redis.pcall('GET', tombstone) == nonce then return 1 end
  return 0
end

local user = ARGV[5]
local index = stem .. 'u:' .. user
-- The handle's tag is the old user's tag too (rule 8), so the old index is in this slot.
if state == 'ok' and f[2] ~= '' and f[2] ~= user then redis.call('ZREM', stem .. 'u:' .. f[2], handle) end

if tonumber(ARGV[8]) <= now then
  redis.call('DEL', key)
  if user ~= '' then redis.call('ZREM', index, handle) end
  redis.call('SET', tombstone, nonce, 'PX', ${TOMBSTONE_MS})
  return 1
end

local issued = ARGV[7]
if current > 0 then issued = f[10] end
if user ~= '' then
  local mark = redis.call('HMGET', stem .. 'r:' .. user, 'at', 'except')
  local revokedAt = tonumber(mark[1])
  if revokedAt and mark[2] ~= handle then
    -- Strictly before: a session issued in the mark's own millisecond is taken as after it,
    -- so revoking others and then regenerating one's own session in one request keeps it.
    if (tonumber(issued) or 0) < revokedAt then
      redis.call('DEL', key)
      redis.call('ZREM', index, handle)
      redis.call('SET', tombstone, nonce, 'PX', ${TOMBSTONE_MS})
      return 2
    end
  end
end

redis.call('SET', key, ARGV[4] .. ' ' .. ARGV[6] .. ' ' .. ARGV[7] .. ' ' .. ARGV[8] .. ' ' .. ARGV[9] .. ' ' .. ARGV[10]
  .. ' ' .. issued .. ' ' .. nonce .. ARGV[15] .. '\\n' .. ARGV[11] .. '\\n' .. user)
redis.call('PEXPIREAT', key, ARGV[12])

if user ~= '' then
  redis.call('ZREMRANGEBYSCORE', index, '-inf', ARGV[2])
  if current == 0 then
    -- A new session (a sign-in): drop entries whose session key is gone (idled out before its
    -- absolute expiry), so a user's logins do not pile up in the index for a week. At most
    -- ${PRUNE} keys are looked at, from an offset the nonce picks when the index holds more.
    local size = redis.call('ZCARD', index)
    local from = 0
    if size > ${PRUNE} then from = (tonumber(string.sub(nonce, 1, 6), 16) or 0) % (size - ${PRUNE} + 1) end
    for _, member in ipairs(redis.call('ZRANGE', index, from, from + ${PRUNE - 1})) do
      if redis.call('EXISTS', stem .. 's:' .. member) == 0 then redis.call('ZREM', index, member) end
    end
  end
  redis.call('ZADD', index, ARGV[13], handle)
  -- The index lives as long as its longest-lived entry.
  local top = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', index, at(tonumber(top[2])))
end
return 1
`);

/**
 * Delete one session and its index entry (store rule 5).
 * KEYS: session, slot stem. ARGV: handle. Returns 1 when a session was there, else 0.
 */
export const DELETE = script("delete", `
local f, state = load(KEYS[1])
if state == 'ok' and f[2] ~= '' then redis.call('ZREM', KEYS[2] .. 'u:' .. f[2], ARGV[1]) end
return redis.call('DEL', KEYS[1])
`);

/**
 * A user's live sessions, retired markers left out; prunes index entries whose session is gone.
 * KEYS: user index, slot stem. ARGV: now. Returns the records as strings, each led by its handle.
 */
export const LIST_USER = script("list-user", `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local out = {}
for _, handle in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local f, state = load(KEYS[2] .. 's:' .. handle)
  -- Retired markers stay indexed (revokeUser ends them) but are not sessions (store rule 10b).
  if state == 'ok' and live(f, now) and not f[12] then
    out[#out + 1] = reply(handle, f)
  elseif state == 'missing' then
    redis.call('ZREM', KEYS[1], handle)
  end
end
return out
`);

/**
 * Revokes a user's sessions but one, and leaves a mark so that sessions issued before the
 * revocation whose write reaches Redis after it are refused on arrival (WRITE returns 2).
 * KEYS: user index, revocation mark, slot stem. ARGV: mark time (caller's now), except handle
 * ('' = none), mark expiry (whole epoch ms), mode: 'all' deletes every indexed session,
 * 'issued-before' only those issued before the mark time.
 * Returns how many live sessions it deleted; the user's retired markers go too, uncounted
 * (store rule 10c).
 *
 * The mark keeps the latest time any revocation gave and the latest revocation's exception.
 */
export const REVOKE = script("revoke-user", `
local now = tonumber(ARGV[1])
local count = 0
for _, handle in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if handle ~= ARGV[2] then
    local key = KEYS[3] .. 's:' .. handle
    local f, state = load(key)
    local doomed = ARGV[4] == 'all' or state ~= 'ok'
    if not doomed then doomed = (tonumber(f[10]) or 0) < now end
    if doomed then
      if state == 'ok' and live(f, now) and not f[12] then count = count + 1 end
      redis.call('DEL', key)
      redis.call('ZREM', KEYS[1], handle)
    end
  end
end
local previous = tonumber(redis.call('HGET', KEYS[2], 'at'))
if not previous or now > previous then redis.call('HSET', KEYS[2], 'at', ARGV[1]) end
redis.call('HSET', KEYS[2], 'except', ARGV[2])
redis.call('PEXPIREAT', KEYS[2], ARGV[3])
return count
`);

/**
 * Fixed-window counter: adds `amount` in the window that started with the first increment;
 * amount 0 reads it without creating it.
 * KEYS: counter. ARGV: now, window ms, amount (a whole number). Returns {count, resetAt}.
 */
export const INCREMENT = script("increment", `
local now, amount = tonumber(ARGV[1]), tonumber(ARGV[3])
local f = redis.pcall('HMGET', KEYS[1], 'count', 'resetAt')
if type(f) == 'table' and not f.err and f[1] and string.match(f[1], '^%-?%d+$') and tonumber(f[2]) and tonumber(f[2]) > now then
  if amount == 0 then return {f[1], f[2]} end
  return {redis.call('HINCRBY', KEYS[1], 'count', ARGV[3]), f[2]}
end
local resetAt = now + tonumber(ARGV[2])
local shown = string.format('%.17g', resetAt)
if amount == 0 then return {'0', shown} end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'count', ARGV[3], 'resetAt', shown)
redis.call('PEXPIREAT', KEYS[1], at(resetAt))
return {ARGV[3], shown}
`);

/**
 * One page of a scan (store rule 9), for runners without a SCAN of their own (Upstash: one HTTP
 * request per page instead of one per session). No keys are declared: it reads the keys SCAN
 * finds, which a single-node server (Upstash, standalone Redis) allows; a Cluster client scans
 * node by node instead (adapters/ioredis/runner.ts).
 * KEYS: none. ARGV: cursor, MATCH pattern, COUNT. Returns {next cursor, key, value, key, value...}
 * for the keys that still held a string.
 */
export const SCAN_PAGE = script("scan", `
local reply = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
local out = {reply[1]}
for _, key in ipairs(reply[2]) do
  local v = redis.pcall('GET', key)
  if type(v) == 'string' then
    out[#out + 1] = key
    out[#out + 1] = v
  end
end
return out
`, "");

export const SCRIPTS = [READ, WRITE, DELETE, LIST_USER, REVOKE, INCREMENT, SCAN_PAGE] as const;
