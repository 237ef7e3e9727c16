-- KEYS: [1] the breaker hash "{prefix}:br:{provider}" (fields: st, f = consecutive failures,
--       ou = opened_until ms, pd = comma-separated deadlines (ms) of the probe slots handed out in
--       half-open, w = the sliding window of the last calls' outcomes, oldest first: "0" ok, "1" failed)
-- ARGV: [1] op: before | success | failure | release | state | reset  (release: a probe that never
--       reached the upstream gives its half-open slot back, deciding nothing)
--       [2] probe: 1 when reporting the outcome of a half-open probe, else 0
--       [3] failures that open the breaker, [4] reset window ms, [5] probes in half-open,
--       [6] probe timeout ms, [7] longest retry_after handed to callers refused in half-open (ms)
--       [8] "now" in milliseconds: TEST ONLY; production passes "" and the server's TIME is used
--       [9] restore state when the hash is missing: "" (report it), "open" or "closed"
--       [10] restore opened_until ms, [11] restore failures
--       [12] sliding window size in calls (0: no failure-rate trigger), [13] minimum calls in the
--       window before its failure rate counts, [14] failure rate (percent) that opens the breaker
-- Returns: {"ok"|"missing", state, failures, opened_until ms ("" when closed), probes in flight,
--           transitioned 0|1 (THIS call changed the state), from_state, allowed 0|1, probe 0|1,
--           retry_after ms, now ms (string), calls in the window, failed calls in the window}
--
-- Two triggers open a closed breaker (the resilience4j model, count-based): `failures` consecutive
-- failed calls, or, once the window holds at least `min calls`, a failure rate of at least the
-- threshold over its last `window` calls. Opening and closing empty the window.
--
-- Every transition happens here, atomically, so N processes racing through half-open get exactly
-- `probes` permits between them and exactly one of them is told it made each transition.
if redis.replicate_commands then
  pcall(redis.replicate_commands) -- Redis < 5 needs it before writing after TIME; a no-op since then
end

local key = KEYS[1]
local op = ARGV[1]
local probe_report = ARGV[2] == '1'
local threshold = tonumber(ARGV[3])
local reset_ms = tonumber(ARGV[4])
local probes = tonumber(ARGV[5])
local probe_timeout = tonumber(ARGV[6])
local half_open_retry = tonumber(ARGV[7])
local window = tonumber(ARGV[12]) or 0
local min_calls = tonumber(ARGV[13]) or 0
local rate_pct = tonumber(ARGV[14]) or 100
local now
if ARGV[8] ~= nil and ARGV[8] ~= '' then
  now = tonumber(ARGV[8])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function fmt(x)
  return string.format('%.17g', x)
end

local h = redis.call('HMGET', key, 'st', 'f', 'ou', 'pd', 'w')
local st, f, ou, pd
local w = h[5] or ''
local dirty = false
if not h[1] then
  local restore = ARGV[9]
  if restore == nil or restore == '' then
    return {'missing', '', 0, '', 0, 0, '', 0, 0, 0, fmt(now), 0, 0}
  end
  st, f, ou = 'closed', 0, nil
  local rou = tonumber(ARGV[10])
  if restore == 'open' and rou and rou > now then
    st, f, ou = 'open', tonumber(ARGV[11]) or 0, rou
  end
  dirty = true
else
  st = h[1]
  f = tonumber(h[2]) or 0
  ou = tonumber(h[3])
end

-- live probe slots (expired ones are freed)
pd = {}
if h[4] and h[4] ~= '' then
  for d in string.gmatch(h[4], '[^,]+') do
    local deadline = tonumber(d)
    if deadline and deadline > now then
      table.insert(pd, deadline)
    else
      dirty = true
    end
  end
end

local from = st
local transitioned = 0
-- the window that tripped the failure-rate trigger (its size and failures), for the journal's reason
local rate_calls, rate_failed = 0, 0
local allowed, probe, retry = 0, 0, 0

local function failed_in(win)
  local _, n = string.gsub(win, '1', '')
  return n
end

-- the window after one more call (oldest dropped past `window` calls); unchanged when it is off
local function push(outcome)
  if window <= 0 then
    return
  end
  w = w .. outcome
  if #w > window then
    w = string.sub(w, #w - window + 1)
  end
  dirty = true
end

local function open_window()
  st, ou, pd, w = 'open', now + reset_ms, {}, ''
  transitioned, dirty = 1, true
end

if op == 'before' then
  if st == 'closed' then
    allowed = 1
  else
    if st == 'open' then
      if ou and now < ou then
        retry = ou - now
      else
        st, pd, transitioned, dirty = 'half_open', {}, 1, true
      end
    end
    if st == 'half_open' then
      if #pd < probes then
        table.insert(pd, now + probe_timeout)
        allowed, probe, dirty = 1, 1, true
      else
        local earliest = math.min(unpack(pd))
        retry = math.max(1, math.min(half_open_retry, earliest - now))
      end
    end
  end
elseif op == 'success' then
  if st == 'closed' then
    if f ~= 0 then
      f, dirty = 0, true
    end
    push('0')
  elseif st == 'half_open' and probe_report then
    st, f, ou, pd, w = 'closed', 0, nil, {}, ''
    transitioned, dirty = 1, true
  end
elseif op == 'failure' then
  if st == 'closed' then
    f, dirty = f + 1, true
    push('1')
    if f >= threshold then
      open_window()
    elseif window > 0 and #w >= min_calls and failed_in(w) * 100 >= rate_pct * #w then
      rate_calls, rate_failed = #w, failed_in(w)
      open_window()
    end
  elseif st == 'half_open' and probe_report then
    f = f + 1
    open_window()
  end
elseif op == 'release' then
  if st == 'half_open' and probe_report and #pd > 0 then
    table.sort(pd)
    table.remove(pd, 1)
    dirty = true
  end
elseif op == 'reset' then
  st, f, ou, pd, w = 'closed', 0, nil, {}, ''
  transitioned, dirty = 1, true
end

if dirty and op ~= 'state' then
  local pds = {}
  for i, d in ipairs(pd) do
    pds[i] = fmt(d)
  end
  redis.call('HSET', key, 'st', st, 'f', f, 'ou', ou and fmt(ou) or '', 'pd', table.concat(pds, ','), 'w', w)
end

local calls, failed = #w, failed_in(w)
if rate_calls > 0 then
  calls, failed = rate_calls, rate_failed
end
return {'ok', st, f, ou and fmt(ou) or '', #pd, transitioned, from, allowed, probe, math.ceil(retry), fmt(now),
        calls, failed}
