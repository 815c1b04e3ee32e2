// Package pacer spaces the messages of each sender so that no two go out closer than the
// sender's interval, across every worker process, through atomic scripts on a shared Redis.
//
// # Model
//
// Slots. Every message that waits holds its own future slot, reserved once by [Pacer.Reserve]
// at max(now, tail + interval + jitter), where the tail is the latest slot handed out. A
// waiting message therefore costs O(1) Redis commands (reserve once, acquire once, done
// once) instead of one per wake-up, and slots come out in arrival order. Jitter is only
// ever added, so the slots are never closer than the interval. A daily cap (counted in the
// sender's time zone) and a warm-up that raises the cap over the sender's first days move a
// slot to the start of the next day with room.
//
// Lease. Slots are a schedule, not the guarantee: a worker can be killed holding a slot and
// its task rerun late, a setting can change, the provider can ask to back off. The guarantee
// is enforced by [Pacer.Acquire], right before the provider call: it grants a send only if
// now is at least the end of the previous send plus the interval, and records a lease whose
// end is now + maxSendDuration, so a worker that dies mid-send still blocks the sender for
// as long as its send could have lasted. A refused message gets a new slot: right after
// the last send when that still leaves the interval before the next waiting message (it
// keeps its place in line), else at the tail.
//
// Send end. [Pacer.Done] replaces the lease end with the time the provider call returned.
// The gap is measured from the end of one send to the start of the next, so whatever the
// network adds to one request, two messages arrive at the provider at least the interval
// apart.
//
// Typical length. Slots are planned for a typical send length (a moving average), since the
// gap runs from a send's end. When a send is much shorter than that (a provider's latency
// spike is over: less than half of it, by a second and a tenth of the planned gap at least),
// the typical length becomes this send's and [Pacer.Finish] moves up the slots planned for
// long sends: in order, each gap keeping its jitter, none later than it was, none out of its
// day under a cap, at most 256 per call. It reports the moved messages so that the queue can
// wake their tasks.
//
// Memory. Redis is the pacer's cache, not its memory: with [Config.Memory] (the database),
// each sender's settings and pause are written through before Redis, and each send's end
// after it (one write per send; the kept end only moves later). A marker in the sender's
// state hash, set only by a rebuild, tells the scripts that Redis still holds the sender:
// when it or the settings version is missing (Redis restarted empty, failed over or evicted
// the keys), Reserve, Acquire and State answer "rebuild" and the pacer puts back the
// settings, the pause and a last send end of max(the kept end, now) before any slot is given
// or granted: a send in flight at the loss, or whose end's write was lost, still has the
// interval after it. Waiting messages lost their slots with the keys: each gets a new one
// when it next asks, in the order it asks (the queue's sweep asks in due order). Losing
// Redis may delay sends; it never lets two through closer than the interval. A pause or
// settings change that lands while another process rebuilds bumps a counter the rebuild
// checks, so the rebuild reads the database again rather than undo it.
//
// # Use from a queue
//
//  1. When a message is due (its ledger row is still to be sent), Reserve(sender, id) — or
//     ReserveMany for all of a sender's messages that come due together, one script — and
//     queue the task for a little before Reservation.At (Asynq schedules on whole seconds
//     with a coarse tick). Calling Reserve again on a rerun is harmless. A message may also
//     skip Reserve: its first Acquire gives it its place (and tells it when to come back).
//  2. In the task, [Wait] until At, then Acquire(sender, id, maxSend). If it refuses,
//     schedule the task again at the returned time (no new Reserve is needed: Acquire has
//     already given the message its new slot).
//  3. Call the provider with a deadline of maxSend, then Done(sender, id, clock.Now()),
//     whether the call succeeded or not. On a 429 also call Backoff(until) (before or
//     after Done, the result is the same), then Reserve again for its new slot. On a ban
//     call Pause(reason): Acquire then answers "come back after Config.PausedRetry" and
//     nothing is dropped until Resume.
//  4. A waiting message that will not be sent (cancelled booking, skipped delivery) is
//     Cancel-led, or its entry lingers until Config.ForgetAfter.
//
// Every call is idempotent per message id, so Asynq's redeliveries are safe. Workers must
// agree on the time (NTP): clock skew between them is not corrected.
//
// # Redis
//
// A sender's keys share the hash tag {sender}, so each script runs on Redis Cluster:
//
//	<prefix>{<sender>}:state          hash: tail slot and its day's count, last send, lease, pause,
//	                                  sends today, rebuilt marker, count of pauses and settings
//	                                  changes
//	<prefix>{<sender>}:waiting        sorted set: message id -> slot (µs)
//	<prefix>{<sender>}:settings       hash: v (version), json
//	<prefix>senders                   set of senders, for Senders (added once per process)
//
// Reserve (or ReserveMany, for up to 500 messages), Acquire, Done, Cancel and Backoff are one
// EVALSHA each (scripts embedded from lua/, times passed in from the clock in microseconds);
// a lost sender costs one rebuild. A delivered message costs two (Acquire, Done) and its
// share of one ReserveMany; a refused Acquire one more. Acquire and Done first try a short
// script of their own for the common case (a sender without a daily cap, free for this
// message; the lease holder's send ended) and fall back to the full one, which decides every
// case, when it answers "slow". Inside Redis a script reads the state hash once and writes
// back only what changed: Acquire runs about five commands, Done two. A call answers "your settings are stale" or "tell me the day of this time" (a daily
// cap whose slot is days ahead) with one extra round trip, rarely.
// Waiting entries leave on Acquire, Cancel and Done, and are forgotten after
// Config.ForgetAfter if nobody comes back for them.
package pacer
