package web

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"

	"github.com/bellhop/bellhop"
)

type tokenKey struct{}

// HashToken is how tokens are kept at rest: SHA-256 of the bearer string. Tokens carry 256 bits
// of randomness, so a fast hash is enough.
func HashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// auth authenticates the bearer token, checks the role (empty: any role) and, when the path
// names a property, that the token reaches it — another property's ids answer 404 exactly as
// ids that do not exist, so a token learns nothing about other tenants.
func (s *Server) auth(role bellhop.Role, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		raw = strings.TrimSpace(raw)
		if !ok || raw == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bellhop"`)
			s.writeError(w, r, bellhop.Errorf(bellhop.EUnauthorized, "Send a token as Authorization: Bearer <token>; `bellhop token create` makes one."))
			return
		}
		tok, err := s.cfg.Store.TokenByHash(r.Context(), HashToken(raw))
		if bellhop.IsNotFound(err) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bellhop", error="invalid_token"`)
			s.writeError(w, r, bellhop.Errorf(bellhop.EUnauthorized, "The token is not valid."))
			return
		} else if err != nil {
			s.writeError(w, r, err)
			return
		}
		if pid := r.PathValue("pid"); pid != "" && !tok.Reaches(pid) {
			s.writeError(w, r, propertyNotFound(pid))
			return
		}
		if role != "" && tok.Role != role {
			s.writeError(w, r, bellhop.Errorf(bellhop.EForbidden, "A %s token cannot do this; it needs a %s token.", tok.Role, role))
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok)))
	})
}

func tokenOf(ctx context.Context) *bellhop.Token {
	t, _ := ctx.Value(tokenKey{}).(*bellhop.Token)
	return t
}

func propertyNotFound(pid string) error {
	return bellhop.Errorf(bellhop.ENotFound, "Property %q not found.", pid)
}
