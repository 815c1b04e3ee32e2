-- Acquire's common case, alone and short (Redis runs it once per send): a sender without a
-- daily cap that is free for this message now. It answers only what acquire.lua would answer
-- the same way — {'ok', lease end} or {'early', slot} — and {'slow'} for everything else
-- (paused, a Retry-After hold, a send in flight or too recent, a message that must queue,
-- settings to refresh, waiting entries to prune, keys lost), which acquire.lua then decides.
-- KEYS: 1 state hash, 2 waiting zset, 3 settings hash. ARGV: 1 settings version, 2 now,
-- 3 interval, 4 jitter drawn, 5 longest send, 6 message id, 7 today's day number, 8 forget
-- waiting entries older than this, 9 '1' when a database keeps the sender.
local now, iv, msg = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[6]
local v = redis.call('HMGET', KEYS[1], 'send_end', 'hold', 'paused', 'lease', 'tail', 'dur',
  'pr', 'm', 'first', 'sdn', 'sn')
local function n(i) if v[i] and v[i] ~= '' then return tonumber(v[i]) end return nil end
local send_end, hold, tail, dur, pr, sdn = n(1), n(2), n(5), n(6) or 0, n(7), n(10)
local ver = redis.call('HGET', KEYS[3], 'v')
if (ARGV[9] == '1' and (not ver or not v[8] or v[8] == '')) or (ver or '0') ~= ARGV[1] then
  return {'slow'}
end
local forget = tonumber(ARGV[8])
if (v[3] and v[3] ~= '') or (v[4] and v[4] ~= '') or (hold and now < hold + iv)
  or (forget > 0 and (not pr or pr > now or now - pr >= forget / 10)) then
  return {'slow'}
end
local slot = tonumber(redis.call('ZSCORE', KEYS[2], msg) or '')
if slot and slot > now then return {'early', slot} end
if send_end and now < send_end + iv then return {'slow'} end
local set = {}
if slot then
  redis.call('ZREM', KEYS[2], msg)
else
  -- It joins the line now only if the line is empty: its place would be now.
  local j = tonumber(ARGV[4])
  if (tail and tail + dur + iv + j > now) or (send_end and send_end + iv + j > now) then
    return {'slow'}
  end
  if not tail or now > tail then set = {'tail', ARGV[2]} end
end
local e = now + tonumber(ARGV[5])
local today, sn = tonumber(ARGV[7]), 1
if sdn == today then sn = (n(11) or 0) + 1 end
set[#set + 1], set[#set + 2] = 'lease', msg
set[#set + 1], set[#set + 2] = 'lat', ARGV[2]
set[#set + 1], set[#set + 2] = 'send_start', ARGV[2]
set[#set + 1], set[#set + 2] = 'send_end', string.format('%.0f', e)
set[#set + 1], set[#set + 2] = 'sdn', ARGV[7]
set[#set + 1], set[#set + 2] = 'sn', tostring(sn)
if not v[9] or v[9] == '' then set[#set + 1], set[#set + 2] = 'first', ARGV[7] end
redis.call('HSET', KEYS[1], unpack(set))
return {'ok', e}
