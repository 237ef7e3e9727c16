-- KEYS: [1] the bucket hash "{prefix}:rl:{key}", [2] optional: the counters hash "{prefix}:rlstats"
-- ARGV: [1] block length in milliseconds, [2] reason,
--       [3] "now" in milliseconds: TEST ONLY; production passes "" and the server's TIME is used,
--       [4] the limiter key (with KEYS[2]: field "blocks:{key}" counts windows opened or extended)
-- Returns: {blocked_until_ms (string), reason in force}
--
-- Keeps the later of the existing and the new end: a block window is never shortened. The key lives at
-- least until the window ends, whatever the bucket's own expiry.
if redis.replicate_commands then
  pcall(redis.replicate_commands)
end

local function fmt(x)
  return string.format('%.17g', x)
end

local now
if ARGV[3] ~= nil and ARGV[3] ~= '' then
  now = tonumber(ARGV[3])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end

local ends = now + tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'bu')) or 0
if ends <= current then
  return {fmt(current), redis.call('HGET', KEYS[1], 'br') or ''}
end
redis.call('HSET', KEYS[1], 'bu', fmt(ends), 'br', ARGV[2])
if KEYS[2] then
  redis.call('HINCRBY', KEYS[2], 'blocks:' .. ARGV[4], 1)
end
local need = math.ceil(ends - now)
local ttl = redis.call('PTTL', KEYS[1])
if ttl < need then
  redis.call('PEXPIRE', KEYS[1], need)
end
return {fmt(ends), ARGV[2]}
