-- End a flight: publish its outcome (unless a newer flight's is there), then drop the lease if ours.
-- KEYS: [1] the lease "{prefix}:flight:lease:{key}", [2] the last outcome "{prefix}:flight:done:{key}"
--       (a hash: seq, outcome), [3] the flight counter "{prefix}:flight:seq:{key}"
-- ARGV: [1] the leader's flight number, [2] the outcome text ("" when abandoning: nothing is published
--       and a follower takes the lead at once), [3] how long the outcome stays readable in ms,
--       [4] the counter's expiry in ms (longer than [3], so numbers never restart under a live outcome)
-- Returns: 1 if the lease was still ours (and is dropped), 0 otherwise (it lapsed; left alone)
local seq = tonumber(ARGV[1])
if ARGV[2] ~= '' then
  local last = redis.call('HGET', KEYS[2], 'seq')
  if not last or tonumber(last) < seq then
    redis.call('HSET', KEYS[2], 'seq', ARGV[1], 'outcome', ARGV[2])
    redis.call('PEXPIRE', KEYS[2], ARGV[3])
  end
  if tonumber(redis.call('GET', KEYS[3]) or '0') < seq then
    redis.call('SET', KEYS[3], ARGV[1])
  end
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
