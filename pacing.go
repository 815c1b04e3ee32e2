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

// Pace is a sender's pacing as a property manager sees it: when the next message may go, what
// waits, whether the sender is paused and why, its settings, and with whom it shares its pace.
type Pace struct {
	Sender *Sender
	// NextFree is the earliest time the next message may start.
	NextFree time.Time
	// Waiting is how many messages hold a slot.
	Waiting int
	// LastSendAt is when the last send ended; zero when none is known.
	LastSendAt time.Time
	// Interval is the least time between two messages that applies now.
	Interval    time.Duration
	SentToday   int
	DailyCap    int
	Paused      bool
	PauseReason string
	Settings    PaceSettings
	// Group is the pacer group the sender shares its pace with; "" when it is paced for its
	// property alone.
	Group string
}

// PaceSettings are how a sender is paced.
type PaceSettings struct {
	// Interval is the least time between the end of one send and the start of the next.
	Interval time.Duration
	// Jitter is the largest random extra added to each gap, as a fraction of Interval.
	Jitter float64
	// DailyCap is the most messages per day; 0 means no cap.
	DailyCap int
	// Warmup caps the sender's first days, one step a day.
	Warmup []int
	// TimeZone is the IANA zone the day of DailyCap and Warmup is counted in; "" is UTC.
	TimeZone string
}

// PaceChange changes the settings it names (nil leaves one as it is). Group moves the sender to
// the pace it shares with the other properties that set the same group ("" stops sharing).
type PaceChange struct {
	// IntervalSeconds is the least time between two messages, in seconds as a manager enters
	// it (from 0.001 to 604800).
	IntervalSeconds *float64
	Jitter          *float64
	DailyCap        *int
	Warmup          *[]int
	TimeZone        *string
	Group           *string
}
