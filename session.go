package bellhop

import "time"

// Session is a signed-in browser on the property manager's pages. Only the SHA-256 of the
// session id (the cookie's value) is stored, so a copy of the database signs no one in.
type Session struct {
	Hash []byte `json:"-"`
	// PropertyID is the property the session reaches, or AllProperties.
	PropertyID string `json:"property_id"`
	Role       Role   `json:"role"`
	// Actor says who signed in, for audit trails: "token:<id>" or "link".
	Actor string `json:"actor"`
	// TokenID is the token the session was opened with ("" for a sign-in link): revoking
	// it, its expiry or its removal ends the session.
	TokenID string `json:"token_id,omitempty"`
	// CSRF is the token every form of the session carries.
	CSRF      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Reaches reports whether the session may act on property pid.
func (s *Session) Reaches(pid string) bool {
	return s.PropertyID == AllProperties || s.PropertyID == pid
}
