-- The revocation circuit breaker, atomically across every dispatcher.
-- KEYS[1] zset: automatic-action recommendation id -> event time
-- KEYS[2] hash: recommendation id -> "<open 0|1>:<actions in window>" (a redelivery gets the same answer)
-- KEYS[3] hash: openUntil, trippedAt, tripCount, announced
-- ARGV: windowMs, maxActions, cooldownMs, keepMs, then (id, eventTime) pairs
-- Returns { decisions..., openUntil, trippedAt, tripCount, announced }
local window = tonumber(ARGV[1])
local maxActions = tonumber(ARGV[2])
local cooldown = tonumber(ARGV[3])
local keep = tonumber(ARGV[4])
local openUntil = tonumber(redis.call('HGET', KEYS[3], 'openUntil') or '-1')
local newest = nil
local out = {}
for i = 5, #ARGV, 2 do
  local id = ARGV[i]
  local ts = tonumber(ARGV[i + 1])
  local known = redis.call('HGET', KEYS[2], id)
  if known then
    out[#out + 1] = known
  else
    redis.call('ZADD', KEYS[1], ts, id)
    -- Everything seen since the window before this one, later ones included: recommendations
    -- arrive from several partitions out of event-time order, and a storm seen newest-first
    -- must trip the breaker as surely as one seen oldest-first.
    local count = redis.call('ZCOUNT', KEYS[1], '(' .. (ts - window), '+inf')
    if count > maxActions then
      if ts >= openUntil then
        redis.call('HSET', KEYS[3], 'trippedAt', ts, 'tripCount', count)
      end
      if ts + cooldown > openUntil then openUntil = ts + cooldown end
      redis.call('HSET', KEYS[3], 'openUntil', openUntil)
    end
    local decision = ((ts < openUntil) and '1' or '0') .. ':' .. count
    redis.call('HSET', KEYS[2], id, decision)
    out[#out + 1] = decision
  end
  if newest == nil or ts > newest then newest = ts end
end
if newest ~= nil then
  local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (newest - keep), 'LIMIT', 0, 1000)
  if #old > 0 then
    redis.call('ZREM', KEYS[1], unpack(old))
    redis.call('HDEL', KEYS[2], unpack(old))
  end
end
for k = 1, 3 do redis.call('PEXPIRE', KEYS[k], keep + 86400000) end
local state = redis.call('HMGET', KEYS[3], 'openUntil', 'trippedAt', 'tripCount', 'announced')
for k = 1, 4 do out[#out + 1] = state[k] or '' end
return out
