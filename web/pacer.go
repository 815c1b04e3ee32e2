package web

import (
	"net/http"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/queue"
	"github.com/bellhop/bellhop/queue/pacer"
)

// pacerView is a sender's pacing state as the API shows it.
type pacerView struct {
	Sender      *bellhop.Sender `json:"sender"`
	NextFreeAt  time.Time       `json:"next_free_at"`
	Waiting     int             `json:"waiting"`
	LastSendAt  *time.Time      `json:"last_send_at"`
	IntervalS   float64         `json:"interval_seconds"`
	SentToday   int             `json:"sent_today"`
	DailyCap    int             `json:"daily_cap"`
	Paused      bool            `json:"paused"`
	PauseReason string          `json:"pause_reason,omitempty"`
}

// senderOf returns the integration's chosen sender and its pacer key.
func (s *Server) senderOf(r *http.Request) (*bellhop.Integration, string, error) {
	in, err := s.cfg.Connector.Integration(r.Context(), r.PathValue("pid"), r.PathValue("provider"))
	if err != nil {
		return nil, "", err
	}
	if in.Sender == nil {
		return nil, "", bellhop.Errorf(bellhop.ENotReady, "No sender is chosen yet, so nothing is paced.")
	}
	return in, queue.SenderKey(in), nil
}

func (s *Server) handlePacerState(w http.ResponseWriter, r *http.Request) {
	in, key, err := s.senderOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.cfg.Pacer.State(r.Context(), key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(in.Sender, st))
}

func (s *Server) handlePacerResume(w http.ResponseWriter, r *http.Request) {
	in, key, err := s.senderOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Pacer.Resume(r.Context(), key); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log(r.Context()).InfoContext(r.Context(), "sender resumed", "property", in.PropertyID, "sender", key, "actor", actor(r))
	if _, err := s.cfg.Mailings.Resume(r.Context(), in.PropertyID); err != nil {
		s.log(r.Context()).WarnContext(r.Context(), "waking the sender's waiting sends failed; they come back on their own", "error", err)
	}
	st, err := s.cfg.Pacer.State(r.Context(), key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(in.Sender, st))
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
