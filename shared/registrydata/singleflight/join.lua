-- Join the flight of a key: read the awaited flight's outcome, else lead if nobody does, else wait.
-- KEYS: [1] the lease "{prefix}:flight:lease:{key}" (a string: the leader's flight id, with a PX expiry),
--       [2] the outcome "{prefix}:flight:result:{key}:{awaited id}" of the flight the caller waits on
--       (on the first call: of the caller's own id, which cannot exist yet)
-- ARGV: [1] the caller's flight id, [2] lease in milliseconds (>= 1)
-- Returns: {"done", outcome} | {"lead", caller's id} (the caller holds the lease now) | {"wait", leader's id}
local outcome = redis.call('GET', KEYS[2])
if outcome then
  return {'done', outcome}
end
local holder = redis.call('GET', KEYS[1])
if holder then
  return {'wait', holder}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {'lead', ARGV[1]}
