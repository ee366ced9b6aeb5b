--[[
  Stores one state (an account baseline, a campaign group), unless it already includes the
  update's events.

  KEYS[1]  the state's record, a string: a header line, then the state. The header is a JSON
           object: source -> position (a string) of the last event of that input source (Kafka
           topic-partition, "replay") folded into the state. A hash (field s = the state, fields
           p:<source> = positions: the layout before state records) is read as well, and replaced.
  ARGV[1]  the state, JSON
  ARGV[2]  time to live, seconds (idle accounts expire)
  ARGV[3], ARGV[4], ...  pairs of source and position that the state covers

  Returns 1 when stored; 0 when stale: no source moves forward, or one would move back (a
  redelivered batch).
]]
local stored = {}
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'string' then
  local record = redis.call('GET', KEYS[1])
  local newline = string.find(record, '\n', 1, true)
  stored = cjson.decode(string.sub(record, 1, newline - 1))
elseif kind == 'hash' then
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, 2) == 'p:' then
      stored[string.sub(fields[i], 3)] = fields[i + 1]
    end
  end
end
local advances = false
for i = 3, #ARGV, 2 do
  local before = stored[ARGV[i]]
  local position = tonumber(ARGV[i + 1])
  if not before or position > tonumber(before) then
    advances = true
  elseif position < tonumber(before) then
    return 0
  end
end
if not advances then
  return 0
end
for i = 3, #ARGV, 2 do
  stored[ARGV[i]] = ARGV[i + 1]
end
redis.call('SET', KEYS[1], cjson.encode(stored) .. '\n' .. ARGV[1], 'EX', tonumber(ARGV[2]))
return 1
