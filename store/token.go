package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bellhop/bellhop"
)

// CreateToken stores a bearer token (only its hash). PropertyID is a property's id or
// bellhop.AllProperties. A reused id or hash is a conflict; a property that does not exist is
// not found.
func (a *access) CreateToken(ctx context.Context, t *bellhop.Token) error {
	t.CreatedAt = dbTime(t.CreatedAt)
	_, err := a.exec(ctx, "create-token", t.ID, t.Hash, scope(t.PropertyID), string(t.Role), toMicros(t.CreatedAt))
	switch {
	case isUniqueViolation(err):
		return bellhop.Errorf(bellhop.EConflict, "token %q already exists", t.ID)
	case isForeignKeyViolation(err):
		return propertyNotFound(t.PropertyID)
	case err != nil:
		return fmt.Errorf("create token %q: %w", t.ID, err)
	}
	return nil
}

// TokenByHash finds the token whose secret hashes to hash.
func (a *access) TokenByHash(ctx context.Context, hash []byte) (*bellhop.Token, error) {
	var t bellhop.Token
	var pid sql.NullString
	var role string
	var created int64
	err := a.queryRow(ctx, "token-by-hash", hash).Scan(&t.ID, &t.Hash, &pid, &role, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bellhop.Errorf(bellhop.ENotFound, "token not found")
	}
	if err != nil {
		return nil, fmt.Errorf("find token: %w", err)
	}
	t.PropertyID, t.Role, t.CreatedAt = fromScope(pid), bellhop.Role(role), fromMicros(created)
	return &t, nil
}

// CreateSignInLink stores a one-time web sign-in link by the hash of its secret. propertyID
// is a property's id or bellhop.AllProperties.
func (a *access) CreateSignInLink(ctx context.Context, hash []byte, propertyID string, role bellhop.Role, expiresAt time.Time) error {
	_, err := a.exec(ctx, "create-sign-in-link", hash, scope(propertyID), string(role), toMicros(expiresAt))
	switch {
	case isUniqueViolation(err):
		return bellhop.Errorf(bellhop.EConflict, "sign-in link already exists")
	case isForeignKeyViolation(err):
		return propertyNotFound(propertyID)
	case err != nil:
		return fmt.Errorf("create sign-in link for property %q: %w", propertyID, err)
	}
	return nil
}

// UseSignInLink spends the link whose secret hashes to hash and returns what it signs in to.
// A link works once, strictly before it expires; an unknown, used or expired link is not
// found, all alike.
func (a *access) UseSignInLink(ctx context.Context, hash []byte, now time.Time) (propertyID string, role bellhop.Role, err error) {
	var pid sql.NullString
	var r string
	err = a.queryRow(ctx, "use-sign-in-link", toMicros(now), hash, toMicros(now)).Scan(&pid, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", bellhop.Errorf(bellhop.ENotFound, "This sign-in link is unknown, used or expired: ask for a new one.")
	}
	if err != nil {
		return "", "", fmt.Errorf("use sign-in link: %w", err)
	}
	return fromScope(pid), bellhop.Role(r), nil
}
