-- State: read only. Returns {'ok', next free slot, waiting, last send start, paused,
-- reason, sent today, today's cap, message in flight, today's day of the warm-up (0 = the
-- sender's first day, or no reservation yet)}.
local st = load()
local s = check(st)
if s then return s end
local c, d = place(st, nil, nil)
if not c then return {'day', d} end
local sent = sent_today(st)
local limit = 0
if capped then limit = cap_for(st, A.today.no) end
local paused = 0
if st.paused then paused = 1 end
return {'ok', c, redis.call('ZCARD', K_WAIT), st.send_start or 0, paused, st.reason or '',
  sent, limit, st.lease or '', A.today.no - (st.first or A.today.no)}
