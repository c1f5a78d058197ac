"""The Lua scripts of the Redis Counters, one per operation that needs more than one command.

Scripts that need the time read the server's TIME, so every node shares one clock.
"""

from __future__ import annotations

NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# ARGV: amount, ttl_ms. The ttl applies only when the key is created here.
INCR_NEW_TTL = """
local created = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if created then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
"""

# ARGV: amount, floor. Returns the new value, or nil when it would go below floor.
DECR_FLOOR = """
local value = tonumber(redis.call('GET', KEYS[1]) or '0')
if value - tonumber(ARGV[1]) < tonumber(ARGV[2]) then return false end
return redis.call('DECRBY', KEYS[1], ARGV[1])
"""

# ARGV: member, ttl_ms. The ttl applies only when the set is created here.
SADD_NEW_TTL = """
local created = redis.call('EXISTS', KEYS[1]) == 0
local added = redis.call('SADD', KEYS[1], ARGV[1])
if created then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return added
"""

# ARGV: rate per second, burst, cost. Hash fields: tokens, updated (server seconds).
BUCKET_TAKE = """
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = burst
if state[1] then
  tokens = math.min(burst, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate)
end
local allowed, retry_after = 0, 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry_after = (cost - tokens) / rate
end
local refill_ms = math.ceil((burst - tokens) / rate * 1000)
if refill_ms <= 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
             'updated', string.format('%.17g', now))
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', refill_ms))
end
return {allowed, math.floor(tokens), string.format('%.17g', retry_after)}
"""

# ARGV: member, ttl_ms, grace_ms. Score = expiry in server milliseconds.
TOUCH_PRESENCE = (
    NOW_MS
    + """
local expires_at = now + tonumber(ARGV[2])
local added = redis.call('ZADD', KEYS[1], string.format('%.0f', expires_at), ARGV[1])
local key_ttl = tonumber(ARGV[2]) + tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < key_ttl then
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', key_ttl))
end
return added
"""
)

COUNT_PRESENCE = (
    NOW_MS
    + """
return redis.call('ZCOUNT', KEYS[1], '(' .. string.format('%.0f', now), '+inf')
"""
)

# ARGV: member. Present iff its expiry (the score) is still ahead of the server's clock.
IS_PRESENT = (
    NOW_MS
    + """
local expires = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not expires then return 0 end
return tonumber(expires) > now and 1 or 0
"""
)

SWEEP_PRESENCE = (
    NOW_MS
    + """
local upto = string.format('%.0f', now)
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', upto)
if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', upto) end
return gone
"""
)


# ARGV: ttl_ms (0 = none), field, amount, field, amount, ... The ttl applies only when the hash is created.
HINCR_MANY = """
local created = redis.call('EXISTS', KEYS[1]) == 0
local out = {}
for i = 2, #ARGV, 2 do out[#out + 1] = redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
if created and tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return out
"""

# ARGV: ttl_ms (0 = none), field, value, ... Each field becomes max(field, value); absent takes value.
HMAX_MANY = """
local created = redis.call('EXISTS', KEYS[1]) == 0
for i = 2, #ARGV, 2 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  if not old or tonumber(ARGV[i + 1]) > tonumber(old) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
if created and tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
"""

# KEYS: distinct keys. ARGV: ttl_ms (0 = none), then per key: member count, members...
# Every key is checked first (PFCOUNT fails on a wrong kind), so a wrong kind changes nothing; the ttl
# applies to keys created here.
PFADD_MANY = """
for k = 1, #KEYS do
  if redis.call('EXISTS', KEYS[k]) == 1 then
    local checked = redis.pcall('PFCOUNT', KEYS[k])
    if type(checked) == 'table' and checked.err then return checked end
  end
end
local i = 2
for k = 1, #KEYS do
  local n = tonumber(ARGV[i])
  local created = redis.call('EXISTS', KEYS[k]) == 0
  local j = i + 1
  while j <= i + n do
    local upto = math.min(j + 999, i + n)
    redis.call('PFADD', KEYS[k], unpack(ARGV, j, upto))
    j = upto + 1
  end
  if created and tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[k], ARGV[1]) end
  i = i + n + 1
end
return 1
"""

# KEYS: stock, [taken hash]. ARGV: member, quantity, limit (-1 = none).
# Returns {status, stock, taken}; status 0 allowed, 1 sold out, 2 over limit, 3 unloaded.
_RESERVE_CHECK = """
local stock = redis.call('GET', KEYS[1])
if not stock then return {3, 0, 0} end
stock = tonumber(stock)
local quantity, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local taken = 0
if KEYS[2] then taken = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') end
if limit >= 0 and taken + quantity > limit then return {2, stock, taken} end
if stock < quantity then return {1, stock, taken} end
"""

# What RESERVE would answer, writing nothing.
PEEK_RESERVE = _RESERVE_CHECK + "return {0, stock, taken}\n"

RESERVE = (
    _RESERVE_CHECK
    + """stock = redis.call('DECRBY', KEYS[1], quantity)
if KEYS[2] then
  local ttl = redis.call('PTTL', KEYS[1])
  taken = redis.call('HINCRBY', KEYS[2], ARGV[1], quantity)
  if ttl > 0 and redis.call('PTTL', KEYS[2]) < 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
end
return {0, stock, taken}
"""
)

# KEYS: stock, [taken hash]. ARGV: member, quantity. Returns the new stock, or nil when unloaded.
RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local stock = redis.call('INCRBY', KEYS[1], ARGV[2])
if KEYS[2] then
  local left = redis.call('HINCRBY', KEYS[2], ARGV[1], -tonumber(ARGV[2]))
  if left <= 0 then redis.call('HDEL', KEYS[2], ARGV[1]) end
end
return stock
"""

# KEYS: stock, [taken hash]. ARGV: replace (1/0), stock, ttl_ms (0 = none), member, units, ...
LOAD_STOCK = """
if ARGV[1] == '0' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
if KEYS[2] then
  redis.call('DEL', KEYS[2])
  for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
end
if tonumber(ARGV[3]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  if KEYS[2] then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
end
return 1
"""
