-- Done: the send of the message finished at ARGV[18]. The next send is spaced from here.
-- Returns {'ok'}.
local st = load()
local fin = A.x
if st.lease == A.msg then
  -- Replace the conservative lease end by the real one, never earlier than the send's
  -- start or a Retry-After hold.
  local e = fin
  if st.lat and st.lat > e then e = st.lat end
  if st.hold and st.hold > e then e = st.hold end
  st.send_end, st.lease, st.lat = e, nil, nil
  save(st, {'send_end', 'lease', 'lat'})
elseif not st.send_end or fin > st.send_end then
  -- Not (or no longer) the lease holder, e.g. a repeated Done: it may only push the end later.
  st.send_end = fin
  save(st, {'send_end'})
end
local slot = num(redis.call('ZSCORE', K_WAIT, A.msg))
if slot then
  unreserve(st, slot)
  save(st, {'tdn'})
end
return {'ok'}
