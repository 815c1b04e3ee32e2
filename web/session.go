package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
)

// Signing in to the pages: an admin token pasted into the form, or a one-time link made by
// `bellhop token create --link`, opens a server-side session. The browser holds only the
// session id, in an HttpOnly, SameSite=Lax cookie (Secure over https); the database holds
// only its SHA-256. Every form carries the session's CSRF token, and every POST must also
// pass the cross-origin check (Sec-Fetch-Site / Origin).

const (
	sessionCookie = "bellhop_session"
	// loginCookie carries the sign-in forms' CSRF token before there is a session
	// (double submit), so another site cannot sign a browser in to its own account.
	loginCookie = "bellhop_login"
	sessionTTL  = 12 * time.Hour
	// SignInLinkTTL is how long a sign-in link works unless its maker says otherwise.
	SignInLinkTTL = time.Hour
)

// PageStore is the storage the pages need besides Store. When Config.Store implements it, the
// Contact Center pages are served.
type PageStore interface {
	CreateSession(ctx context.Context, s *bellhop.Session) error
	SessionByHash(ctx context.Context, hash []byte, now time.Time) (*bellhop.Session, error)
	DeleteSession(ctx context.Context, hash []byte) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)
	UseSignInLink(ctx context.Context, hash []byte, now time.Time) (propertyID string, role bellhop.Role, err error)
	ListProperties(ctx context.Context) ([]*bellhop.Property, error)
}

// LinkStore keeps sign-in links.
type LinkStore interface {
	CreateSignInLink(ctx context.Context, hash []byte, propertyID string, role bellhop.Role, expiresAt time.Time) error
}

// CreateSignInLink makes a one-time sign-in link to the pages for a property (or
// bellhop.AllProperties), valid until expiresAt, and returns its URL under baseURL. Only the
// hash of its secret is stored.
func CreateSignInLink(ctx context.Context, st LinkStore, baseURL, propertyID string, role bellhop.Role, expiresAt time.Time) (string, error) {
	if role != bellhop.RoleAdmin {
		return "", fmt.Errorf("sign-in links are for property managers: the role must be %s, not %s", bellhop.RoleAdmin, role)
	}
	secret := randomToken()
	if err := st.CreateSignInLink(ctx, HashToken(secret), propertyID, role, expiresAt.UTC()); err != nil {
		return "", err
	}
	return strings.TrimRight(baseURL, "/") + "/login/" + secret, nil
}

// randomToken returns 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return base64.RawURLEncoding.EncodeToString(b)
}

// secure says whether cookies must be Secure: the request came over https, or Bellhop's
// public URL is https (TLS ends at a proxy in front).
func (p *pages) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(p.s.cfg.PublicURL, "https://")
}

// session returns the request's signed-in session, or nil.
func (p *pages) session(r *http.Request) *bellhop.Session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return nil
	}
	sess, err := p.store.SessionByHash(r.Context(), HashToken(c.Value), p.s.cfg.Clock.Now())
	if err != nil {
		if !bellhop.IsNotFound(err) {
			p.s.log(r.Context()).ErrorContext(r.Context(), "read session", "error", err)
		}
		return nil
	}
	if sess.Role != bellhop.RoleAdmin {
		return nil
	}
	return sess
}

// startSession signs the browser in: a fresh session id (never one the browser brought) and
// a fresh CSRF token. A session opened with a token (tokenID not "") ends when the token does.
func (p *pages) startSession(w http.ResponseWriter, r *http.Request, propertyID string, role bellhop.Role, actor, tokenID string) error {
	ctx := r.Context()
	now := p.s.cfg.Clock.Now().UTC()
	id := randomToken()
	sess := &bellhop.Session{Hash: HashToken(id), PropertyID: propertyID, Role: role, Actor: actor, TokenID: tokenID,
		CSRF: randomToken(), CreatedAt: now, ExpiresAt: now.Add(sessionTTL)}
	if err := p.store.CreateSession(ctx, sess); err != nil {
		return fmt.Errorf("start session: %w", err)
	}
	if n, err := p.store.DeleteExpiredSessions(ctx, now); err != nil {
		p.s.log(ctx).WarnContext(ctx, "delete expired sessions", "error", err)
	} else if n > 0 {
		p.s.log(ctx).DebugContext(ctx, "expired sessions deleted", "count", n)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: p.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: int(sessionTTL.Seconds())})
	// The sign-in form's token has done its job.
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/login", MaxAge: -1, HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode})
	p.s.log(ctx).InfoContext(ctx, "signed in to the pages", "property", propertyID, "actor", actor)
	return nil
}

// loginToken returns the sign-in forms' CSRF token, setting its cookie when the browser has none.
func (p *pages) loginToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/login", HttpOnly: true, Secure: p.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: int(time.Hour.Seconds())})
	return tok
}

// checkLogin checks a sign-in form: same origin, and the token of its cookie.
func (p *pages) checkLogin(w http.ResponseWriter, r *http.Request) bool {
	if p.cop.Check(r) != nil {
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	c, err := r.Cookie(loginCookie)
	return err == nil && c.Value != "" && equal(c.Value, r.PostFormValue("login_csrf"))
}

// checkForm checks a signed-in POST: same origin, and the session's CSRF token in the form
// (or, for the page's own fetches, the X-CSRF-Token header).
func (p *pages) checkForm(w http.ResponseWriter, r *http.Request, sess *bellhop.Session) bool {
	if err := p.cop.Check(r); err != nil {
		p.s.log(r.Context()).WarnContext(r.Context(), "cross-origin form refused", "error", err)
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && equal(got, sess.CSRF)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (p *pages) home(w http.ResponseWriter, r *http.Request) {
	sess := p.session(r)
	if sess == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if sess.PropertyID != bellhop.AllProperties {
		http.Redirect(w, r, "/p/"+sess.PropertyID, http.StatusSeeOther)
		return
	}
	v := p.newView(r, "title.properties")
	v.Session, v.CSRF, v.AllProperties = sess, sess.CSRF, true
	list, err := p.store.ListProperties(r.Context())
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	v.Data = list
	p.render(w, r, http.StatusOK, "properties", v)
}

type loginData struct {
	LoginCSRF, Next, Error, Action string
}

func (p *pages) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if p.session(r) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	v := p.newView(r, "title.login")
	v.Data = loginData{LoginCSRF: p.loginToken(w, r), Next: next}
	if r.URL.Query().Has("expired") {
		v.Data = loginData{LoginCSRF: p.loginToken(w, r), Next: next, Error: tr(v.Lang, "login.expired")}
	}
	p.render(w, r, http.StatusOK, "login", v)
}

func (p *pages) loginWithToken(w http.ResponseWriter, r *http.Request) {
	v := p.newView(r, "title.login")
	next := "/"
	again := func(status int, msg string) {
		v.Data = loginData{LoginCSRF: p.loginToken(w, r), Next: next, Error: msg}
		p.render(w, r, status, "login", v)
	}
	if !p.checkLogin(w, r) {
		again(http.StatusForbidden, tr(v.Lang, "login.refused"))
		return
	}
	next = safeNext(r.PostFormValue("next"))
	raw := strings.TrimSpace(r.PostFormValue("token"))
	tok, err := p.s.cfg.Store.TokenByHash(r.Context(), HashToken(raw))
	switch {
	case raw == "" || bellhop.IsNotFound(err):
		again(http.StatusUnauthorized, tr(v.Lang, "login.bad_token"))
		return
	case err != nil:
		p.fail(w, r, v, err)
		return
	case tok.Role != bellhop.RoleAdmin:
		again(http.StatusForbidden, tr(v.Lang, "login.not_admin", tok.Role))
		return
	}
	if err := p.s.usable(r.Context(), tok, p.s.cfg.Clock.Now()); err != nil {
		again(http.StatusUnauthorized, p.errText(r, v, err))
		return
	}
	if err := p.startSession(w, r, tok.PropertyID, tok.Role, "token:"+tok.ID, tok.ID); err != nil {
		p.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// linkPage asks before spending a sign-in link: link previews and mail scanners open links
// with GET, and must not use up the manager's one sign-in.
func (p *pages) linkPage(w http.ResponseWriter, r *http.Request) {
	v := p.newView(r, "title.link")
	v.Data = loginData{LoginCSRF: p.loginToken(w, r), Action: "/login/" + r.PathValue("link")}
	w.Header().Set("Referrer-Policy", "no-referrer")
	p.render(w, r, http.StatusOK, "link", v)
}

func (p *pages) loginWithLink(w http.ResponseWriter, r *http.Request) {
	v := p.newView(r, "title.link")
	w.Header().Set("Referrer-Policy", "no-referrer")
	refuse := func(status int, msg string) {
		v.Data = loginData{LoginCSRF: p.loginToken(w, r), Action: "/login/" + r.PathValue("link"), Error: msg}
		p.render(w, r, status, "link", v)
	}
	if !p.checkLogin(w, r) {
		refuse(http.StatusForbidden, tr(v.Lang, "login.refused"))
		return
	}
	pid, role, err := p.store.UseSignInLink(r.Context(), HashToken(r.PathValue("link")), p.s.cfg.Clock.Now())
	switch {
	case bellhop.IsNotFound(err):
		refuse(http.StatusNotFound, tr(v.Lang, "link.bad"))
		return
	case err != nil:
		p.fail(w, r, v, err)
		return
	case role != bellhop.RoleAdmin:
		refuse(http.StatusForbidden, tr(v.Lang, "login.not_admin", role))
		return
	}
	if err := p.startSession(w, r, pid, role, "link", ""); err != nil {
		p.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (p *pages) logout(w http.ResponseWriter, r *http.Request) {
	sess := p.session(r)
	if sess != nil {
		if !p.checkForm(w, r, sess) {
			p.refuse(w, r, p.newView(r, "title.forbidden"), http.StatusForbidden, "message.csrf")
			return
		}
		c, _ := r.Cookie(sessionCookie)
		if err := p.store.DeleteSession(r.Context(), HashToken(c.Value)); err != nil {
			p.fail(w, r, p.newView(r, "title.error"), err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// setLang is the language switcher: it remembers the choice in a cookie and goes back.
func (p *pages) setLang(w http.ResponseWriter, r *http.Request) {
	lang := r.PathValue("lang")
	if _, ok := catalog[lang]; ok {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
}
