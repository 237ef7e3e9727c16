-- KEYS: [1] the bucket hash "{prefix}:rl:{key}" (fields: tokens, ts, r, b, and bu/br while blocked),
--       [2] optional: the counters hash "{prefix}:rlstats" (fields "granted:{key}", "denied:{key}"),
--       [3] optional (with [2]): a guard, another bucket hash whose active block window refuses this
--       acquire too (the API's token bucket guarded by its caller's failed-authentication block)
-- ARGV: [1] refill rate in tokens per millisecond, [2] burst = capacity, [3] cost (tokens to take),
--       [4] "now" in milliseconds: TEST ONLY; production passes "" and the server's TIME is used,
--       [5] the limiter key (the counters' field suffix; with KEYS[2])
-- Returns: {allowed 0|1, wait_ms, blocked 0|1|2, block reason or "", tokens left (string)}
--          (blocked 2: the guard's window; nothing was read, taken or counted: tokens "0")
--
-- One round trip does everything, in this order: (0) the guard's active block window refuses,
-- (a) the bucket's own active block window wins, (b) the bucket is refilled by the time elapsed since
-- it was last written, (c) `cost` tokens are taken if they exist.
-- A bucket nobody has written is full. The key expires when it would be full again, so idle buckets
-- cost nothing; a block window keeps the key alive until it ends.
if redis.replicate_commands then
  pcall(redis.replicate_commands) -- Redis < 5 needs it before writing after TIME; a no-op since then
end

local function fmt(x)
  return string.format('%.17g', x)
end

-- fleet-wide counters for the exporter: tokens granted, requests denied (never expire; one field each)
local function count(what, n)
  if KEYS[2] then
    redis.call('HINCRBY', KEYS[2], what .. ':' .. ARGV[5], n)
  end
end

local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now
if ARGV[4] ~= nil and ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end

if KEYS[3] then
  local guard = redis.call('HMGET', KEYS[3], 'bu', 'br')
  local until_ms = tonumber(guard[1]) or 0
  if until_ms > now then
    return {0, math.ceil(until_ms - now), 2, guard[2] or '', '0'}
  end
end

local h = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'bu', 'br')
local tokens = tonumber(h[1])
local ts = tonumber(h[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = tokens + (now - ts) * rate
end
if tokens > burst then
  tokens = burst
end

-- the exact time until `cost` tokens exist (0 when they do)
local short = 0
if tokens + 1e-9 < cost then
  short = math.ceil((cost - tokens) / rate)
end

local bu = tonumber(h[3]) or 0
if bu > now then
  count('denied', 1)
  return {0, math.max(math.ceil(bu - now), short), 1, h[4] or '', fmt(tokens)}
end

if short == 0 then
  tokens = math.max(0, tokens - cost)
  redis.call('HSET', KEYS[1], 'tokens', fmt(tokens), 'ts', fmt(math.max(now, ts)), 'r', ARGV[1], 'b', ARGV[2])
  if h[3] then
    redis.call('HDEL', KEYS[1], 'bu', 'br')
  end
  redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((burst - tokens) / rate)))
  count('granted', cost)
  return {1, 0, 0, '', fmt(tokens)}
end
count('denied', 1)
return {0, short, 0, '', fmt(tokens)}
