package web

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/connector"
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
	res, err := s.cfg.Mailings.PutPropertyBooking(r.Context(), p, in.Booking(r.PathValue("bid")))
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
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeDeliveries(w, list)
}

func (s *Server) handleGetDelivery(w http.ResponseWriter, r *http.Request) {
	d, err := s.cfg.Mailings.GetDelivery(r.Context(), r.PathValue("pid"), r.PathValue("id"))
	s.answer(w, r, d, err)
}

func (s *Server) handleRetryDelivery(w http.ResponseWriter, r *http.Request) {
	d, err := s.cfg.Mailings.RetryDelivery(r.Context(), r.PathValue("pid"), r.PathValue("id"))
	s.answer(w, r, d, err)
}

// handleWebhook takes a provider's callback: the connector authenticates it the kind's way
// and acts on it. A GET is a subscription check, answered with its challenge as plain text.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		s.writeError(w, r, bellhop.Errorf(bellhop.EInvalid, "The callback body could not be read."))
		return
	}
	res, err := s.cfg.Connector.HandleCallback(r.Context(), r.PathValue("pid"), r.PathValue("provider"),
		connector.Callback{Method: r.Method, Header: r.Header, Query: r.URL.Query(), Body: body})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, res.Challenge)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "read": res.Read, "events": res.Events, "changed": res.Changed})
}
