--[[
  Stores one account's baseline, unless it already includes the update's events.

  KEYS[1]  the account's state hash: field s = the state (JSON), field p:<source> = the position
           of the last event of that input source (Kafka topic-partition, "replay") in the state
  ARGV[1]  source
  ARGV[2]  position of the last event of that source folded into the state (number)
  ARGV[3]  the state, JSON
  ARGV[4]  time to live, seconds (idle accounts expire)

  Returns 1 when stored, 0 when the stored position is the same or newer (a redelivered batch).
]]
local field = 'p:' .. ARGV[1]
local stored = redis.call('HGET', KEYS[1], field)
if stored and tonumber(stored) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], field, ARGV[2], 's', ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
