package web

import (
	"context"
	"net/http"
	"time"

	"github.com/bellhop/bellhop"
)

// Pacing is the pacing of a property's senders, as the API and the pages use it. Every method
// answers not_ready when the integration has chosen no sender yet.
type Pacing interface {
	// Pace is the pace of the sender property pid's integration of kind has chosen.
	Pace(ctx context.Context, pid, kind string) (*bellhop.Pace, error)
	// ChangePace changes the settings (and the pacer group) the change names; refused settings
	// change nothing.
	ChangePace(ctx context.Context, pid, kind string, ch bellhop.PaceChange, actor string) (*bellhop.Pace, error)
	// Resume lets a paused sender send again and wakes the property's waiting sends.
	Resume(ctx context.Context, pid, kind, actor string) (*bellhop.Pace, error)
}

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

// pacerSettings are a sender's pacing settings in the API's units.
type pacerSettings struct {
	IntervalSeconds float64 `json:"interval_seconds"`
	Jitter          float64 `json:"jitter"`
	DailyCap        int     `json:"daily_cap"`
	Warmup          []int   `json:"warmup"`
	TimeZone        string  `json:"time_zone"`
}

func viewOfPace(pc *bellhop.Pace) pacerView {
	w := pc.Settings.Warmup
	if w == nil {
		w = []int{}
	}
	v := pacerView{Sender: pc.Sender, NextFreeAt: pc.NextFree.UTC(), Waiting: pc.Waiting, IntervalS: pc.Interval.Seconds(),
		SentToday: pc.SentToday, DailyCap: pc.DailyCap, Paused: pc.Paused, PauseReason: pc.PauseReason,
		ShareWithGroup: pc.Group,
		Settings: pacerSettings{IntervalSeconds: pc.Settings.Interval.Seconds(), Jitter: pc.Settings.Jitter,
			DailyCap: pc.Settings.DailyCap, Warmup: w, TimeZone: pc.Settings.TimeZone}}
	if !pc.LastSendAt.IsZero() {
		t := pc.LastSendAt.UTC()
		v.LastSendAt = &t
	}
	return v
}

// writePace answers with a sender's pace, or the error that kept it.
func (s *Server) writePace(w http.ResponseWriter, r *http.Request, pc *bellhop.Pace, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOfPace(pc))
}

func (s *Server) handlePacerState(w http.ResponseWriter, r *http.Request) {
	pc, err := s.cfg.Pacing.Pace(r.Context(), r.PathValue("pid"), r.PathValue("provider"))
	s.writePace(w, r, pc, err)
}

func (s *Server) handlePacerResume(w http.ResponseWriter, r *http.Request) {
	pc, err := s.cfg.Pacing.Resume(r.Context(), r.PathValue("pid"), r.PathValue("provider"), actor(r))
	s.writePace(w, r, pc, err)
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
// shared with other properties (a pacer group).
func (s *Server) handlePacerSettings(w http.ResponseWriter, r *http.Request) {
	var in pacerSettingsInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	ch := bellhop.PaceChange{IntervalSeconds: in.IntervalSeconds, Jitter: in.Jitter, DailyCap: in.DailyCap, Warmup: in.Warmup,
		TimeZone: in.TimeZone, Group: in.ShareWithGroup}
	pc, err := s.cfg.Pacing.ChangePace(r.Context(), r.PathValue("pid"), r.PathValue("provider"), ch, actor(r))
	s.writePace(w, r, pc, err)
}
