// Package storetest gives other packages' tests a migrated database of their own on each of
// the two stores: a SQLite file in the test's temporary directory, and a fresh schema on the
// PostgreSQL server at BELLHOP_TEST_POSTGRES_URL, dropped when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bellhop/bellhop/store"
)

// Databases are the stores a test runs on, by name: "sqlite" and "postgres".
func Databases() map[string]func(t *testing.T) *store.DB {
	return map[string]func(t *testing.T) *store.DB{
		store.DialectSQLite:   func(t *testing.T) *store.DB { return Open(t, filepath.Join(t.TempDir(), "bellhop.db")) },
		store.DialectPostgres: func(t *testing.T) *store.DB { return Open(t, PostgresSchema(t)) },
	}
}

// Open opens and migrates the database at dsn, closed when the test ends.
func Open(t testing.TB, dsn string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// PostgresURL is the server the tests use.
func PostgresURL() string {
	if u := os.Getenv("BELLHOP_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// PostgresSchema creates a schema of the test's own and returns a URL that uses it. A server
// that does not answer skips the test, or fails it when CI=true.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	base := PostgresURL()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("BELLHOP_TEST_POSTGRES_URL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		u, _ := url.Parse(base)
		msg := "PostgreSQL at " + u.Redacted() + " does not answer: " + err.Error() + " (start it or set BELLHOP_TEST_POSTGRES_URL)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "bellhop_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	// Registered before the caller opens the database, so it runs after that is closed.
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("BELLHOP_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
