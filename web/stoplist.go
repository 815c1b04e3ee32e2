package web

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
)

// StopList is the properties' own stop lists (the store keeps them).
type StopList interface {
	AddStop(ctx context.Context, pid, contact, source string, now time.Time) (*bellhop.StopEntry, bool, error)
	GetStop(ctx context.Context, pid, contact string) (*bellhop.StopEntry, error)
	ListStops(ctx context.Context, pid, after string, limit int) ([]*bellhop.StopEntry, error)
	RemoveStop(ctx context.Context, pid, contact string) error
}

// Unsubscriber reads the tokens of e-mails' unsubscribe links (email.Links is one).
type Unsubscriber interface {
	Verify(token string) (pid, address string, ok bool)
}

// maxStopPage is the most entries one GET of the stop list returns.
const maxStopPage = 5000

func (s *Server) stopListRoutes(m *http.ServeMux) {
	const sl = "/api/v1/properties/{pid}/stop-list"
	m.Handle("GET "+sl, s.auth(bellhop.RoleAdmin, s.handleListStops))
	m.Handle("PUT "+sl+"/{contact}", s.auth(bellhop.RoleAdmin, s.handlePutStop))
	m.Handle("DELETE "+sl+"/{contact}", s.auth(bellhop.RoleAdmin, s.handleDeleteStop))
	// The guest's side: the link in every e-mail. GET shows a confirm button (a mail scanner
	// that follows links unsubscribes nobody); POST unsubscribes, and is the RFC 8058
	// one-click target (List-Unsubscribe-Post: List-Unsubscribe=One-Click).
	m.HandleFunc("GET /unsubscribe/{token}", s.handleUnsubscribePage)
	m.HandleFunc("POST /unsubscribe/{token}", s.handleUnsubscribe)
}

// stopListOf returns the stop lists and the path's property; ok is false when it answered
// an error (a server without stop lists, a property not found).
func (s *Server) stopListOf(w http.ResponseWriter, r *http.Request) (sl StopList, p *bellhop.Property, ok bool) {
	if s.cfg.StopList == nil {
		s.writeError(w, r, bellhop.Errorf(bellhop.ENotFound, "This server keeps no stop list."))
		return nil, nil, false
	}
	p, err := s.property(r)
	if err != nil {
		s.writeError(w, r, err)
		return nil, nil, false
	}
	return s.cfg.StopList, p, true
}

func (s *Server) handleListStops(w http.ResponseWriter, r *http.Request) {
	sl, p, ok := s.stopListOf(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	limit, err := intParam(q, "limit", 1, maxStopPage, 500)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := sl.ListStops(r.Context(), p.ID, q.Get("after"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := map[string]any{"stop_list": list}
	if len(list) == limit {
		out["next_after"] = list[len(list)-1].Contact
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handlePutStop(w http.ResponseWriter, r *http.Request) {
	sl, p, ok := s.stopListOf(w, r)
	if !ok {
		return
	}
	e, created, err := sl.AddStop(r.Context(), p.ID, r.PathValue("contact"), bellhop.StopSourceAPI, s.cfg.Clock.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, createdOrOK(created), e)
}

func (s *Server) handleDeleteStop(w http.ResponseWriter, r *http.Request) {
	sl, p, ok := s.stopListOf(w, r)
	if !ok {
		return
	}
	if err := sl.RemoveStop(r.Context(), p.ID, r.PathValue("contact")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// unsubscribeView is what the guest's page shows.
type unsubscribeView struct {
	Lang    string
	Title   string
	Hotel   string
	Address string
	Action  string // the form's target: the link itself
	Text    string
	Button  string // "" once done
}

var unsubscribeTpl = template.Must(template.ParseFS(templateFS, "templates/unsubscribe.html"))

// unsubscribeLang is the page's language: the link's hint (the guest's language when the
// e-mail was made), else the browser's, else English.
func unsubscribeLang(r *http.Request) string {
	if l := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("lang"))); l != "" {
		base, _, _ := strings.Cut(l, "-")
		base, _, _ = strings.Cut(base, "_")
		if slices.Contains(pageLangs, base) {
			return base
		}
	}
	return acceptLanguage(r.Header.Get("Accept-Language"))
}

// unsubscribeTarget reads the link's token and loads the property it names. A token that
// is changed, not ours, or names a property that is gone is not found: the page says so
// and nothing else.
func (s *Server) unsubscribeTarget(r *http.Request) (p *bellhop.Property, address string, status int) {
	if s.cfg.Unsubscribe == nil || s.cfg.StopList == nil {
		return nil, "", http.StatusNotFound
	}
	pid, address, ok := s.cfg.Unsubscribe.Verify(r.PathValue("token"))
	if !ok {
		return nil, "", http.StatusNotFound
	}
	p, err := s.cfg.Store.GetProperty(r.Context(), pid)
	switch {
	case bellhop.IsNotFound(err):
		return nil, "", http.StatusNotFound
	case err != nil:
		s.log(r.Context()).ErrorContext(r.Context(), "unsubscribe: read the property", "error", err)
		return nil, "", http.StatusServiceUnavailable
	}
	return p, address, http.StatusOK
}

func (s *Server) handleUnsubscribePage(w http.ResponseWriter, r *http.Request) {
	lang := unsubscribeLang(r)
	p, address, status := s.unsubscribeTarget(r)
	if status != http.StatusOK {
		s.unsubscribeFailed(w, r, lang, status)
		return
	}
	v := &unsubscribeView{Lang: lang, Title: tr(lang, "unsub.title"), Hotel: p.Name, Address: address, Action: r.URL.RequestURI()}
	_, err := s.cfg.StopList.GetStop(r.Context(), p.ID, address)
	switch {
	case err == nil:
		v.Text = tr(lang, "unsub.already", address, p.Name)
	case bellhop.IsNotFound(err):
		v.Text, v.Button = tr(lang, "unsub.confirm", address, p.Name), tr(lang, "unsub.button")
	default:
		s.log(r.Context()).ErrorContext(r.Context(), "unsubscribe: read the stop list", "error", err)
		s.unsubscribeFailed(w, r, lang, http.StatusServiceUnavailable)
		return
	}
	s.renderUnsubscribe(w, r, http.StatusOK, v)
}

func (s *Server) handleUnsubscribe(w http.ResponseWriter, r *http.Request) {
	lang := unsubscribeLang(r)
	p, address, status := s.unsubscribeTarget(r)
	if status != http.StatusOK {
		s.unsubscribeFailed(w, r, lang, status)
		return
	}
	if _, _, err := s.cfg.StopList.AddStop(r.Context(), p.ID, address, bellhop.StopSourceUnsubscribeLink, s.cfg.Clock.Now()); err != nil {
		if bellhop.ErrorCode(err) == bellhop.EInvalid || bellhop.IsNotFound(err) {
			s.unsubscribeFailed(w, r, lang, http.StatusNotFound)
			return
		}
		s.log(r.Context()).ErrorContext(r.Context(), "unsubscribe: add to the stop list", "property", p.ID, "error", err)
		s.unsubscribeFailed(w, r, lang, http.StatusServiceUnavailable)
		return
	}
	s.log(r.Context()).InfoContext(r.Context(), "a guest unsubscribed through an e-mail's link", "property", p.ID)
	s.renderUnsubscribe(w, r, http.StatusOK, &unsubscribeView{Lang: lang, Title: tr(lang, "unsub.title"), Hotel: p.Name,
		Address: address, Text: tr(lang, "unsub.done", address, p.Name)})
}

// unsubscribeFailed answers a link that is not one of ours (404) or a store that does not
// answer now (503, try again): a plain page, never a 500.
func (s *Server) unsubscribeFailed(w http.ResponseWriter, r *http.Request, lang string, status int) {
	key := "unsub.not_found"
	if status == http.StatusServiceUnavailable {
		key = "unsub.unavailable"
		w.Header().Set("Retry-After", retryAfter)
	}
	s.renderUnsubscribe(w, r, status, &unsubscribeView{Lang: lang, Title: tr(lang, "unsub.title"), Text: tr(lang, key)})
}

func (s *Server) renderUnsubscribe(w http.ResponseWriter, r *http.Request, status int, v *unsubscribeView) {
	var buf bytes.Buffer
	if err := unsubscribeTpl.Execute(&buf, v); err != nil {
		s.log(r.Context()).ErrorContext(r.Context(), "render the unsubscribe page", "error", err)
		http.Error(w, "Internal error rendering the page.", http.StatusInternalServerError)
		return
	}
	// The link's token names the guest's address: it goes to no other site.
	w.Header().Set("Referrer-Policy", "no-referrer")
	writePage(w, status, "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'", buf.Bytes())
}
