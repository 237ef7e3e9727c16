-- End a flight: publish its outcome to its followers, then give the lease up if it is still ours.
-- KEYS: [1] the lease "{prefix}:flight:lease:{key}", [2] the outcome "{prefix}:flight:result:{key}:{id}"
-- ARGV: [1] the leader's flight id, [2] the outcome text ("" when abandoning: nothing is published and
--       a follower takes the lead at once), [3] how long the outcome stays readable, in milliseconds
-- Returns: 1 if the lease was still ours (and is released), 0 otherwise (it lapsed; left alone)
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
