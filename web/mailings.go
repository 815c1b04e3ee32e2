package web

import (
	"context"
	"crypto/subtle"
	"io"
	"net/http"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
)

func (s *Server) handlePutBooking(w http.ResponseWriter, r *http.Request) {
	var in mailings.BookingInput
	if err := decodeMax(w, r, &in, maxBookingBody); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.property(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.cfg.Mailings.PutBooking(r.Context(), p.ID, in.Booking(r.PathValue("bid")))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	writeJSON(w, status, res)
}

func (s *Server) handleCancelBooking(w http.ResponseWriter, r *http.Request) {
	p, err := s.property(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.cfg.Mailings.CancelBooking(r.Context(), p.ID, r.PathValue("bid"))
	s.answer(w, r, res, err)
}

func (s *Server) handleGetBooking(w http.ResponseWriter, r *http.Request) {
	p, err := s.property(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.cfg.Mailings.GetBooking(r.Context(), p.ID, r.PathValue("bid"))
	s.answer(w, r, res, err)
}

func (s *Server) handleListMailings(w http.ResponseWriter, r *http.Request) {
	list, err := s.cfg.Mailings.ListMailings(r.Context(), r.PathValue("pid"), r.URL.Query().Get("sending_method"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"mailings": list, "placeholders": mailings.Placeholders(),
		"warnings": s.capacityWarnings(r.Context(), r.PathValue("pid"))})
}

// capacityWarnings are the days in the coming week when a sender cannot keep up with what is
// planned. They come with the mailings as a courtesy: when they cannot be worked out (Redis
// does not answer), the mailings still come, without them.
func (s *Server) capacityWarnings(ctx context.Context, pid string) []mailings.CapacityWarning {
	rep, err := s.cfg.Mailings.Capacity(ctx, pid, 7)
	if err != nil {
		s.log(ctx).WarnContext(ctx, "capacity warnings could not be worked out", "property", pid, "error", err)
		return []mailings.CapacityWarning{}
	}
	return rep.Warnings
}

// handleCapacity answers the sends planned per sender and day against what each can send.
func (s *Server) handleCapacity(w http.ResponseWriter, r *http.Request) {
	days, err := intParam(r.URL.Query(), "days", 1, 90, 7)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rep, err := s.cfg.Mailings.Capacity(r.Context(), r.PathValue("pid"), days)
	s.answer(w, r, rep, err)
}

func (s *Server) handleGetMailing(w http.ResponseWriter, r *http.Request) {
	m, err := s.cfg.Mailings.GetMailing(r.Context(), r.PathValue("pid"), bellhop.MailingKind(r.PathValue("kind")))
	s.answer(w, r, m, err)
}

func (s *Server) handlePatchMailing(w http.ResponseWriter, r *http.Request) {
	var in mailings.MailingPatch
	if err := decodeMax(w, r, &in, maxMailingBody); err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.cfg.Mailings.PatchMailing(r.Context(), r.PathValue("pid"), bellhop.MailingKind(r.PathValue("kind")), in)
	s.answer(w, r, m, err)
}

func (s *Server) handlePreview(w http.ResponseWriter, r *http.Request) {
	days, err := intParam(r.URL.Query(), "days", 1, 90, 7)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.cfg.Mailings.Preview(r.Context(), r.PathValue("pid"), days)
	s.answer(w, r, v, err)
}

func (s *Server) handleListDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := bellhop.DeliveryFilter{
		Status: bellhop.DeliveryStatus(q.Get("status")), Kind: bellhop.MailingKind(q.Get("kind")),
		BookingID: q.Get("booking"),
	}
	var err error
	if f.Limit, err = intParam(q, "limit", 1, 1000, 0); err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, b := range []struct {
		name string
		t    *time.Time
	}{{"from", &f.PlannedFrom}, {"to", &f.PlannedTo}} {
		if v := q.Get(b.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				s.writeError(w, r, bellhop.Invalid(b.name, "must be a time such as 2026-11-21T10:00:00Z"))
				return
			}
			*b.t = t
		}
	}
	list, err := s.cfg.Mailings.Deliveries(r.Context(), r.PathValue("pid"), f)
	s.answer(w, r, map[string]any{"deliveries": list}, err)
}

func (s *Server) handleGetDelivery(w http.ResponseWriter, r *http.Request) {
	d, err := s.cfg.Mailings.GetDelivery(r.Context(), r.PathValue("pid"), r.PathValue("id"))
	s.answer(w, r, d, err)
}

func (s *Server) handleRetryDelivery(w http.ResponseWriter, r *http.Request) {
	d, err := s.cfg.Mailings.RetryDelivery(r.Context(), r.PathValue("pid"), r.PathValue("id"))
	s.answer(w, r, d, err)
}

// handleWebhook takes a provider's callback. It is authenticated by the integration's own
// secret in the URL the connector registered; anything else is 404, like an unknown path. In
// forward mode the body is queued, unchanged, for the webhook activation replaced. A body no
// parser can read is kept (size-capped) on the integration for diagnosis and acknowledged, so
// the provider does not retry it for ever.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pid, kind := r.PathValue("pid"), r.PathValue("provider")
	notFound := bellhop.Errorf(bellhop.ENotFound, "No such callback.")
	in, err := s.cfg.Connector.Integration(ctx, pid, kind)
	if err != nil {
		if bellhop.ErrorCode(err) == bellhop.EInternal {
			s.writeError(w, r, err)
		} else {
			s.writeError(w, r, notFound)
		}
		return
	}
	want, err := s.cfg.Connector.WebhookSecret(in)
	got := r.URL.Query().Get("secret")
	if err != nil || want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		s.log(ctx).WarnContext(ctx, "webhook with a wrong secret refused", "property", pid, "provider", kind)
		s.writeError(w, r, notFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		s.writeError(w, r, bellhop.Errorf(bellhop.EInvalid, "The callback body could not be read."))
		return
	}
	if in.WebhookMode == bellhop.WebhookForward && s.cfg.Relay != nil {
		if err := s.cfg.Relay.Forward(ctx, pid, kind, body, r.Header.Get("Content-Type")); err != nil {
			// Answering an error makes the provider send the callback again: nothing is lost.
			s.writeError(w, r, err)
			return
		}
	}
	events, err := s.cfg.Connector.ParseEvents(in, body)
	if err != nil {
		now := s.cfg.Clock.Now()
		if nerr := s.cfg.Connector.NoteUnreadableCallback(ctx, in, body, now); nerr != nil {
			s.log(ctx).WarnContext(ctx, "keeping an unreadable callback failed", "error", nerr)
		}
		s.log(ctx).WarnContext(ctx, "a callback could not be read; it is kept on the integration for diagnosis",
			"property", pid, "provider", kind, "bytes", len(body), "error", err)
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "read": false})
		return
	}
	changed := 0
	for _, ev := range events {
		rep, ok := mailings.ReportEvent(ev)
		if !ok {
			continue // a guest's message, or a status Bellhop does not track
		}
		ch, err := s.cfg.Mailings.Report(ctx, pid, rep)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if ch {
			changed++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "read": true, "events": len(events), "changed": changed})
}
