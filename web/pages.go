package web

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bellhop/bellhop"
)

// The property manager's Contact Center pages: server-rendered html/template with plain forms
// (POST, then redirect), and a little script on top. They call the same services as the API,
// so every rule and every message is the services' own.

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages serves the Contact Center pages.
type pages struct {
	s     *Server
	store PageStore
	tpl   map[string]*template.Template
	cop   *http.CrossOriginProtection
}

// pageRoutes adds the pages when the store keeps sessions and the services are wired.
func (s *Server) pageRoutes(m *http.ServeMux) {
	ps, ok := s.cfg.Store.(PageStore)
	if !ok || s.cfg.Connector == nil || s.cfg.Mapping == nil || s.cfg.Mailings == nil {
		s.cfg.Logger.Warn("the Contact Center pages are off: the store keeps no sessions or a service is missing")
		return
	}
	p := &pages{s: s, store: ps, tpl: parsePages(), cop: http.NewCrossOriginProtection()}
	if u, err := url.Parse(s.cfg.PublicURL); err == nil && u.Host != "" {
		// Behind a proxy the Host header may differ from the public one.
		if err := p.cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			s.cfg.Logger.Warn("public URL not trusted as an origin", "url", s.cfg.PublicURL, "error", err)
		}
	}
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	m.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	}))

	m.HandleFunc("GET /{$}", p.home)
	m.HandleFunc("GET /login", p.loginPage)
	m.HandleFunc("POST /login", p.loginWithToken)
	m.HandleFunc("GET /login/{link}", p.linkPage)
	m.HandleFunc("POST /login/{link}", p.loginWithLink)
	m.HandleFunc("POST /logout", p.logout)
	m.HandleFunc("GET /lang/{lang}", p.setLang)

	const pp = "/p/{pid}"
	m.Handle("GET "+pp, p.guard(p.channelsPage))
	m.Handle("POST "+pp+"/integrations/{provider}", p.guard(p.saveIntegration))
	m.Handle("POST "+pp+"/integrations/{provider}/active", p.guard(p.switchIntegration))
	m.Handle("POST "+pp+"/integrations/{provider}/pacer/resume", p.guard(p.resumeSender))
	m.Handle("POST "+pp+"/integrations/{provider}/pacer", p.guard(p.shareSenderPace))
	m.Handle("GET "+pp+"/users", p.guard(p.usersPage))
	m.Handle("POST "+pp+"/users/{sid}", p.guard(p.linkUser))
	m.Handle("GET "+pp+"/mailings", p.guard(p.mailingsPage))
	m.Handle("POST "+pp+"/mailings/{kind}", p.guard(p.saveMailing))
	m.Handle("POST "+pp+"/mailings/{kind}/enabled", p.guard(p.switchMailing))
	m.Handle("POST "+pp+"/mailings/{kind}/preview", p.guard(p.previewTemplate))
	m.Handle("POST "+pp+"/mailings/{kind}/wa-preview", p.guard(p.previewWATemplate))
	m.Handle("GET "+pp+"/deliveries", p.guard(p.deliveriesPage))
	m.Handle("POST "+pp+"/deliveries/{id}/retry", p.guard(p.retryDelivery))
	m.Handle("GET "+pp+"/upcoming", p.guard(p.upcomingPage))
}

// view is what every page template gets; Data is the page's own.
type view struct {
	Lang          string
	Title         string
	Tab, Sub      string
	CSRF          string
	Session       *bellhop.Session
	Property      *bellhop.Property
	AllProperties bool
	Flash         *flash
	Langs         []langOption
	Data          any
}

func (p *pages) newView(r *http.Request, titleKey string) *view {
	lang := pageLang(r)
	return &view{Lang: lang, Title: tr(lang, titleKey), Langs: langOptions(lang, r.URL.RequestURI())}
}

func (v *view) setTitle(key string) { v.Title = tr(v.Lang, key) }

// location is the property's time zone, in which the pages show times.
func (v *view) location() *time.Location {
	if v.Property != nil {
		return v.Property.Location()
	}
	return time.UTC
}

var pageFuncs = template.FuncMap{
	"t": func(v *view, key string, args ...any) string { return tr(v.Lang, key, args...) },
	"when": func(v *view, t any) string {
		var tm time.Time
		switch x := t.(type) {
		case time.Time:
			tm = x
		case *time.Time:
			if x == nil {
				return "—"
			}
			tm = *x
		}
		if tm.IsZero() {
			return "—"
		}
		return tm.In(v.location()).Format("2006-01-02 15:04")
	},
	// reason shows a stored reason ("too_late", "provider_failed: …") in words.
	"reason": func(v *view, reason string) string {
		code, detail, _ := strings.Cut(reason, ":")
		if msg, ok := catalog[v.Lang]["reason."+code]; ok {
			return msg
		}
		if detail != "" {
			return code + ":" + detail
		}
		return reason
	},
}

// parsePages parses each page together with the layout; a broken template fails at start.
func parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"login", "link", "properties", "message", "channels", "users", "mailings", "deliveries", "upcoming"} {
		files := []string{"templates/layout.html", "templates/subtabs.html", "templates/" + name + ".html"}
		out[name] = template.Must(template.New("layout").Funcs(pageFuncs).ParseFS(templateFS, files...))
	}
	return out
}

// render writes a page. It renders into a buffer first, so a failing template answers 500
// instead of half a page.
func (p *pages) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	var buf bytes.Buffer
	if err := p.tpl[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		p.s.log(r.Context()).ErrorContext(r.Context(), "render page", "page", name, "error", err)
		http.Error(w, "Internal error rendering the page.", http.StatusInternalServerError)
		return
	}
	writePage(w, status, "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'", buf.Bytes())
}

// writePage writes a rendered HTML page with the pages' security headers and the given
// Content-Security-Policy; a Referrer-Policy already set stays (default same-origin).
func writePage(w http.ResponseWriter, status int, csp string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	if h.Get("Referrer-Policy") == "" {
		h.Set("Referrer-Policy", "same-origin")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// pageHandler is a page of one property, for a signed-in session that reaches it.
type pageHandler func(w http.ResponseWriter, r *http.Request, v *view)

// guard signs the request in, checks the form of a POST, and loads the path's property; a
// property the session does not reach is not found, exactly like one that does not exist.
func (p *pages) guard(next pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := p.newView(r, "title.integration")
		sess := p.session(r)
		if sess == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			p.refuse(w, r, v, http.StatusUnauthorized, "login.expired")
			return
		}
		v.Session, v.CSRF, v.AllProperties = sess, sess.CSRF, sess.PropertyID == bellhop.AllProperties
		if r.Method != http.MethodGet && !p.checkForm(w, r, sess) {
			p.refuse(w, r, v, http.StatusForbidden, "message.csrf")
			return
		}
		pid := r.PathValue("pid")
		if !sess.Reaches(pid) {
			p.refuse(w, r, v, http.StatusNotFound, "message.not_found")
			return
		}
		prop, err := p.s.cfg.Store.GetProperty(r.Context(), pid)
		if bellhop.IsNotFound(err) {
			p.refuse(w, r, v, http.StatusNotFound, "message.not_found")
			return
		} else if err != nil {
			p.fail(w, r, v, err)
			return
		}
		v.Property = prop
		if r.Method == http.MethodGet {
			v.Flash = takeFlash(w, r)
		}
		next(w, r, v)
	})
}

// wantsJSON tells the page's own fetches from form posts.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// refuse answers with a message page (or JSON to the page's fetches).
func (p *pages) refuse(w http.ResponseWriter, r *http.Request, v *view, status int, key string) {
	msg := tr(v.Lang, key)
	if wantsJSON(r) {
		writeJSON(w, status, map[string]any{"ok": false, "message": msg})
		return
	}
	switch status {
	case http.StatusNotFound:
		v.setTitle("title.not_found")
	case http.StatusForbidden, http.StatusUnauthorized:
		v.setTitle("title.forbidden")
	default:
		v.setTitle("title.error")
	}
	v.Property, v.Tab = nil, ""
	v.Data = msg
	p.render(w, r, status, "message", v)
}

// fail answers an internal error: logged in full, shown as a generic message.
func (p *pages) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	if bellhop.ErrorCode(err) == bellhop.EUnavailable {
		// The database is briefly out of reach: say so, and when to come back.
		p.s.log(r.Context()).WarnContext(r.Context(), "page unavailable", "path", r.URL.Path, "error", err)
		w.Header().Set("Retry-After", retryAfter)
		p.refuse(w, r, v, http.StatusServiceUnavailable, "message.unavailable")
		return
	}
	p.s.log(r.Context()).ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "error", err)
	p.refuse(w, r, v, http.StatusInternalServerError, "message.internal")
}

// errText is a service error in plain words for the page: the service's message in the page's
// language (serviceText), after a headline in that language when it is not English. Internal errors are logged and
// shown as a generic message.
func (p *pages) errText(r *http.Request, v *view, err error) string {
	code := bellhop.ErrorCode(err)
	if code == bellhop.EInternal {
		p.s.log(r.Context()).ErrorContext(r.Context(), "page action failed", "path", r.URL.Path, "error", err)
		return tr(v.Lang, "message.internal")
	}
	msg := serviceText(v.Lang, err)
	if v.Lang != "en" {
		if h, ok := catalog[v.Lang]["code."+code]; ok {
			msg = h + " " + msg
		}
	}
	return msg
}

// isInternal tells errors a page cannot explain from those it shows in place.
func isInternal(err error) bool {
	code := bellhop.ErrorCode(err)
	return code == bellhop.EInternal || code == bellhop.EUnavailable
}

// flash is the outcome of a form, shown once on the page the form redirects to.
type flash struct {
	Kind string `json:"k"` // ok | error | warning
	Msg  string `json:"m"`
}

const flashCookie = "bellhop_flash"

func (p *pages) setFlash(w http.ResponseWriter, r *http.Request, kind, msg string) {
	// A cookie holds about 4 KB; messages are far shorter, but a pasted template may not be.
	for len(msg) > 2000 {
		_, size := utf8.DecodeLastRuneInString(msg)
		msg = msg[:len(msg)-size]
	}
	b, _ := json.Marshal(flash{Kind: kind, Msg: msg})
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: "/",
		MaxAge: 60, HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode})
}

func takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	var f flash
	if err != nil || json.Unmarshal(b, &f) != nil || f.Msg == "" {
		return nil
	}
	switch f.Kind {
	case "ok", "error", "warning":
	default:
		f.Kind = "ok"
	}
	return &f
}

// done ends a form post: the outcome goes in a flash, the browser back to the page.
func (p *pages) done(w http.ResponseWriter, r *http.Request, kind, msg, to string) {
	p.setFlash(w, r, kind, msg)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// option is one entry of a select.
type option struct {
	Value, Label string
	Selected     bool
}
