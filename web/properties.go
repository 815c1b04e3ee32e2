package web

import (
	"net/http"
	"strings"

	"github.com/bellhop/bellhop"
)

// property loads the path's property; missing and foreign properties read alike.
func (s *Server) property(r *http.Request) (*bellhop.Property, error) {
	pid := r.PathValue("pid")
	if p, ok := r.Context().Value(propertyKey{}).(*bellhop.Property); ok && p.ID == pid {
		return p, nil // read with the request's token
	}
	p, err := s.cfg.Store.GetProperty(r.Context(), pid)
	if bellhop.IsNotFound(err) {
		return nil, propertyNotFound(pid)
	}
	return p, err
}

type propertyInput struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	TimeZone      string `json:"time_zone"`
	Country       string `json:"country"`
	Language      string `json:"language"`
	ContactCenter bool   `json:"contact_center"`
}

func (s *Server) handleCreateProperty(w http.ResponseWriter, r *http.Request) {
	if tokenOf(r.Context()).PropertyID != bellhop.AllProperties {
		s.writeError(w, r, bellhop.Errorf(bellhop.EForbidden, "Only a service token for all properties ('*') can create properties."))
		return
	}
	var in propertyInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.cfg.Clock.Now().UTC()
	p := &bellhop.Property{
		ID: strings.TrimSpace(in.ID), Name: strings.TrimSpace(in.Name), TimeZone: strings.TrimSpace(in.TimeZone),
		Country: strings.ToUpper(strings.TrimSpace(in.Country)), Language: strings.TrimSpace(in.Language),
		ContactCenter: in.ContactCenter, CreatedAt: now, UpdatedAt: now,
	}
	if p.Language == "" {
		p.Language = "en"
	}
	if err := bellhop.Validate(p); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Store.CreateProperty(r.Context(), p); err != nil {
		if bellhop.ErrorCode(err) == bellhop.EConflict {
			err = bellhop.Errorf(bellhop.EConflict, "Property %q already exists; change it with PATCH.", p.ID)
		}
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/properties/"+p.ID)
	writeJSON(w, http.StatusCreated, p)
}

func (s *Server) handleGetProperty(w http.ResponseWriter, r *http.Request) {
	p, err := s.property(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

type propertyPatch struct {
	Name          *string `json:"name"`
	TimeZone      *string `json:"time_zone"`
	Country       *string `json:"country"`
	Language      *string `json:"language"`
	ContactCenter *bool   `json:"contact_center"`
}

func (s *Server) handlePatchProperty(w http.ResponseWriter, r *http.Request) {
	var in propertyPatch
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.property(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Name != nil {
		p.Name = strings.TrimSpace(*in.Name)
	}
	if in.TimeZone != nil {
		p.TimeZone = strings.TrimSpace(*in.TimeZone)
	}
	if in.Country != nil {
		p.Country = strings.ToUpper(strings.TrimSpace(*in.Country))
	}
	if in.Language != nil {
		p.Language = strings.TrimSpace(*in.Language)
	}
	if in.ContactCenter != nil {
		p.ContactCenter = *in.ContactCenter
	}
	p.UpdatedAt = s.cfg.Clock.Now().UTC()
	if err := bellhop.Validate(p); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Store.UpdateProperty(r.Context(), p); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

type staffInput struct {
	Name   string `json:"name"`
	Email  string `json:"email"`
	Active *bool  `json:"active"`
}

func (s *Server) handlePutStaff(w http.ResponseWriter, r *http.Request) {
	var in staffInput
	if err := decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.property(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.cfg.Clock.Now().UTC()
	st := &bellhop.Staff{
		ID: r.PathValue("sid"), PropertyID: p.ID, Name: strings.TrimSpace(in.Name),
		Email: strings.TrimSpace(in.Email), Active: in.Active == nil || *in.Active,
		CreatedAt: now, UpdatedAt: now,
	}
	if err := bellhop.Validate(st); err != nil {
		s.writeError(w, r, err)
		return
	}
	created, err := s.cfg.Store.UpsertStaff(r.Context(), st)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, createdOrOK(created), st)
}

// createdOrOK is a PUT's status: 201 when it created the resource, else 200.
func createdOrOK(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func (s *Server) handleGetStaff(w http.ResponseWriter, r *http.Request) {
	p, err := s.property(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.cfg.Store.GetStaff(r.Context(), p.ID, r.PathValue("sid"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) handleListStaff(w http.ResponseWriter, r *http.Request) {
	p, err := s.property(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.cfg.Store.ListStaff(r.Context(), p.ID, r.URL.Query().Get("active") == "true")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if list == nil {
		list = []*bellhop.Staff{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"staff": list})
}

func (s *Server) handleDeleteStaff(w http.ResponseWriter, r *http.Request) {
	p, err := s.property(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Store.DeleteStaff(r.Context(), p.ID, r.PathValue("sid")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
