package web

import (
	"net/http"

	"github.com/bellhop/bellhop/connector"
)

func (s *Server) handleGetIntegration(w http.ResponseWriter, r *http.Request) {
	v, err := s.cfg.Connector.Get(r.Context(), r.PathValue("pid"), r.PathValue("provider"))
	s.answer(w, r, v, err)
}

func (s *Server) handlePutIntegration(w http.ResponseWriter, r *http.Request) {
	var in connector.KeyInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.cfg.Connector.SetKey(r.Context(), r.PathValue("pid"), r.PathValue("provider"), in)
	s.answer(w, r, v, err)
}

func (s *Server) handleCheckIntegration(w http.ResponseWriter, r *http.Request) {
	v, err := s.cfg.Connector.Check(r.Context(), r.PathValue("pid"), r.PathValue("provider"))
	s.answer(w, r, v, err)
}

func (s *Server) handleListSenders(w http.ResponseWriter, r *http.Request) {
	v, err := s.cfg.Connector.Senders(r.Context(), r.PathValue("pid"), r.PathValue("provider"))
	s.answer(w, r, v, err)
}

func (s *Server) handlePutSender(w http.ResponseWriter, r *http.Request) {
	var in connector.SenderInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.cfg.Connector.ChooseSender(r.Context(), r.PathValue("pid"), r.PathValue("provider"), in)
	s.answer(w, r, v, err)
}

func (s *Server) handleActivate(w http.ResponseWriter, r *http.Request) {
	v, err := s.cfg.Connector.Activate(r.Context(), r.PathValue("pid"), r.PathValue("provider"))
	s.answer(w, r, v, err)
}

func (s *Server) handleDeactivate(w http.ResponseWriter, r *http.Request) {
	v, err := s.cfg.Connector.Deactivate(r.Context(), r.PathValue("pid"), r.PathValue("provider"))
	s.answer(w, r, v, err)
}

// answer writes v as 200 JSON, or the error.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
