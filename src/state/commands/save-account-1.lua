--[[
  Stores one state (an account baseline, a campaign group), unless it already includes the
  update's events.

  KEYS[1]  the account's state hash: field s = the state (JSON); field p:<source> = the position
           of the last event of that input source (Kafka topic-partition, "replay") in the state
  ARGV[1]  the state, JSON
  ARGV[2]  time to live, seconds (idle accounts expire)
  ARGV[3], ARGV[4], ...  pairs of source and position that the state covers

  Returns 1 when stored; 0 when stale: no source moves forward, or one would move back (a
  redelivered batch).
]]
local advances = false
for i = 3, #ARGV, 2 do
  local stored = redis.call('HGET', KEYS[1], 'p:' .. ARGV[i])
  local position = tonumber(ARGV[i + 1])
  if not stored or position > tonumber(stored) then
    advances = true
  elseif position < tonumber(stored) then
    return 0
  end
end
if not advances then
  return 0
end
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], 'p:' .. ARGV[i], ARGV[i + 1])
end
redis.call('HSET', KEYS[1], 's', ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
