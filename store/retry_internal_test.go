package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/jackc/pgx/v5/pgconn"
)

// sqliteBusy returns the error SQLite really gives a second writer that will not wait.
func sqliteBusy(t *testing.T) error {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "busy.db")
	conn := func(dsn string) *sql.Conn {
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	holder, waiter := conn(path+"?_pragma=journal_mode(WAL)"), conn(path+"?_pragma=busy_timeout(0)")
	if _, err := holder.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer holder.ExecContext(ctx, "ROLLBACK")
	_, err := waiter.ExecContext(ctx, "BEGIN IMMEDIATE")
	if err == nil {
		t.Fatal("a second BEGIN IMMEDIATE succeeded while the first held the write lock")
	}
	return err
}

func TestTransientErrors(t *testing.T) {
	pg := func(code string) error {
		return fmt.Errorf("find token: %w", &pgconn.PgError{Severity: "FATAL", Code: code, Message: "x"})
	}
	busy := sqliteBusy(t)
	for _, c := range []struct {
		name      string
		err       error
		transient bool
	}{
		{"admin shutdown (pg_terminate_backend)", pg("57P01"), true},
		{"crash shutdown", pg("57P02"), true},
		{"cannot connect now", pg("57P03"), true},
		{"connection failure (class 08)", pg("08006"), true},
		{"serialization failure", pg("40001"), true},
		{"deadlock", pg("40P01"), true},
		{"unique violation", pg("23505"), false},
		{"syntax error", pg("42601"), false},
		{"SQLite busy", busy, true},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"broken pipe", fmt.Errorf("write: %w", syscall.EPIPE), true},
		{"EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"bad connection", driver.ErrBadConn, true},
		{"connection done", sql.ErrConnDone, true},
		{"no rows", sql.ErrNoRows, false},
		{"cancelled", fmt.Errorf("query: %w", context.Canceled), false},
		{"deadline", context.DeadlineExceeded, false},
		{"unavailable already", unavailable(pg("57P01")), true},
		{"coded error", bellhop.Errorf(bellhop.EConflict, "no"), false},
		{"anything else", errors.New("boom"), false},
	} {
		if got := isTransient(c.err); got != c.transient {
			t.Errorf("%s: isTransient(%v) = %v, want %v", c.name, c.err, got, c.transient)
		}
	}
}

func TestOnlyReads(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT id FROM properties":                         true,
		"-- A comment first.\n-- Two.\nselect 1":            true,
		"SELECT\n  id FROM x":                               true,
		"UPDATE staff SET x = 1 RETURNING id":               false,
		"-- SELECT in a comment\nDELETE FROM x":             false,
		"INSERT INTO x SELECT * FROM y":                     false,
		"WITH t AS (SELECT 1) UPDATE x SET y = 1 RETURNING": false,
	} {
		if got := onlyReads(q); got != want {
			t.Errorf("onlyReads(%q) = %v, want %v", q, got, want)
		}
	}
}

// A SQLite file has one writing connection and a pool of read-only ones, all with the
// promised settings.
func TestSQLitePools(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "bellhop.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.sql.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writing pool: %d connections at most, want 1", got)
	}
	if db.read == db.sql || db.read.Stats().MaxOpenConnections < 2 {
		t.Errorf("reads share the writing connection; want a pool of their own")
	}
	for pragma, want := range map[string]string{"journal_mode": "wal", "busy_timeout": "5000", "foreign_keys": "1", "query_only": "1"} {
		var got string
		if err := db.read.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("read pool: PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	var qo string
	if err := db.sql.QueryRowContext(ctx, "PRAGMA query_only").Scan(&qo); err != nil || qo != "0" {
		t.Errorf("writing connection: PRAGMA query_only = %s, %v; want 0", qo, err)
	}
}
