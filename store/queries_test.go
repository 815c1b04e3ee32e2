package store

import (
	"context"
	"path/filepath"
	"testing"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = $1 AND c = $2"},
		{"SELECT '?', \"a?\" FROM t WHERE b = ?", "SELECT '?', \"a?\" FROM t WHERE b = $1"},
		{"SELECT 'it''s ?' FROM t WHERE b = ?", "SELECT 'it''s ?' FROM t WHERE b = $1"},
		{"-- is it? yes\nUPDATE t SET a = ? WHERE b - 1 = ?", "-- is it? yes\nUPDATE t SET a = $1 WHERE b - 1 = $2"},
	} {
		if got := rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseQueries(t *testing.T) {
	qs, err := parseQueries("-- header\n\n-- name: one\nSELECT 1;\n\n-- name: two\n-- why\nSELECT\n  2;\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 || qs["one"] != "SELECT 1" || qs["two"] != "-- why\nSELECT\n  2" {
		t.Errorf("parseQueries = %q", qs)
	}
	if _, err := parseQueries("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;"); err == nil {
		t.Error("a name defined twice was accepted")
	}
	if _, err := parseQueries("-- name: a\n\n-- name: b\nSELECT 2;"); err == nil {
		t.Error("an empty query was accepted")
	}
	if _, err := parsedQueries(); err != nil {
		t.Errorf("queries.sql: %v", err)
	}
}

// The settings Open promises for SQLite hold on every connection.
func TestSQLitePragmas(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "bellhop.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for pragma, want := range map[string]string{"journal_mode": "wal", "busy_timeout": "5000", "foreign_keys": "1"} {
		var got string
		if err := db.sql.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}
