-- Shared head of every pacer script; one operation's body follows it.
--
-- Times are integer microseconds since the Unix epoch and come from the caller's clock in
-- ARGV, never from Redis TIME, so a simulated clock drives the whole pacer. Numbers are
-- written back with %.0f because Lua's default number formatting keeps 14 significant
-- digits, fewer than a microsecond timestamp has.
--
-- KEYS: 1 state hash, 2 waiting zset (message -> slot), 3 settings hash.
-- ARGV: 1 settings version the caller computed with, 2 now, 3 interval, 4 jitter drawn for
-- this call, 5 daily cap, 6 warm-up steps "20,40,80", 7-9 today (day number, start, end),
-- 10-15 two consecutive days (number, start, end) that may hold the next slot, 16 forget
-- waiting entries older than this, 17 message id, 18 operation argument, 19 paused retry,
-- 20-21 the largest and the least jitter a gap may get, 22 '1' when the pacer keeps its
-- senders in a database (then a sender whose keys are gone must be rebuilt first); Reserve
-- takes its messages from 23 on.
--
-- Cost: every command a script runs is Redis's work per message, so a script reads the state
-- hash once (HMGET), writes back only the fields that changed (one HSET), and keeps the day's
-- send count in that hash rather than in a key of its own.
local K_STATE, K_WAIT, K_SET = KEYS[1], KEYS[2], KEYS[3]

local A = {
  ver = ARGV[1],
  now = tonumber(ARGV[2]),
  interval = tonumber(ARGV[3]),
  jitter = tonumber(ARGV[4]),
  cap = tonumber(ARGV[5]),
  today = {no = tonumber(ARGV[7]), s = tonumber(ARGV[8]), e = tonumber(ARGV[9])},
  days = {
    {no = tonumber(ARGV[10]), s = tonumber(ARGV[11]), e = tonumber(ARGV[12])},
    {no = tonumber(ARGV[13]), s = tonumber(ARGV[14]), e = tonumber(ARGV[15])},
  },
  forget = tonumber(ARGV[16]),
  msg = ARGV[17],
  x = tonumber(ARGV[18]),
  pause_retry = tonumber(ARGV[19]),
  jhi = tonumber(ARGV[20]),
  jlo = tonumber(ARGV[21]),
  mem = ARGV[22] == '1',
}
local warmup = {}
for step in string.gmatch(ARGV[6], '%d+') do warmup[#warmup + 1] = tonumber(step) end
local capped = A.cap > 0 or #warmup > 0

local function fmt(n) return string.format('%.0f', n) end

local function num(v)
  if v then return tonumber(v) end
  return nil
end

-- State fields: tail = latest reserved slot; tdno/tds/tde/tdn = the tail's day (number,
-- start, end) and how many slots it holds; send_start/send_end = the last send (send_end is
-- a lease end while a send is in flight); hold = Retry-After floor; first = day number of
-- the sender's first reservation (warm-up); lease/lat = message in flight and its start;
-- dur = how long a send typically takes (a moving average), since gaps count from a send's end;
-- sdn/sn = the day number of the send count and the sends that day (the daily cap, State);
-- pr = when waiting entries were last pruned; m = rebuilt from the database (see check);
-- w = count of pauses, resumes and settings changes.
local FIELDS = {'tail', 'tdno', 'tds', 'tde', 'tdn', 'send_start', 'send_end', 'hold',
  'paused', 'reason', 'first', 'lease', 'lat', 'dur', 'sdn', 'sn', 'pr', 'm'}
local TEXT = {reason = true, lease = true, m = true}

-- loaded holds each field's value as read (or last saved), so that save writes only what
-- changed, and formats only that.
local loaded = {}

local function load()
  local v = redis.call('HMGET', K_STATE, unpack(FIELDS))
  local st = {}
  for i, f in ipairs(FIELDS) do
    local x = v[i]
    if x and x ~= '' then
      if not TEXT[f] then x = tonumber(x) end
      st[f], loaded[f] = x, x
    end
  end
  return st
end

-- save writes the fields that changed in one HSET; a cleared field is written empty, which
-- load reads as unset (no HDEL).
local function save(st, fields)
  local set, n = {}, 0
  for _, f in ipairs(fields) do
    local v = st[f]
    if v ~= loaded[f] then
      loaded[f] = v
      if v == nil then v = '' elseif type(v) == 'number' then v = fmt(v) end
      set[n + 1], set[n + 2], n = f, v, n + 2
    end
  end
  if n > 0 then redis.call('HSET', K_STATE, unpack(set)) end
end

-- check answers 'rebuild' when the pacer keeps its senders in a database and this sender's
-- keys are gone (Redis restarted empty, failed over, or evicted them): the marker m is set
-- only by a rebuild, and the settings version only by a rebuild or a settings change. No slot
-- is granted or handed out before the caller has put back what the database keeps. It
-- answers 'stale' with the current settings when the caller computed with other ones.
local function check(st)
  local v = redis.call('HGET', K_SET, 'v')
  if A.mem and (not st.m or not v) then return {'rebuild'} end
  v = v or '0'
  if v ~= A.ver then return {'stale', v, redis.call('HGET', K_SET, 'json') or ''} end
  return nil
end

-- ALL is what reserve and acquire may change; pause and its reason belong to Pause/Resume.
local ALL = {'tail', 'tdno', 'tds', 'tde', 'tdn', 'send_start', 'send_end', 'first', 'lease', 'lat',
  'sdn', 'sn'}

-- sent_today is how many sends the sender started today.
local function sent_today(st)
  if st.sdn == A.today.no then return st.sn or 0 end
  return 0
end

-- cap_for is the daily cap of day number no, warm-up included; 0 means none.
local function cap_for(st, no)
  local c = A.cap
  local first = st.first or A.today.no
  local i = no - first
  if i >= 0 and i < #warmup then
    local w = warmup[i + 1]
    if c == 0 or w < c then c = w end
  end
  return c
end

local function window(t)
  for _, d in ipairs(A.days) do
    if d.e > d.s and t >= d.s and t < d.e then return d end
  end
  return nil
end

-- place finds the slot of a message joining the queue now: after the tail and the last send
-- by interval plus this call's jitter, not before now, floor or a Retry-After hold, and in a
-- day that still has room. freed is the slot of a reservation this same call gives up.
-- Returns slot, day (nil when no cap applies), or nil, t when the caller must pass t's day.
local function place(st, floor, freed)
  local c = A.now
  if floor and floor > c then c = floor end
  if st.hold and st.hold > c then c = st.hold end
  local tail = st.tail
  if freed and tail == freed then
    -- The message gives up the last slot: space it from the one before, which is still
    -- waiting or was sent (then send_end below covers it) or cancelled (no need).
    tail = nil
    local top = redis.call('ZREVRANGE', K_WAIT, 0, 1, 'WITHSCORES')
    for i = 1, #top, 2 do
      if top[i] ~= A.msg then tail = tonumber(top[i + 1]); break end
    end
  end
  -- A slot is when a send starts, and the next one may start an interval after it ends: plan
  -- for the typical send's length, so that slots are not refused at Acquire for it.
  local dur = st.dur or 0
  if tail and tail + dur + A.interval + A.jitter > c then c = tail + dur + A.interval + A.jitter end
  local last = st.send_end
  if st.lease and st.lat then
    -- A send is in flight: its lease end is a worst case, not its end, and planning from it
    -- would push this and every later slot back by the whole lease. Plan from its start and
    -- typical length; Acquire checks the real end when the slot comes.
    last = st.lat + dur
  end
  if last and last + A.interval + A.jitter > c then
    c = last + A.interval + A.jitter
  end
  if not capped then return c, nil end
  while true do
    local d = window(c)
    if not d then return nil, c end
    local used = 0
    if st.tdno == d.no then
      used = st.tdn or 0
      if freed and freed >= st.tds and freed < st.tde then used = used - 1 end
    end
    local limit = cap_for(st, d.no)
    if limit == 0 or used < limit then return c, d end
    c = d.e
  end
end

-- keep moves a refused message to the earliest time the last send allows without leaving
-- its place in line: still an interval after the waiting message before it and before the one
-- after it, in the same day. Returns that time, or nil when it does not fit (the message
-- then goes to the back: giving several refused messages the same time would only make them
-- race again).
local function keep(st, slot)
  local lo = A.now
  if st.send_end and st.send_end + A.interval > lo then lo = st.send_end + A.interval end
  if st.hold and st.hold + A.interval > lo then lo = st.hold + A.interval end
  local prev = redis.call('ZREVRANGEBYSCORE', K_WAIT, '(' .. fmt(slot), '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if prev[2] and tonumber(prev[2]) + A.interval > lo then lo = tonumber(prev[2]) + A.interval end
  local nxt = redis.call('ZRANGEBYSCORE', K_WAIT, '(' .. fmt(slot), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if nxt[2] and lo > tonumber(nxt[2]) - A.interval then return nil end
  if capped then
    local d = window(slot)
    if not d or d ~= window(lo) then return nil end
  end
  return lo
end

-- unreserve drops a waiting message; its slot stops counting against its day.
local function unreserve(st, slot)
  redis.call('ZREM', K_WAIT, A.msg)
  if st.tdno and st.tdn and st.tdn > 0 and slot >= st.tds and slot < st.tde then
    st.tdn = st.tdn - 1
  end
end

-- commit gives the message slot c in day d (nil when uncapped). queued collects the
-- waiting entries to add (one ZADD for all); without it the entry is added now.
local function commit(st, c, d, queued)
  if queued then
    queued[#queued + 1] = fmt(c)
    queued[#queued + 1] = A.msg
  else
    redis.call('ZADD', K_WAIT, fmt(c), A.msg)
  end
  if not st.tail or c > st.tail then st.tail = c end
  if d then
    if st.tdno == d.no then
      st.tdn = (st.tdn or 0) + 1
    else
      st.tdno, st.tds, st.tde, st.tdn = d.no, d.s, d.e, 1
    end
  end
  if not st.first then st.first = (d and d.no) or A.today.no end
end

-- prune forgets waiting entries nobody came back for (a task deleted without Cancel);
-- a message that does come back is simply given a new slot. It runs at most once per tenth
-- of ForgetAfter (an entry goes at most that much later than due), not on every call.
local function prune(st)
  if A.forget > 0 and (not st.pr or st.pr > A.now or A.now - st.pr >= A.forget / 10) then
    redis.call('ZREMRANGEBYSCORE', K_WAIT, '-inf', '(' .. fmt(A.now - A.forget))
    st.pr = A.now
    save(st, {'pr'})
  end
end

