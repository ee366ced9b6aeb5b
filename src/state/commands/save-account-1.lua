--[[
  Stores one account's baseline, unless a newer one is already there.

  KEYS[1]  the account's state hash (fields: seq, s)
  ARGV[1]  seq of the last input event folded into the state (number)
  ARGV[2]  the state, JSON
  ARGV[3]  time to live, seconds (idle accounts expire)

  Returns 1 when stored, 0 when the stored seq is the same or newer (a redelivered batch).
]]
local stored = redis.call('HGET', KEYS[1], 'seq')
if stored and tonumber(stored) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'seq', ARGV[1], 's', ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
