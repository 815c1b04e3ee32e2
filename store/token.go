package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bellhop/bellhop"
)

// CreateToken stores a bearer token (only its hash) with its expiry, if any. PropertyID is a
// property's id or bellhop.AllProperties. A reused id or hash is a conflict; a property that
// does not exist is not found.
func (a *access) CreateToken(ctx context.Context, t *bellhop.Token) error {
	t.CreatedAt, t.ExpiresAt = dbTime(t.CreatedAt), dbTimePtr(t.ExpiresAt)
	t.LastUsedAt, t.RevokedAt = nil, nil
	_, err := a.exec(ctx, "create-token", t.ID, t.Hash, scope(t.PropertyID), string(t.Role), toMicros(t.CreatedAt), nullMicros(t.ExpiresAt))
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

// TokenByHash finds the token whose secret hashes to hash, whether or not it still works
// (see bellhop.Token.Works): the caller says why a token is refused.
func (a *access) TokenByHash(ctx context.Context, hash []byte) (*bellhop.Token, error) {
	t, err := scanToken(a.queryRow(ctx, "token-by-hash", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bellhop.Errorf(bellhop.ENotFound, "token not found")
	}
	if err != nil {
		return nil, fmt.Errorf("find token: %w", err)
	}
	return t, nil
}

// TokenAndProperty is TokenByHash and GetProperty(pid) in one statement, for a request that
// names a property: the property is nil when there is none of that id. Whether the token may
// reach it is the caller's to decide.
func (a *access) TokenAndProperty(ctx context.Context, hash []byte, pid string) (*bellhop.Token, *bellhop.Property, error) {
	var t tokenRow
	var p struct {
		id, name, zone, country, lang sql.NullString
		cc                            sql.NullBool
		created, updated              sql.NullInt64
	}
	err := a.queryRow(ctx, "token-and-property", pid, hash).Scan(append(t.dest(),
		&p.id, &p.name, &p.zone, &p.country, &p.lang, &p.cc, &p.created, &p.updated)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, bellhop.Errorf(bellhop.ENotFound, "token not found")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find token: %w", err)
	}
	if !p.id.Valid {
		return t.token(), nil, nil
	}
	return t.token(), &bellhop.Property{
		ID: p.id.String, Name: p.name.String, TimeZone: p.zone.String, Country: p.country.String,
		Language: p.lang.String, ContactCenter: p.cc.Bool,
		CreatedAt: fromMicros(p.created.Int64), UpdatedAt: fromMicros(p.updated.Int64),
	}, nil
}

// tokenRow is a token as the tokens table's columns hold it (id, hash, property_id, role,
// created_at, expires_at, last_used_at, revoked_at, in that order).
type tokenRow struct {
	t                      bellhop.Token
	pid                    sql.NullString
	role                   string
	created                int64
	expires, used, revoked sql.NullInt64
}

func (r *tokenRow) dest() []any {
	return []any{&r.t.ID, &r.t.Hash, &r.pid, &r.role, &r.created, &r.expires, &r.used, &r.revoked}
}

func (r *tokenRow) token() *bellhop.Token {
	t := r.t
	t.PropertyID, t.Role, t.CreatedAt = fromScope(r.pid), bellhop.Role(r.role), fromMicros(r.created)
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = timePtr(r.expires), timePtr(r.used), timePtr(r.revoked)
	return &t
}

func scanToken(row scanner) (*bellhop.Token, error) {
	var r tokenRow
	if err := row.Scan(r.dest()...); err != nil {
		return nil, err
	}
	return r.token(), nil
}

// ListTokens lists the tokens, oldest first: all of them when propertyID is "", else those
// of one property (bellhop.AllProperties: those that reach every property).
func (a *access) ListTokens(ctx context.Context, propertyID string) ([]*bellhop.Token, error) {
	rows, err := a.queryRows(ctx, "list-tokens", propertyID, propertyID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out, err := collect(rows, scanToken)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	if out == nil {
		out = []*bellhop.Token{}
	}
	return out, nil
}

// TokenUseEvery is how often a token's last use is written: a use within a minute of the last
// one recorded is not, so that a busy token does not write on every request.
const TokenUseEvery = time.Minute

// TouchToken records a use of the token at now, unless one was recorded within TokenUseEvery.
func (a *access) TouchToken(ctx context.Context, id string, now time.Time) error {
	now = dbTime(now)
	if _, err := a.exec(ctx, "touch-token", toMicros(now), id, toMicros(now.Add(-TokenUseEvery))); err != nil {
		return fmt.Errorf("record the use of token %q: %w", id, err)
	}
	return nil
}

// RevokeToken makes the token stop working at now and ends the page sessions opened with it;
// it returns the token and how many sessions ended. A token revoked before keeps its first
// revocation time. An unknown id is not found.
func (a *access) RevokeToken(ctx context.Context, id string, now time.Time) (*bellhop.Token, int64, error) {
	t, err := scanToken(a.queryRow(ctx, "revoke-token", toMicros(dbTime(now)), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, bellhop.Errorf(bellhop.ENotFound, "No token has the id %q.", id)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("revoke token %q: %w", id, err)
	}
	// The sessions already fail their lookup (it checks the token); this only tidies up.
	res, err := a.exec(ctx, "delete-token-sessions", id)
	if err != nil {
		return t, 0, fmt.Errorf("end the sessions of token %q: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return t, n, nil
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
