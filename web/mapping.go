package web

import (
	"net/http"
	"strings"

	"github.com/bellhop/bellhop"
)

func (s *Server) handleListOperators(w http.ResponseWriter, r *http.Request) {
	v, err := s.cfg.Mapping.Operators(r.Context(), r.PathValue("pid"))
	s.answer(w, r, v, err)
}

func (s *Server) handleListMapping(w http.ResponseWriter, r *http.Request) {
	p, err := s.property(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.cfg.Mapping.List(r.Context(), p.ID)
	s.answer(w, r, v, err)
}

type linkInput struct {
	OperatorID string `json:"operator_id"`
}

func (s *Server) handlePutMapping(w http.ResponseWriter, r *http.Request) {
	var in linkInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.property(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.cfg.Mapping.Link(r.Context(), p.ID, r.PathValue("sid"), strings.TrimSpace(in.OperatorID), actor(r))
	s.answer(w, r, v, err)
}

func (s *Server) handleDeleteMapping(w http.ResponseWriter, r *http.Request) {
	p, err := s.property(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Mapping.Unlink(r.Context(), p.ID, r.PathValue("sid"), actor(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleMappingChanges(w http.ResponseWriter, r *http.Request) {
	p, err := s.property(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	limit, err := intParam(q, "limit", 1, 500, 0)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.cfg.Mapping.Changes(r.Context(), p.ID, q.Get("staff_id"), limit)
	s.answer(w, r, map[string]any{"changes": list}, err)
}

type chatSessionInput struct {
	StaffID string `json:"staff_id"`
}

func (s *Server) handleOpenChat(w http.ResponseWriter, r *http.Request) {
	var in chatSessionInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if strings.TrimSpace(in.StaffID) == "" {
		s.writeError(w, r, bellhop.Invalid("staff_id", "is required"))
		return
	}
	p, err := s.property(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.cfg.Mapping.OpenChat(r.Context(), p.ID, strings.TrimSpace(in.StaffID))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, v)
}

// actor says who made a change, for audit trails.
func actor(r *http.Request) string {
	if t := tokenOf(r.Context()); t != nil {
		return "token:" + t.ID
	}
	return "unknown"
}
