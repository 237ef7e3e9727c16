-- Join the flight of a key: the awaited outcome if a flight at least as new as the awaited one ended,
-- else the lead if nobody leads (a new flight number), else the current leader's flight number.
-- KEYS: [1] the lease "{prefix}:flight:lease:{key}" (a string: the leader's flight number, PX expiry),
--       [2] the last outcome "{prefix}:flight:done:{key}" (a hash: seq = its flight number, outcome),
--       [3] the flight counter "{prefix}:flight:seq:{key}" (a number, PX expiry)
-- ARGV: [1] the flight number the caller waits on (0 on its first call: an ended flight is never
--       served to a caller that did not wait for it), [2] lease in ms, [3] the counter's expiry in ms
-- Returns: {"done", outcome} | {"lead", the caller's new flight number} | {"wait", the leader's number}
local awaited = tonumber(ARGV[1]) or 0
if awaited > 0 then
  local done = redis.call('HMGET', KEYS[2], 'seq', 'outcome')
  if done[1] and done[2] and tonumber(done[1]) >= awaited then
    return {'done', done[2]}
  end
end
local holder = redis.call('GET', KEYS[1])
if holder then
  return {'wait', holder}
end
local seq = redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
redis.call('SET', KEYS[1], seq, 'PX', ARGV[2])
return {'lead', tostring(seq)}
