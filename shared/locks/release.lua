-- Release a domain lock only if the caller still holds it.
-- KEYS: [1] the lock "{prefix}:lock:domain:{domain}"
-- ARGV: [1] owner token
-- Returns: 1 if released, 0 if it was not ours (lapsed, or another owner's: left alone)
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
