package pacer

import "time"

// MeanGap is the average time from the start of one send to the start of the next when a
// sender with these settings sends without pause: the interval plus the mean of the random
// extra each gap gets, which is drawn evenly between the send margin (at most half the
// jitter) and the jitter (see Config.SendMargin). The time a send itself takes is not in it.
func (p *Pacer) MeanGap(s Settings) time.Duration {
	if s.Jitter <= 0 {
		return s.Interval
	}
	hi := s.Jitter * float64(s.Interval)
	lo := min(float64(p.margin), hi/2)
	return s.Interval + time.Duration((lo+hi)/2)
}
