-- Reserve: the message's slot, the one it already holds when it has one.
-- Returns {'ok', slot, created (0|1), paused (0|1)}.
local s = lost() or stale()
if s then return s end
prune()
local st = load()
local slot = num(redis.call('ZSCORE', K_WAIT, A.msg))
local created = 0
if not slot then
  local c, d = place(st, nil, nil)
  if not c then return {'day', d} end
  if st.lease == A.msg then
    -- Redelivered while its send was in flight: the lease ends but its conservative
    -- send_end stays, so the new slot keeps the spacing from whatever that send did.
    st.lease, st.lat = nil, nil
  end
  commit(st, c, d)
  save(st, ALL)
  slot, created = c, 1
end
local paused = 0
if st.paused then paused = 1 end
return {'ok', slot, created, paused}
