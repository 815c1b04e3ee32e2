package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/store"
)

func TestTokensSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bellhop.db")
	tokenSuite(t, open(t, path), rawDB(t, "sqlite", path))
}

func TestTokensPostgres(t *testing.T) {
	pg := requirePostgres(t)
	dsn := pg.freshSchema(t)
	tokenSuite(t, open(t, dsn), rawDB(t, "pgx", dsn))
}

// rawDB is a second connection to the database, for what Bellhop itself never does.
func rawDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// tokenSuite: tokens keep their expiry, record their last use at most once a minute, list
// by property, and revoke; a page session lives only as long as the token it was opened with.
func tokenSuite(t *testing.T, db *store.DB, raw *sql.DB) {
	ctx := context.Background()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if err := db.CreateProperty(ctx, property(id)); err != nil {
			t.Fatal(err)
		}
	}
	expires := at.Add(30 * 24 * time.Hour)
	tokens := []*bellhop.Token{
		{ID: "t-a", Hash: []byte("hash-a"), PropertyID: "a", Role: bellhop.RoleAdmin, CreatedAt: at, ExpiresAt: &expires},
		{ID: "t-b", Hash: []byte("hash-b"), PropertyID: "b", Role: bellhop.RoleAdmin, CreatedAt: at.Add(time.Second)},
		{ID: "t-all", Hash: []byte("hash-all"), PropertyID: bellhop.AllProperties, Role: bellhop.RoleService, CreatedAt: at.Add(2 * time.Second)},
	}
	for _, tok := range tokens {
		if err := db.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}

	got, err := db.TokenByHash(ctx, []byte("hash-a"))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "t-a" || got.ExpiresAt == nil || !got.ExpiresAt.Equal(expires) || got.LastUsedAt != nil || got.RevokedAt != nil {
		t.Errorf("TokenByHash = %+v", got)
	}
	if !got.Works(expires.Add(-time.Microsecond)) || got.Works(expires) {
		t.Errorf("a token works strictly before its expiry")
	}
	if never, _ := db.TokenByHash(ctx, []byte("hash-b")); never.ExpiresAt != nil || !never.Works(at.AddDate(100, 0, 0)) {
		t.Errorf("a token without expiry = %+v, want one that always works", never)
	}

	// Last use: written, then not again within the minute, then again.
	use := func(now time.Time) *time.Time {
		t.Helper()
		if err := db.TouchToken(ctx, "t-a", now); err != nil {
			t.Fatal(err)
		}
		tok, err := db.TokenByHash(ctx, []byte("hash-a"))
		if err != nil {
			t.Fatal(err)
		}
		return tok.LastUsedAt
	}
	if u := use(at.Add(time.Hour)); u == nil || !u.Equal(at.Add(time.Hour)) {
		t.Errorf("first use recorded as %v", u)
	}
	if u := use(at.Add(time.Hour + 30*time.Second)); !u.Equal(at.Add(time.Hour)) {
		t.Errorf("a use within the minute moved the last use to %v", u)
	}
	if u := use(at.Add(time.Hour + time.Minute)); !u.Equal(at.Add(time.Hour + time.Minute)) {
		t.Errorf("a use a minute later recorded as %v", u)
	}

	// Lists.
	ids := func(list []*bellhop.Token, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, tok := range list {
			out = append(out, tok.ID)
		}
		return out
	}
	for filter, want := range map[string][]string{"": {"t-a", "t-b", "t-all"}, "a": {"t-a"}, "*": {"t-all"}, "nope": {}} {
		if got := ids(db.ListTokens(ctx, filter)); !equalStrings(got, want) {
			t.Errorf("ListTokens(%q) = %v, want %v", filter, got, want)
		}
	}

	// A session opened with t-a, one with t-b, one with a link.
	session := func(hash, tokenID string) {
		t.Helper()
		s := &bellhop.Session{Hash: []byte(hash), PropertyID: "a", Role: bellhop.RoleAdmin, Actor: "x", TokenID: tokenID,
			CSRF: "csrf", CreatedAt: at, ExpiresAt: at.AddDate(1, 0, 0)}
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	session("s-a", "t-a")
	session("s-b", "t-b")
	session("s-link", "")
	session("s-gone", "t-never-existed")
	now := at.Add(2 * time.Hour)
	if s, err := db.SessionByHash(ctx, []byte("s-a"), now); err != nil || s.TokenID != "t-a" {
		t.Fatalf("session of a working token = %+v, %v", s, err)
	}
	if _, err := db.SessionByHash(ctx, []byte("s-gone"), now); !bellhop.IsNotFound(err) {
		t.Errorf("session of a token that does not exist: %v, want not found", err)
	}
	// The token's expiry ends its session, though the session's own has not come.
	if _, err := db.SessionByHash(ctx, []byte("s-a"), expires); !bellhop.IsNotFound(err) {
		t.Errorf("session of an expired token: %v, want not found", err)
	}

	// Revoke t-a: its session ends at once; the others live on.
	tok, ended, err := db.RevokeToken(ctx, "t-a", now)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RevokedAt == nil || !tok.RevokedAt.Equal(now) || ended != 1 || tok.Works(now) {
		t.Errorf("RevokeToken = %+v, %d sessions ended", tok, ended)
	}
	if _, err := db.SessionByHash(ctx, []byte("s-a"), now); !bellhop.IsNotFound(err) {
		t.Errorf("session of a revoked token: %v, want not found", err)
	}
	for _, h := range []string{"s-b", "s-link"} {
		if _, err := db.SessionByHash(ctx, []byte(h), now); err != nil {
			t.Errorf("session %s after another token was revoked: %v", h, err)
		}
	}
	again, ended, err := db.RevokeToken(ctx, "t-a", now.Add(time.Hour))
	if err != nil || !again.RevokedAt.Equal(now) || ended != 0 {
		t.Errorf("revoking again = %+v, %d, %v; want the first time kept", again, ended, err)
	}
	if _, _, err := db.RevokeToken(ctx, "nope", now); !bellhop.IsNotFound(err) {
		t.Errorf("revoking an unknown token: %v, want not found", err)
	}
	if got, _ := db.TokenByHash(ctx, []byte("hash-a")); got.RevokedAt == nil {
		t.Errorf("TokenByHash after revoke = %+v, want it revoked", got)
	}

	// A session whose token row is removed (its property deleted, say) ends too.
	session("s-b2", "t-b")
	if _, err := db.SessionByHash(ctx, []byte("s-b2"), now); err != nil {
		t.Fatal(err)
	}
	q := "DELETE FROM tokens WHERE id = ?" // as an operator might, by hand
	if db.Dialect() == store.DialectPostgres {
		q = "DELETE FROM tokens WHERE id = $1"
	}
	if _, err := raw.ExecContext(ctx, q, "t-b"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionByHash(ctx, []byte("s-b2"), now); !bellhop.IsNotFound(err) {
		t.Errorf("session of a removed token: %v, want not found", err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
