package queue

import (
	"context"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/queue/pacer"
)

// SenderPaces reads each sender's pace from the pacer for the capacity view and the preview
// (mailings.Pacing).
type SenderPaces struct{ Pacer *pacer.Pacer }

// Paces returns the pace of each sender of the integration (its pool, or its one sender).
func (p SenderPaces) Paces(ctx context.Context, in *bellhop.Integration) ([]mailings.SenderPace, error) {
	senders := in.Senders()
	out := make([]mailings.SenderPace, 0, len(senders))
	for _, sd := range senders {
		key := SenderKey(memberOf(in, sd))
		set, err := p.Pacer.Settings(ctx, key)
		if err != nil {
			return nil, err
		}
		st, err := p.Pacer.State(ctx, key)
		if err != nil {
			return nil, err
		}
		zone, err := time.LoadLocation(set.TimeZone)
		if err != nil {
			zone = time.UTC // validated when stored
		}
		out = append(out, mailings.SenderPace{
			Sender: sd, MeanGap: p.Pacer.MeanGap(set), DailyCap: set.DailyCap, Warmup: set.Warmup,
			WarmupDay: st.WarmupDay, Zone: zone, SentToday: st.SentToday, Paused: st.Paused,
			PauseReason: st.PauseReason, NextFree: st.NextFree, Waiting: st.Waiting,
		})
	}
	return out, nil
}

// memberOf is the integration as one sender of its pool sends: the pacer keys, the provider
// call and the ledger name that sender.
func memberOf(in *bellhop.Integration, sd bellhop.Sender) *bellhop.Integration {
	cp := *in
	cp.Sender = &sd
	return &cp
}
