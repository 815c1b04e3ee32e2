-- Acquire: may the message be sent now? ARGV[18] is the longest a send may take.
-- Returns {'ok', lease end}, {'early', slot}, {'busy', retry at}, {'paused', retry at} or
-- {'retry', new slot, why}.
local st = load()
local s = check(st)
if s then return s end
prune(st)
local slot = num(redis.call('ZSCORE', K_WAIT, A.msg))

if st.paused then
  if not slot and st.lease ~= A.msg then
    -- Keep its place in the queue for when the sender is resumed.
    local c, d = place(st, nil, nil)
    if not c then return {'day', d} end
    commit(st, c, d)
    save(st, ALL)
  end
  return {'paused', A.now + A.pause_retry}
end

if st.lease == A.msg and st.send_end and A.now < st.send_end then
  -- A retried call inside its own live lease: same answer, nothing counted twice.
  return {'ok', st.send_end}
end

local why, floor = nil, nil
if slot and slot > A.now then
  -- Early. A slot that a Retry-After hold has overtaken would only be refused when its time
  -- comes: give it its new place now instead.
  if not (st.hold and slot < st.hold + A.interval) then return {'early', slot} end
  why = 'backoff'
elseif st.hold and A.now < st.hold + A.interval then
  why = 'backoff'
elseif slot and st.lease and st.lease ~= A.msg and st.send_end and A.now < st.send_end then
  -- Another message's send is in flight and its real end is not known yet: placing this one
  -- behind the lease's worst case would push every later slot back by it. Keep the place and
  -- come back after one interval (or when the lease runs out), whichever is sooner. (A message
  -- without a place gets one below, planned from the send's start.)
  return {'busy', math.min(st.send_end, A.now + A.interval)}
elseif st.send_end and A.now < st.send_end + A.interval then
  why = 'spacing'
elseif capped then
  local limit = cap_for(st, A.today.no)
  if limit > 0 and sent_today(st) >= limit then why, floor = 'daily_cap', A.today.e end
end

if slot and (why == 'spacing' or why == 'backoff') then
  local lo = keep(st, slot)
  if lo then
    redis.call('ZADD', K_WAIT, fmt(lo), A.msg)
    if not st.tail or lo > st.tail then
      st.tail = lo
      save(st, {'tail'})
    end
    return {'retry', lo, why}
  end
end

if why or not slot then
  local c, d = place(st, floor, slot)
  if not c then return {'day', d} end
  if slot then unreserve(st, slot) end
  if st.lease == A.msg then st.lease, st.lat = nil, nil end
  if why or c > A.now then
    commit(st, c, d)
    save(st, ALL)
    return {'retry', c, why or 'queued'}
  end
  -- It joined an idle sender: its slot is now, go on (the tail and the day count as its
  -- slot; the waiting set never holds it).
  commit(st, c, d, {})
  slot = nil
end

if slot then redis.call('ZREM', K_WAIT, A.msg) end
st.lease, st.lat = A.msg, A.now
st.send_start, st.send_end = A.now, A.now + A.x
if not st.first then st.first = A.today.no end
if st.sdn == A.today.no then st.sn = (st.sn or 0) + 1 else st.sdn, st.sn = A.today.no, 1 end
save(st, ALL)
return {'ok', st.send_end}
