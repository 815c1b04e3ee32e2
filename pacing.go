package bellhop

import "time"

// SenderPace is what the database keeps of one sender's pacing so that it outlives Redis, the
// pacer's cache: a pacer that finds its Redis keys gone rebuilds them from here.
type SenderPace struct {
	// Sender is the pacer's key of the sender (see queue.SenderKey).
	Sender string
	// Settings are the pacer's settings of the sender as the pacer encodes them (JSON); ""
	// when the sender has none of its own and the defaults apply.
	Settings    string
	Paused      bool
	PauseReason string
	// LastSendEnd is when the sender's last known send ended (or a provider's Retry-After
	// ends); zero when none is known. It only ever moves later.
	LastSendEnd time.Time
	UpdatedAt   time.Time
}
