-- Reserve: each message's slot, in the order given, or the one it already holds. The messages
-- are ARGV[23], ARGV[25], …, each followed by the jitter drawn for it (ARGV[4] is unused).
-- ARGV[18] is the pickup allowance: when the first message placed goes now (the sender was
-- idle), the others are planned as if it went that much later (five intervals at most), so
-- that the time its task takes to be picked up does not eat into the gap planned after it.
-- Returns {'ok', paused (0|1), slot, created (0|1), slot, created, …}; created is 0 also for a
-- message placed in an earlier round of the same call (a daily cap spread it over days).
-- A batch costs one ZMSCORE and one ZADD however many messages it holds.
local st = load()
local s = check(st)
if s then return s end
prune(st)
local ids = {}
for i = 23, #ARGV, 2 do ids[#ids + 1] = ARGV[i] end
local held = redis.call('ZMSCORE', K_WAIT, unpack(ids))
local out = {'ok', 0}
if st.paused then out[2] = 1 end
local queued = {}
local placed = false
for n, id in ipairs(ids) do
  local slot, created = num(held[n]), 0
  if not slot then
    A.msg, A.jitter = id, tonumber(ARGV[22 + 2 * n])
    local c, d = place(st, nil, nil)
    if not c then
      -- The caller must pass this slot's day. Those placed so far keep their slots (the run
      -- again finds them held): each round's slots then lie in the days it was given.
      if #queued > 0 then
        redis.call('ZADD', K_WAIT, unpack(queued))
        save(st, ALL)
      end
      return {'day', d}
    end
    if st.lease == A.msg then
      -- Redelivered while its send was in flight: the lease ends but its conservative
      -- send_end stays, so the new slot keeps the spacing from whatever that send did.
      st.lease, st.lat = nil, nil
    end
    commit(st, c, d, queued)
    slot, created = c, 1
    if not placed and c <= A.now and A.x > 0 then
      st.tail = c + math.min(A.x, 5 * A.interval)
    end
    placed = true
  end
  out[#out + 1] = slot
  out[#out + 1] = created
end
if #queued > 0 then
  redis.call('ZADD', K_WAIT, unpack(queued))
  save(st, ALL)
end
return out
