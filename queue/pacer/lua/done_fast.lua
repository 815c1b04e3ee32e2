-- Done's common case, alone and short: the lease holder's send ended at ARGV[2] and was not
-- so much shorter than the typical one that waiting slots move up. It answers what done.lua
-- would — {'ok', changed (0|1), send end} — or {'slow'}, and done.lua decides.
-- KEYS: 1 state hash. ARGV: 1 message id, 2 send end, 3 interval.
local v = redis.call('HMGET', KEYS[1], 'lease', 'lat', 'send_end', 'hold', 'dur')
local function n(i) if v[i] and v[i] ~= '' then return tonumber(v[i]) end return nil end
if v[1] ~= ARGV[1] then return {'slow'} end
local fin, started, send_end, hold, old = tonumber(ARGV[2]), n(2), n(3), n(4), n(5)
local e = fin
if started and started > e then e = started end
if hold and hold > e then e = hold end
local set = {'lease', '', 'lat', ''}
if started and fin > started then
  local d = math.min(fin - started, 5000000)
  local iv = tonumber(ARGV[3])
  if old and d < old / 2 and old - d >= 1000000 and old - d >= (old + iv) / 10 then
    return {'slow'} -- a latency spike is over: done.lua moves the waiting slots up
  end
  if old then d = old * 0.8 + d * 0.2 end
  set[5], set[6] = 'dur', string.format('%.0f', d)
end
local changed = 0
if e ~= send_end then
  changed = 1
  set[#set + 1], set[#set + 2] = 'send_end', string.format('%.0f', e)
end
redis.call('HSET', KEYS[1], unpack(set))
return {'ok', changed, e}
