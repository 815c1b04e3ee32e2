-- Rebuild: the sender's keys were lost (Redis restarted empty, failed over, or evicted them);
-- put back what the database keeps of it. Runs alone, without the common head.
-- KEYS: 1 state hash, 2 settings hash.
-- ARGV: 1 the count of pauses, resumes and settings changes (state field w) the caller read
-- before it read the database, 2 settings JSON ('' = the defaults), 3 a new settings version,
-- 4 paused ('1' or ''), 5 pause reason, 6 the least send end (µs; '' for none).
-- Returns {'ok'}, or {'again'} when a pause, resume or settings change came in meanwhile: its
-- database write may be newer than what the caller read.
if redis.call('HGET', KEYS[1], 'm') and redis.call('HGET', KEYS[2], 'v') then return {'ok'} end
if (redis.call('HGET', KEYS[1], 'w') or '') ~= ARGV[1] then return {'again'} end

redis.call('HSET', KEYS[2], 'v', ARGV[3])
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[2], 'json', ARGV[2])
else
  redis.call('HDEL', KEYS[2], 'json')
end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'paused', '1', 'reason', ARGV[5])
else
  redis.call('HDEL', KEYS[1], 'paused', 'reason')
end
-- The send end only moves later: a Done that reached Redis after the loss may be newer.
local e = tonumber(ARGV[6])
if e then
  local cur = tonumber(redis.call('HGET', KEYS[1], 'send_end') or '')
  if not cur or e > cur then redis.call('HSET', KEYS[1], 'send_end', ARGV[6]) end
end
redis.call('HSET', KEYS[1], 'm', '1')
return {'ok'}
