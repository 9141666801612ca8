"""The Lua scripts of the Redis backend. Each runs atomically on the Redis server, so one admission is one
round trip (EVALSHA) whatever the number of limits, and replicas sharing the Redis share exact windows.

Layout of one key (a hash): totals in fields r, i, o, t (requests, input, output, total tokens); per-slot
amounts in r<slot>, i<slot>, ...; `lo` the oldest slot still counted, `hi` the newest written. Time is
Redis's own clock (TIME), so replicas with skewed clocks still agree; ARGV[3] > 0 overrides it (tests)."""

from __future__ import annotations

# Shared prelude: window arithmetic and pruning of slots that left the window.
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
local DIMS = {'r', 'i', 'o', 't'}

local function prune(key)
  local bounds = redis.call('HMGET', key, 'lo', 'hi')
  local lo = tonumber(bounds[1])
  if not lo or lo > cutoff then return end
  local hi = tonumber(bounds[2]) or lo
  if hi <= cutoff then
    redis.call('DEL', key)
    return
  end
  for s = lo, cutoff do
    local fields = {'r' .. s, 'i' .. s, 'o' .. s, 't' .. s}
    local values = redis.call('HMGET', key, fields[1], fields[2], fields[3], fields[4])
    for d = 1, 4 do
      local v = tonumber(values[d])
      if v and v ~= 0 then redis.call('HINCRBY', key, DIMS[d], -v) end
    end
    redis.call('HDEL', key, fields[1], fields[2], fields[3], fields[4])
  end
  redis.call('HSET', key, 'lo', cutoff + 1)
end

local function add(key, d, s, amount)
  if amount == 0 then return end
  redis.call('HINCRBY', key, DIMS[d], amount)
  redis.call('HINCRBY', key, DIMS[d] .. s, amount)
end

local function touch(key)
  redis.call('HSETNX', key, 'lo', slot)
  local hi = tonumber(redis.call('HGET', key, 'hi'))
  if not hi or hi < slot then redis.call('HSET', key, 'hi', slot) end
  redis.call('PEXPIRE', key, (W + 2) * SLOT_MS)
end

local function totals(key)
  local v = redis.call('HMGET', key, 'r', 'i', 'o', 't', 'hi')
  return {tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0, tonumber(v[4]) or 0, tonumber(v[5]) or -1}
end
"""

# ARGV: W, SLOT_MS, now override, then per key 4 limits (-1: none) and 4 costs.
# Returns {admitted, slot, now_ms, fail_index (1-based, 0: none), fail_dim (0-based), too_large, retry_ms,
#          then per key: r, i, o, t, hi}.
ADMIT = (
    _PRELUDE
    + """
local n = #KEYS
local state = {}
local fail_k, fail_d, too_large, need_free = 0, 0, 0, 0
for k = 1, n do
  prune(KEYS[k])
  state[k] = totals(KEYS[k])
  if fail_k == 0 then
    local base = 3 + (k - 1) * 8
    for d = 1, 4 do
      local limit = tonumber(ARGV[base + d])
      if limit >= 0 then
        local need = tonumber(ARGV[base + 4 + d])
        if d > 1 and need < 1 then need = 1 end
        if need > limit then
          fail_k, fail_d, too_large = k, d, 1
          break
        elseif state[k][d] + need > limit then
          fail_k, fail_d, need_free = k, d, state[k][d] + need - limit
          break
        end
      end
    end
  end
end

local retry_ms = 0
if fail_k > 0 then
  retry_ms = W * SLOT_MS
  if too_large == 0 then
    local key = KEYS[fail_k]
    local lo = tonumber(redis.call('HGET', key, 'lo')) or slot
    local freed = 0
    for s = lo, slot do
      freed = freed + (tonumber(redis.call('HGET', key, DIMS[fail_d] .. s)) or 0)
      if freed >= need_free then
        retry_ms = math.max(1, (s + W) * SLOT_MS - now_ms)
        break
      end
    end
  end
else
  for k = 1, n do
    local base = 3 + (k - 1) * 8
    for d = 1, 4 do
      local cost = tonumber(ARGV[base + 4 + d])
      add(KEYS[k], d, slot, cost)
      state[k][d] = state[k][d] + cost
    end
    touch(KEYS[k])
    state[k][5] = slot
  end
end

local out = {fail_k == 0 and 1 or 0, slot, now_ms, fail_k, fail_d > 0 and fail_d - 1 or 0, too_large, retry_ms}
for k = 1, n do
  for d = 1, 5 do out[#out + 1] = state[k][d] end
end
return out
"""
)

# ARGV: W, SLOT_MS, now override, reservation slot, input delta, output tokens.
SETTLE = (
    _PRELUDE
    + """
local res_slot = tonumber(ARGV[4])
local input_delta = tonumber(ARGV[5])
local output = tonumber(ARGV[6])
for k = 1, #KEYS do
  local key = KEYS[k]
  prune(key)
  if input_delta ~= 0 and res_slot > cutoff then
    for _, d in ipairs({2, 4}) do
      local current = tonumber(redis.call('HGET', key, DIMS[d] .. res_slot))
      if current then
        local delta = input_delta
        if current + delta < 0 then delta = -current end
        add(key, d, res_slot, delta)
      end
    end
  end
  if output > 0 then
    add(key, 3, slot, output)
    add(key, 4, slot, output)
    touch(key)
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
  prune(KEYS[k])
  local s = totals(KEYS[k])
  for d = 1, 5 do out[#out + 1] = s[d] end
end
return out
"""
)
