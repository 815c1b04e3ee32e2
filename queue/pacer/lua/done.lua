-- Done: the send of the message finished at ARGV[18]. The next send is spaced from here.
-- Returns {'ok', changed (0|1), send end, then the waiting messages whose slots moved up:
-- id, new slot, id, new slot, …}. changed says the send end moved (worth keeping elsewhere).
local st = load()
local fin = A.x
local changed = 0
local moved = {}

-- REFLOW_MAX bounds the waiting messages one Done moves up; later ones keep their slots.
local REFLOW_MAX = 256
-- A drop of the typical send length smaller than this, or than a tenth of the gaps planned
-- with it, moves nothing: the gain is not worth waking the waiting messages (their tasks are
-- scheduled on whole seconds anyway).
local REFLOW_MIN = 1000000

-- reflow moves up the slots handed out while sends took old (µs) each, now that they take
-- new: the first waiting message goes an interval plus its jitter after the end e of the send
-- that just finished, each next one the new length plus an interval plus its jitter after the
-- one before. Each gap keeps the random extra it was given (recovered as the gap less the old
-- length and the interval, within the jitter's bounds), the order is kept, no slot moves
-- later, and with a daily cap none leaves its day. Acquire still enforces the interval.
-- started is when the finished send started: the first waiting slot was planned from it.
local function reflow(old, new, e, started)
  local list = redis.call('ZRANGE', K_WAIT, 0, REFLOW_MAX - 1, 'WITHSCORES')
  local prev_old = started
  local prev_new = e
  local first = true
  local last_new = nil
  local seen = 0
  for i = 1, #list, 2 do
    local id, s = list[i], tonumber(list[i + 1])
    if id == A.msg then break end -- cannot happen: Acquire took it out of the line
    local j = s - prev_old - old - A.interval
    if j > A.jhi then j = A.jhi end
    if j < A.jlo then j = A.jlo end
    local n
    if first then n = e + A.interval + j else n = prev_new + new + A.interval + j end
    if n < A.now then n = A.now end
    if capped then
      local d = window(s)
      if not d or d ~= window(n) then break end
    end
    if n < s then
      redis.call('ZADD', K_WAIT, fmt(n), id)
      moved[#moved + 1] = id
      moved[#moved + 1] = n
    else
      n = s
    end
    prev_old, prev_new, first, last_new, seen = s, n, false, n, seen + 1
  end
  -- Every waiting message moved with the others: the tail follows the last of them.
  if last_new and st.tail and st.tail > last_new and seen == #list / 2 and seen < REFLOW_MAX then
    st.tail = last_new
    save(st, {'tail'})
  end
end

local holder = st.lease == A.msg
if holder then
  -- Replace the conservative lease end by the real one, never earlier than the send's
  -- start or a Retry-After hold.
  local started = st.lat
  local e = fin
  if started and started > e then e = started end
  if st.hold and st.hold > e then e = st.hold end
  local old, drop = st.dur, false
  -- A release at the send's very start called no provider (the claim failed): no length.
  if started and fin > started then
    -- The send's length feeds the typical length (bounded, so one timeout does not skew it).
    local d = fin - started
    if d < 0 then d = 0 end
    if d > 5000000 then d = 5000000 end
    if old and d < old / 2 and old - d >= REFLOW_MIN and old - d >= (old + A.interval) / 10 then
      -- The sends that made the typical length long are over (a provider's latency spike):
      -- plan from this one, and move up the slots that were planned for long sends.
      st.dur, drop = d, true
    elseif old then
      st.dur = old * 0.8 + d * 0.2
    else
      st.dur = d
    end
  end
  if e ~= st.send_end then changed = 1 end
  st.send_end, st.lease, st.lat = e, nil, nil
  save(st, {'send_end', 'lease', 'lat', 'dur'})
  -- Settings another worker changed since this caller read them: leave the slots to Acquire.
  if drop and (redis.call('HGET', K_SET, 'v') or '0') == A.ver then reflow(old, st.dur, e, started) end
elseif not st.send_end or fin > st.send_end then
  -- Not (or no longer) the lease holder, e.g. a repeated Done: it may only push the end later.
  st.send_end = fin
  changed = 1
  save(st, {'send_end'})
end
-- The lease holder left the waiting set when Acquire granted it (and a Reserve meanwhile
-- would have ended the lease): only another caller may still hold a slot to give up.
if not holder then
  local slot = num(redis.call('ZSCORE', K_WAIT, A.msg))
  if slot then
    unreserve(st, slot)
    save(st, {'tdn'})
  end
end
local out = {'ok', changed, st.send_end or 0}
for _, v in ipairs(moved) do out[#out + 1] = v end
return out
