-- KEYS: [1] the bucket hash "{prefix}:rl:{key}"
-- ARGV: [1] "now" in milliseconds: TEST ONLY; production passes "" and the server's TIME is used
-- Returns: {exists 0|1, tokens now (string, "" if no bucket), blocked_until_ms (string, "" if none),
--           block reason or "", rate per ms (string or ""), burst (string or "")}
--
-- Read-only: the tokens are refilled in the answer, not in Redis, with the rate and burst the bucket
-- was last written with.
local now
if ARGV[1] ~= nil and ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end

local h = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'r', 'b', 'bu', 'br')
if not h[1] and not h[5] then
  return {0, '', '', '', '', ''}
end
local tokens = ''
local rate = tonumber(h[3])
local burst = tonumber(h[4])
if h[1] and rate and burst then
  local t = tonumber(h[1])
  local ts = tonumber(h[2]) or now
  if now > ts then
    t = t + (now - ts) * rate
  end
  tokens = string.format('%.17g', math.min(burst, t))
end
local bu = ''
local br = ''
if h[5] and tonumber(h[5]) > now then
  bu = h[5]
  br = h[6] or ''
end
return {1, tokens, bu, br, h[3] or '', h[4] or ''}
