package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/store"
)

func TestSessionsSQLite(t *testing.T) {
	sessionSuite(t, open(t, filepath.Join(t.TempDir(), "bellhop.db")))
}

func TestSessionsPostgres(t *testing.T) {
	pg := requirePostgres(t)
	sessionSuite(t, open(t, pg.freshSchema(t)))
}

// sessionSuite: a session is found by its hash until it expires, is gone once deleted, and
// its property must exist; sign-in links work once.
func sessionSuite(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateProperty(ctx, property("a")); err != nil {
		t.Fatal(err)
	}
	s := &bellhop.Session{Hash: []byte("hash-a"), PropertyID: "a", Role: bellhop.RoleAdmin, Actor: "token:1",
		CSRF: "csrf-a", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	if err := db.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	all := &bellhop.Session{Hash: []byte("hash-all"), PropertyID: bellhop.AllProperties, Role: bellhop.RoleAdmin,
		Actor: "link", CSRF: "csrf-all", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	if err := db.CreateSession(ctx, all); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(ctx, s); bellhop.ErrorCode(err) != bellhop.EConflict {
		t.Errorf("same session twice: %v, want conflict", err)
	}
	ghost := &bellhop.Session{Hash: []byte("hash-x"), PropertyID: "nope", Role: bellhop.RoleAdmin, CSRF: "x", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	if err := db.CreateSession(ctx, ghost); !bellhop.IsNotFound(err) {
		t.Errorf("session of a missing property: %v, want not found", err)
	}

	got, err := db.SessionByHash(ctx, []byte("hash-a"), at.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got.PropertyID != "a" || got.Role != bellhop.RoleAdmin || got.Actor != "token:1" || got.CSRF != "csrf-a" ||
		!got.CreatedAt.Equal(at) || !got.ExpiresAt.Equal(at.Add(time.Hour)) {
		t.Errorf("SessionByHash = %+v", got)
	}
	if got, err := db.SessionByHash(ctx, []byte("hash-all"), at); err != nil || got.PropertyID != bellhop.AllProperties {
		t.Errorf("'*' session = %+v, %v", got, err)
	}
	if _, err := db.SessionByHash(ctx, []byte("hash-a"), at.Add(time.Hour)); !bellhop.IsNotFound(err) {
		t.Errorf("expired session: %v, want not found", err)
	}
	if _, err := db.SessionByHash(ctx, []byte("other"), at); !bellhop.IsNotFound(err) {
		t.Errorf("unknown session: %v, want not found", err)
	}
	if n, err := db.DeleteExpiredSessions(ctx, at.Add(time.Hour)); err != nil || n != 2 {
		t.Errorf("DeleteExpiredSessions = %d, %v; want 2", n, err)
	}
	s.Hash = []byte("hash-b")
	if err := db.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSession(ctx, s.Hash); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionByHash(ctx, s.Hash, at); !bellhop.IsNotFound(err) {
		t.Errorf("deleted session: %v, want not found", err)
	}

	if err := db.CreateSignInLink(ctx, []byte("link"), "a", bellhop.RoleAdmin, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if pid, role, err := db.UseSignInLink(ctx, []byte("link"), at); err != nil || pid != "a" || role != bellhop.RoleAdmin {
		t.Errorf("first use = %q %q %v", pid, role, err)
	}
	if _, _, err := db.UseSignInLink(ctx, []byte("link"), at); !bellhop.IsNotFound(err) {
		t.Errorf("second use: %v, want not found", err)
	}
}
