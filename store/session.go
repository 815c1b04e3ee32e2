package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bellhop/bellhop"
)

// CreateSession stores a signed-in browser by the hash of its session id, with the token it
// was opened with (if any). A property that does not exist is not found.
func (a *access) CreateSession(ctx context.Context, s *bellhop.Session) error {
	s.CreatedAt, s.ExpiresAt = dbTime(s.CreatedAt), dbTime(s.ExpiresAt)
	_, err := a.exec(ctx, "create-session", s.Hash, scope(s.PropertyID), string(s.Role), s.Actor, s.CSRF,
		toMicros(s.CreatedAt), toMicros(s.ExpiresAt), sql.NullString{String: s.TokenID, Valid: s.TokenID != ""})
	switch {
	case isUniqueViolation(err):
		return bellhop.Errorf(bellhop.EConflict, "session already exists")
	case isForeignKeyViolation(err):
		return propertyNotFound(s.PropertyID)
	case err != nil:
		return fmt.Errorf("create session for property %q: %w", s.PropertyID, err)
	}
	return nil
}

// SessionByHash finds the session whose id hashes to hash and that has not expired by now; a
// session opened with a token also needs the token to work (not revoked, expired or removed).
// An unknown session and one that ended are not found alike.
func (a *access) SessionByHash(ctx context.Context, hash []byte, now time.Time) (*bellhop.Session, error) {
	var s bellhop.Session
	var pid, tokenID sql.NullString
	var role string
	var created, expires int64
	err := a.queryRow(ctx, "session-by-hash", hash, toMicros(now), toMicros(now)).Scan(&s.Hash, &pid, &role, &s.Actor, &s.CSRF, &created, &expires, &tokenID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bellhop.Errorf(bellhop.ENotFound, "session not found or expired")
	}
	if err != nil {
		return nil, fmt.Errorf("find session: %w", err)
	}
	s.PropertyID, s.Role, s.TokenID = fromScope(pid), bellhop.Role(role), tokenID.String
	s.CreatedAt, s.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &s, nil
}

// DeleteSession signs a browser out; an unknown session is left as it is.
func (a *access) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := a.exec(ctx, "delete-session", hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes the sessions that expired by now and says how many.
func (a *access) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := a.exec(ctx, "delete-expired-sessions", toMicros(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
