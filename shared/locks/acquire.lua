-- Take or renew a domain lock held by an owner token.
-- KEYS: [1] lock key
-- ARGV: [1] owner token, [2] ttl in milliseconds, [3] "acquire" (take if free) or "renew" (only if ours)
-- Returns: 1 if the caller holds the lock afterwards, 0 otherwise
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder or ARGV[3] == 'renew' then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
