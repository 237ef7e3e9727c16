-- Restart a leader's lease, only while it is still the leader's; the flight counter lives on with it.
-- KEYS: [1] the lease "{prefix}:flight:lease:{key}", [2] the flight counter "{prefix}:flight:seq:{key}"
-- ARGV: [1] the leader's flight number, [2] lease in milliseconds (>= 1), [3] the counter's expiry in ms
-- Returns: 1 if renewed, 0 if the lease lapsed or another caller leads now
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return 1
end
return 0
