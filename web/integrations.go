package web

import (
	"bytes"
	"io"
	"net/http"

	"github.com/bellhop/bellhop/connector"
)

func (s *Server) handleGetIntegration(w http.ResponseWriter, r *http.Request) {
	v, err := s.cfg.Connector.Get(r.Context(), r.PathValue("pid"), r.PathValue("provider"))
	s.answer(w, r, v, err)
}

// handleListIntegrations shows every channel kind: its state for this property, what it can
// do, its pacing profile and the fields it takes (secrets as hints only).
func (s *Server) handleListIntegrations(w http.ResponseWriter, r *http.Request) {
	list, err := s.cfg.Connector.List(r.Context(), r.PathValue("pid"))
	s.answer(w, r, map[string]any{"integrations": list}, err)
}

// handlePutIntegration takes the kind's credentials and settings (its Fields).
func (s *Server) handlePutIntegration(w http.ResponseWriter, r *http.Request) {
	var in connector.CredentialsInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.cfg.Connector.SetCredentials(r.Context(), r.PathValue("pid"), r.PathValue("provider"), in)
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

// handleActivate switches an integration on; the optional body says what to do with a webhook
// another system installed on the provider account ({replace_webhook} or {forward_to_existing}).
func (s *Server) handleActivate(w http.ResponseWriter, r *http.Request) {
	var opts connector.ActivateOptions
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		s.writeError(w, r, decodeError(err))
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := decode(w, r, &opts); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	v, err := s.cfg.Connector.Activate(r.Context(), r.PathValue("pid"), r.PathValue("provider"), opts)
	s.answer(w, r, v, err)
}

// handleTemplates lists the chosen sender's message templates (official WhatsApp senders).
func (s *Server) handleTemplates(w http.ResponseWriter, r *http.Request) {
	v, err := s.cfg.Connector.Templates(r.Context(), r.PathValue("pid"), r.PathValue("provider"))
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
