-- Cancel: the waiting message will not be sent. Later slots stay where they are.
-- Returns {'ok', removed (0|1)}.
local st = load()
local slot = num(redis.call('ZSCORE', K_WAIT, A.msg))
if not slot then return {'ok', 0} end
unreserve(st, slot)
save(st, {'tdn'})
return {'ok', 1}
