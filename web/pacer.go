package web

import (
	"context"
	"net/http"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/queue"
	"github.com/bellhop/bellhop/queue/pacer"
)

// pacerView is a sender's pacing state and settings as the API shows it.
type pacerView struct {
	Settings    pacerSettings   `json:"settings"`
	Sender      *bellhop.Sender `json:"sender"`
	NextFreeAt  time.Time       `json:"next_free_at"`
	Waiting     int             `json:"waiting"`
	LastSendAt  *time.Time      `json:"last_send_at"`
	IntervalS   float64         `json:"interval_seconds"`
	SentToday   int             `json:"sent_today"`
	DailyCap    int             `json:"daily_cap"`
	Paused      bool            `json:"paused"`
	PauseReason string          `json:"pause_reason,omitempty"`
	// ShareWithGroup is the pacer group the integration shares its sender's pace with; "" when
	// the sender is paced for this property alone.
	ShareWithGroup string `json:"share_with_group"`
}

// senderOf returns the integration's chosen sender and its pacer key: the integration's own
// (its provider host, account, sender, and its property or pacer group), so that a property
// only ever sees and changes its own sender's pace.
func (s *Server) senderOf(r *http.Request) (*bellhop.Integration, string, error) {
	in, err := s.cfg.Connector.Integration(r.Context(), r.PathValue("pid"), r.PathValue("provider"))
	if err != nil {
		return nil, "", err
	}
	if in.Sender == nil {
		return nil, "", bellhop.Errorf(bellhop.ENotReady, "No sender is chosen yet, so nothing is paced.")
	}
	key := queue.SenderKey(in)
	// A sender paced under the key of earlier releases starts from that pace (once).
	if err := s.cfg.Pacer.Inherit(r.Context(), queue.LegacySenderKey(in), key); err != nil {
		return nil, "", err
	}
	return in, key, nil
}

func (s *Server) handlePacerState(w http.ResponseWriter, r *http.Request) {
	in, key, err := s.senderOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writePacer(w, r, in, key)
}

// writePacer answers with the sender's pacing state and settings.
func (s *Server) writePacer(w http.ResponseWriter, r *http.Request, in *bellhop.Integration, key string) {
	st, err := s.cfg.Pacer.State(r.Context(), key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	set, err := s.cfg.Pacer.Settings(r.Context(), key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := viewOf(in.Sender, st)
	v.Settings = settingsView(set)
	v.ShareWithGroup = in.PacerGroup
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) handlePacerResume(w http.ResponseWriter, r *http.Request) {
	in, key, err := s.senderOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.resumeSender(r.Context(), in, actor(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writePacer(w, r, in, key)
}

// resumeSender lets the integration's paused sender send again and wakes the property's
// waiting sends, so they go now rather than at their next look. The API and the page share it.
func (s *Server) resumeSender(ctx context.Context, in *bellhop.Integration, actor string) error {
	key := queue.SenderKey(in)
	if err := s.cfg.Pacer.Resume(ctx, key); err != nil {
		return err
	}
	s.log(ctx).InfoContext(ctx, "sender resumed", "property", in.PropertyID, "sender", key, "actor", actor)
	if _, err := s.cfg.Mailings.Resume(ctx, in.PropertyID); err != nil {
		s.log(ctx).WarnContext(ctx, "waking the sender's waiting sends failed; they come back on their own", "error", err)
	}
	return nil
}

// pacerSettings are a sender's pacing settings in the API's units.
type pacerSettings struct {
	IntervalSeconds float64 `json:"interval_seconds"`
	Jitter          float64 `json:"jitter"`
	DailyCap        int     `json:"daily_cap"`
	Warmup          []int   `json:"warmup"`
	TimeZone        string  `json:"time_zone"`
}

func settingsView(set pacer.Settings) pacerSettings {
	w := set.Warmup
	if w == nil {
		w = []int{}
	}
	return pacerSettings{IntervalSeconds: set.Interval.Seconds(), Jitter: set.Jitter, DailyCap: set.DailyCap, Warmup: w, TimeZone: set.TimeZone}
}

// pacerSettingsInput changes the settings it names.
type pacerSettingsInput struct {
	IntervalSeconds *float64 `json:"interval_seconds"`
	Jitter          *float64 `json:"jitter"`
	DailyCap        *int     `json:"daily_cap"`
	Warmup          *[]int   `json:"warmup"`
	TimeZone        *string  `json:"time_zone"`
	// ShareWithGroup shares the sender's pace with the other properties whose administrators
	// set the same group for the same provider host, account and sender; "" stops sharing.
	ShareWithGroup *string `json:"share_with_group"`
}

// handlePacerSettings sets how the integration's sender is paced: the least interval between
// two messages, the random extra (jitter), a daily cap and a warm-up, and whether the pace is
// shared with other properties (a pacer group). Every worker uses them from its next send on.
// A group that changes moves the integration to the group's pace (or back to its own): the
// new one starts no earlier than the old one's last send allows, paused if the old one was,
// and with the old one's settings when it has none yet; settings in the same request apply
// to the new one.
func (s *Server) handlePacerSettings(w http.ResponseWriter, r *http.Request) {
	var in pacerSettingsInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	pin, key, err := s.senderOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	target, targetKey := pin, key
	if in.ShareWithGroup != nil {
		group, err := queue.PacerGroup("share_with_group", *in.ShareWithGroup)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if group != pin.PacerGroup {
			moved := *pin
			moved.PacerGroup = group
			target, targetKey = &moved, queue.SenderKey(&moved)
		}
	}
	set, err := s.cfg.Pacer.Settings(ctx, targetKey)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	changed := false
	if in.IntervalSeconds != nil {
		// Checked in seconds before it becomes a Duration, which a huge number would overflow.
		if *in.IntervalSeconds < 0.001 || *in.IntervalSeconds > 7*24*3600 {
			s.writeError(w, r, bellhop.Invalid("interval_seconds", "must be from 0.001 (1 ms) to 604800 (7 days)"))
			return
		}
		set.Interval, changed = time.Duration(*in.IntervalSeconds*float64(time.Second)), true
	}
	if in.Jitter != nil {
		set.Jitter, changed = *in.Jitter, true
	}
	if in.DailyCap != nil {
		set.DailyCap, changed = *in.DailyCap, true
	}
	if in.Warmup != nil {
		set.Warmup, changed = *in.Warmup, true
	}
	if in.TimeZone != nil {
		set.TimeZone, changed = *in.TimeZone, true
	}
	// Refused settings change nothing, the group included.
	if err := set.Validate(); changed && err != nil {
		s.writeError(w, r, err)
		return
	}
	if targetKey != key {
		if err := s.cfg.Store.SetPacerGroup(ctx, pin.PropertyID, pin.Provider, target.PacerGroup, s.cfg.Clock.Now()); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := s.cfg.Pacer.Carry(ctx, key, targetKey); err != nil {
			s.writeError(w, r, err)
			return
		}
		s.log(ctx).InfoContext(ctx, "sender pace group changed", "property", pin.PropertyID, "group", target.PacerGroup,
			"from", key, "sender", targetKey, "actor", actor(r))
	}
	if changed {
		if err := s.cfg.Pacer.SetSettings(ctx, targetKey, set); err != nil {
			s.writeError(w, r, err)
			return
		}
		s.log(ctx).InfoContext(ctx, "sender pacing changed", "property", pin.PropertyID, "sender", targetKey,
			"interval", set.Interval, "daily_cap", set.DailyCap, "actor", actor(r))
	}
	s.writePacer(w, r, target, targetKey)
}

func viewOf(sd *bellhop.Sender, st pacer.State) pacerView {
	v := pacerView{Sender: sd, NextFreeAt: st.NextFree.UTC(), Waiting: st.Waiting, IntervalS: st.Interval.Seconds(),
		SentToday: st.SentToday, DailyCap: st.DailyCap, Paused: st.Paused, PauseReason: st.PauseReason}
	if !st.LastSendAt.IsZero() {
		t := st.LastSendAt.UTC()
		v.LastSendAt = &t
	}
	return v
}
