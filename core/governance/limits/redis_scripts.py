"""The Lua scripts of the Redis backend. Each runs atomically on the Redis server, so one admission is one
round trip (EVALSHA) whatever the number of limits, and replicas sharing the Redis share exact windows.

Layout of one key (a hash): `T` the window's totals and `s<slot>` each slot's amounts, both packed as
"requests:input:output:total" (one field instead of four keeps redis.call()s, the scripts' main cost, to
about two per key); `lo` the oldest slot still counted, `hi` the newest written. Time is Redis's own clock
(TIME), so replicas with skewed clocks agree; ARGV[3] > 0 overrides it (tests). Amounts stay below 2^53,
where Lua's numbers are exact."""

from __future__ import annotations

# Shared prelude: window arithmetic, loading a key's state (dropping slots that left the window), saving it.
_PRELUDE = """
local W = tonumber(ARGV[1])
local SLOT_MS = tonumber(ARGV[2])
local now_ms = tonumber(ARGV[3])
if now_ms <= 0 then
  local t = redis.call('TIME')
  now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local slot = math.floor(now_ms / SLOT_MS)
local cutoff = slot - W
local CUR = 's' .. slot

local function parse(v)
  if not v then return {0, 0, 0, 0} end
  local a, b, c, d = string.match(v, '^(-?%d+):(-?%d+):(-?%d+):(-?%d+)$')
  return {tonumber(a), tonumber(b), tonumber(c), tonumber(d)}
end

local function pack(t)
  return string.format('%d:%d:%d:%d', t[1], t[2], t[3], t[4])
end

-- {lo, hi, tot, cur, dirty}: lo/hi -1 for an empty key; cur = the current slot's amounts.
local function load(key)
  local v = redis.call('HMGET', key, 'lo', 'hi', 'T', CUR)
  local lo, hi = tonumber(v[1]), tonumber(v[2])
  local st = {lo = lo or -1, hi = hi or -1, tot = parse(v[3]), cur = parse(v[4]), dirty = false}
  if not lo or lo > cutoff then return st end
  if not hi or hi <= cutoff then
    redis.call('DEL', key)
    return {lo = -1, hi = -1, tot = {0, 0, 0, 0}, cur = {0, 0, 0, 0}, dirty = false}
  end
  local fields = {}
  for s = lo, cutoff do fields[#fields + 1] = 's' .. s end
  local old = redis.call('HMGET', key, unpack(fields))
  for j = 1, #old do
    if old[j] then
      local a = parse(old[j])
      for d = 1, 4 do st.tot[d] = st.tot[d] - a[d] end
    end
  end
  redis.call('HDEL', key, unpack(fields))
  st.lo = cutoff + 1
  st.dirty = true
  return st
end

-- Writes totals (and the current slot when `wrote_current`), moves hi/lo, refreshes expiry once per slot.
local function save(key, st, wrote_current, extra_field, extra_value)
  local args = {'T', pack(st.tot)}
  if wrote_current then
    args[#args + 1] = CUR
    args[#args + 1] = pack(st.cur)
  end
  if extra_field then
    args[#args + 1] = extra_field
    args[#args + 1] = extra_value
  end
  local new_slot = wrote_current and st.hi ~= slot
  if new_slot then
    args[#args + 1] = 'hi'
    args[#args + 1] = slot
    st.hi = slot
    if st.lo < 0 then st.lo = slot end
  end
  if new_slot or st.dirty then
    args[#args + 1] = 'lo'
    args[#args + 1] = st.lo
  end
  redis.call('HSET', key, unpack(args))
  if new_slot then redis.call('PEXPIRE', key, (W + 2) * SLOT_MS) end
end
"""

# ARGV: W, SLOT_MS, now override, then per key 4 limits (-1: none), 4 costs (added) and 4 needs (must have room;
# a cost above the limit is too large).
# Returns {admitted, slot, now_ms, fail_index (1-based, 0: none), fail_dim (0-based), too_large, retry_ms,
#          then per key: r, i, o, t, hi}.
ADMIT = (
    _PRELUDE
    + """
local n = #KEYS
local state = {}
local fail_k, fail_d, too_large, need_free = 0, 0, 0, 0
for k = 1, n do
  state[k] = load(KEYS[k])
  if fail_k == 0 then
    local base = 3 + (k - 1) * 12
    for d = 1, 4 do
      local limit = tonumber(ARGV[base + d])
      if limit >= 0 then
        local cost = tonumber(ARGV[base + 4 + d])
        local need = tonumber(ARGV[base + 8 + d])
        if d > 1 and need < 1 then need = 1 end
        if need > limit or cost > limit then
          fail_k, fail_d, too_large = k, d, 1
          break
        elseif state[k].tot[d] + need > limit then
          fail_k, fail_d, need_free = k, d, state[k].tot[d] + need - limit
          break
        end
      end
    end
  end
end

local retry_ms = 0
if fail_k > 0 then
  for k = 1, n do
    if state[k].dirty then save(KEYS[k], state[k], false) end
  end
  retry_ms = W * SLOT_MS
  local st = state[fail_k]
  if too_large == 0 and st.lo >= 0 then
    local fields = {}
    for s = st.lo, slot do fields[#fields + 1] = 's' .. s end
    local amounts = redis.call('HMGET', KEYS[fail_k], unpack(fields))
    local freed = 0
    for j = 1, #amounts do
      freed = freed + parse(amounts[j])[fail_d]
      if freed >= need_free then
        retry_ms = math.max(1, (st.lo + j - 1 + W) * SLOT_MS - now_ms)
        break
      end
    end
  end
else
  for k = 1, n do
    local base = 3 + (k - 1) * 12
    local st = state[k]
    for d = 1, 4 do
      local cost = tonumber(ARGV[base + 4 + d])
      st.cur[d] = st.cur[d] + cost
      st.tot[d] = st.tot[d] + cost
    end
    save(KEYS[k], st, true)
  end
end

local out = {fail_k == 0 and 1 or 0, slot, now_ms, fail_k, fail_d > 0 and fail_d - 1 or 0, too_large, retry_ms}
for k = 1, n do
  local st = state[k]
  out[#out + 1] = st.tot[1]
  out[#out + 1] = st.tot[2]
  out[#out + 1] = st.tot[3]
  out[#out + 1] = st.tot[4]
  out[#out + 1] = st.hi
end
return out
"""
)

# ARGV: W, SLOT_MS, now override, reservation slot, input delta, output tokens, reserved output tokens.
SETTLE = (
    _PRELUDE
    + """
local res_slot = tonumber(ARGV[4])
local input_delta = tonumber(ARGV[5])
local output = tonumber(ARGV[6])
local reserved = tonumber(ARGV[7] or '0')
-- per dimension (input, output, total): the correction of the reservation's slot
local corrections = {[2] = input_delta, [3] = -reserved, [4] = input_delta - reserved}
for k = 1, #KEYS do
  local key = KEYS[k]
  local st = load(key)
  local extra_field, extra_value = nil, nil
  local wrote_current = false
  if (input_delta ~= 0 or reserved ~= 0) and res_slot > cutoff and st.lo >= 0 and res_slot <= slot then
    local amounts
    if res_slot == slot then
      amounts = st.cur
    else
      local v = redis.call('HGET', key, 's' .. res_slot)
      amounts = v and parse(v) or nil
    end
    if amounts then
      for d = 2, 4 do
        local delta = corrections[d]
        if amounts[d] + delta < 0 then delta = -amounts[d] end
        amounts[d] = amounts[d] + delta
        st.tot[d] = st.tot[d] + delta
      end
      if res_slot == slot then
        wrote_current = true
      else
        extra_field, extra_value = 's' .. res_slot, pack(amounts)
      end
    end
  end
  if output > 0 then
    st.cur[3] = st.cur[3] + output
    st.cur[4] = st.cur[4] + output
    st.tot[3] = st.tot[3] + output
    st.tot[4] = st.tot[4] + output
    wrote_current = true
  end
  if wrote_current or extra_field or st.dirty then
    save(key, st, wrote_current, extra_field, extra_value)
  end
end
return 1
"""
)

# ARGV: W, SLOT_MS, now override. Returns {now_ms, then per key: r, i, o, t, hi}.
USAGE = (
    _PRELUDE
    + """
local out = {now_ms}
for k = 1, #KEYS do
  local st = load(KEYS[k])
  if st.dirty then save(KEYS[k], st, false) end
  out[#out + 1] = st.tot[1]
  out[#out + 1] = st.tot[2]
  out[#out + 1] = st.tot[3]
  out[#out + 1] = st.tot[4]
  out[#out + 1] = st.hi
end
return out
"""
)
