-- Restart a leader's lease, only while it is still the leader's.
-- KEYS: [1] the lease "{prefix}:flight:lease:{key}"
-- ARGV: [1] the leader's flight id, [2] lease in milliseconds (>= 1)
-- Returns: 1 if renewed, 0 if the lease lapsed or another caller leads now
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
