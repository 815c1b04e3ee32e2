-- Backoff: the provider asked to wait until ARGV[18]. The last send is taken to end there,
-- so the next one starts no earlier than that plus the interval. Returns {'ok'}.
local st = load()
local u = A.x
if not st.hold or u > st.hold then st.hold = u end
if not st.send_end or u > st.send_end then st.send_end = u end
save(st, {'hold', 'send_end'})
return {'ok'}
