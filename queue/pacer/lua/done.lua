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
  if st.lat then
    -- The send's length feeds the typical length (bounded, so one timeout does not skew it).
    local d = fin - st.lat
    if d < 0 then d = 0 end
    if d > 5000000 then d = 5000000 end
    if st.dur then st.dur = st.dur * 0.8 + d * 0.2 else st.dur = d end
  end
  st.send_end, st.lease, st.lat = e, nil, nil
  save(st, {'send_end', 'lease', 'lat', 'dur'})
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
