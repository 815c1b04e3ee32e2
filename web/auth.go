package web

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
)

type tokenKey struct{}

// propertyKey holds the path's property when the auth middleware read it with the token.
type propertyKey struct{}

// tokenPropertyReader reads a token and a property in one statement (the store does).
type tokenPropertyReader interface {
	TokenAndProperty(ctx context.Context, hash []byte, pid string) (*bellhop.Token, *bellhop.Property, error)
}

// HashToken is how tokens are kept at rest: SHA-256 of the bearer string. Tokens carry 256 bits
// of randomness, so a fast hash is enough.
func HashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// bearer reads the token of an Authorization header. The scheme is case-insensitive
// (RFC 7235 §2.1): "Bearer", "bearer" and "BEARER" all work.
func bearer(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// tokenUseEvery is how often a token's last use is recorded; the store also refuses to write
// more often, this only spares it the question.
const tokenUseEvery = time.Minute

// usable checks that a token still works at now and records its use. A revoked or expired
// token is unauthorized, with a message saying which.
func (s *Server) usable(ctx context.Context, tok *bellhop.Token, now time.Time) error {
	switch {
	case tok.RevokedAt != nil:
		return bellhop.Errorf(bellhop.EUnauthorized, "This token was revoked on %s; ask for a new one (`bellhop token create`).",
			tok.RevokedAt.UTC().Format("2006-01-02 15:04 MST"))
	case !tok.Works(now):
		return bellhop.Errorf(bellhop.EUnauthorized, "This token expired on %s; ask for a new one (`bellhop token create`).",
			tok.ExpiresAt.UTC().Format("2006-01-02 15:04 MST"))
	}
	if tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) >= tokenUseEvery {
		if err := s.cfg.Store.TouchToken(ctx, tok.ID, now); err != nil {
			// The request goes on: the last use is for people, not for access.
			s.log(ctx).WarnContext(ctx, "record token use", "token", tok.ID, "error", err)
		}
	}
	return nil
}

// auth authenticates the bearer token, checks the role (empty: any role) and, when the path
// names a property, that the token reaches it — another property's ids answer 404 exactly as
// ids that do not exist, so a token learns nothing about other tenants.
func (s *Server) auth(role bellhop.Role, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bellhop"`)
			s.writeError(w, r, bellhop.Errorf(bellhop.EUnauthorized, "Send a token as Authorization: Bearer <token>; `bellhop token create` makes one."))
			return
		}
		// A store that can reads the path's property with the token, in the same statement:
		// one round trip fewer for every request that names a property.
		pid := r.PathValue("pid")
		var tok *bellhop.Token
		var prop *bellhop.Property
		var err error
		if tp, ok := s.cfg.Store.(tokenPropertyReader); ok && pid != "" {
			tok, prop, err = tp.TokenAndProperty(r.Context(), HashToken(raw), pid)
		} else {
			tok, err = s.cfg.Store.TokenByHash(r.Context(), HashToken(raw))
		}
		if bellhop.IsNotFound(err) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bellhop", error="invalid_token"`)
			s.writeError(w, r, bellhop.Errorf(bellhop.EUnauthorized, "The token is not valid."))
			return
		} else if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := s.usable(r.Context(), tok, s.cfg.Clock.Now()); err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bellhop", error="invalid_token"`)
			s.writeError(w, r, err)
			return
		}
		if pid != "" && !tok.Reaches(pid) {
			s.writeError(w, r, propertyNotFound(pid))
			return
		}
		if role != "" && tok.Role != role {
			s.writeError(w, r, bellhop.Errorf(bellhop.EForbidden, "A %s token cannot do this; it needs a %s token.", tok.Role, role))
			return
		}
		ctx := context.WithValue(r.Context(), tokenKey{}, tok)
		if prop != nil {
			ctx = context.WithValue(ctx, propertyKey{}, prop)
		}
		next(w, r.WithContext(ctx))
	})
}

func tokenOf(ctx context.Context) *bellhop.Token {
	t, _ := ctx.Value(tokenKey{}).(*bellhop.Token)
	return t
}

func propertyNotFound(pid string) error {
	return bellhop.Errorf(bellhop.ENotFound, "Property %q not found.", pid)
}
