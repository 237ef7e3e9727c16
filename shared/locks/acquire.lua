-- Take or renew a domain lock held by an owner token.
-- KEYS: [1] the lock "{prefix}:lock:domain:{domain}" (a string: the holder's owner token, with a PX expiry)
-- ARGV: [1] owner token, [2] lease in milliseconds (>= 1),
--       [3] "acquire" (take it if free; ours already: restart the lease) or "renew" (only if ours)
-- Returns: 1 if the caller holds the lock afterwards (for a fresh lease of ARGV[2] ms), 0 otherwise
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder or ARGV[3] ~= 'acquire' then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
