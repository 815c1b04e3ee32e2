// Package store keeps Bellhop's state in SQLite (the embedded default) or PostgreSQL.
// One implementation over database/sql serves both; only the migrations differ per database.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialects, as Dialect reports them.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// pingTimeout bounds the first ping when the caller's context has no deadline, so that an
// unreachable PostgreSQL host fails the start instead of hanging it.
const pingTimeout = 15 * time.Second

// DB is Bellhop's database. Its methods are safe for concurrent use.
type DB struct {
	access
	sql  *sql.DB
	name string // where the database is, for messages; never holds a password
}

// Tx is a transaction started by WithTx. It has DB's methods for reading and writing
// Bellhop's records; they see the transaction's own writes.
type Tx struct {
	access
}

// querier is what *sql.DB and *sql.Tx have in common: one set of methods serves both.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// access runs the named queries on the pool (DB) or inside a transaction (Tx).
type access struct {
	q       querier
	queries map[string]string // rewritten for the dialect
	dialect string
}

// Open connects to the database at dsn and checks that it answers. A dsn starting with
// postgres:// or postgresql:// is PostgreSQL; anything else is a SQLite file path or a
// "file:" URI (":memory:" gives a private in-memory database on a single connection).
// SQLite runs with WAL journaling, a 5 s busy timeout and foreign keys on.
// Open does not migrate: call Migrate before using the other methods.
func Open(ctx context.Context, dsn string) (*DB, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, errors.New("no database given: want a postgres:// URL or a SQLite file path")
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(ctx, dsn)
	}
	return openSQLite(ctx, dsn)
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	name, password := redactURL(dsn)
	fail := func(what string, err error) error {
		return redactError(fmt.Errorf("PostgreSQL at %s: %s: %w", name, what, err), password)
	}
	sqlDB, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fail("bad URL", err)
	}
	// A handful of connections per process is plenty; many worker processes share the
	// server's max_connections.
	sqlDB.SetMaxOpenConns(20)
	sqlDB.SetMaxIdleConns(10)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	db, err := newDB(sqlDB, DialectPostgres, name)
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	if err := db.firstPing(ctx); err != nil {
		sqlDB.Close()
		return nil, fail("cannot connect", err)
	}
	return db, nil
}

func openSQLite(ctx context.Context, dsn string) (*DB, error) {
	name := dsn
	params := url.Values{}
	params.Add("_pragma", "busy_timeout(5000)")
	params.Add("_pragma", "journal_mode(WAL)")
	params.Add("_pragma", "foreign_keys(1)")
	// Transactions write: taking the write lock at BEGIN lets busy_timeout queue them, where a
	// deferred BEGIN could fail with SQLITE_BUSY when it upgrades to writing.
	params.Set("_txlock", "immediate")
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&" // the caller's own parameters come first
	}
	sqlDB, err := sql.Open("sqlite", dsn+sep+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("SQLite database %s: %w", name, err)
	}
	if isMemory(dsn) {
		// Every connection to ":memory:" is a database of its own: keep exactly one, forever.
		sqlDB.SetMaxOpenConns(1)
		sqlDB.SetMaxIdleConns(1)
		sqlDB.SetConnMaxLifetime(0)
		sqlDB.SetConnMaxIdleTime(0)
	}
	db, err := newDB(sqlDB, DialectSQLite, name)
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	if err := db.firstPing(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("SQLite database %s: cannot open it: %w", name, err)
	}
	return db, nil
}

func newDB(sqlDB *sql.DB, dialect, name string) (*DB, error) {
	queries, err := loadQueries(dialect)
	if err != nil {
		return nil, err
	}
	return &DB{access: access{q: sqlDB, queries: queries, dialect: dialect}, sql: sqlDB, name: name}, nil
}

func (db *DB) firstPing(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, pingTimeout)
		defer cancel()
	}
	return db.sql.PingContext(ctx)
}

func isMemory(dsn string) bool {
	return dsn == ":memory:" || strings.HasPrefix(dsn, "file::memory:") || strings.Contains(dsn, "mode=memory")
}

// redactURL returns the URL with its password masked, and the password.
func redactURL(dsn string) (shown, password string) {
	u, err := url.Parse(dsn)
	if err != nil {
		// Say where without echoing a string that may hold a password.
		return "(an unparsable postgres:// URL)", ""
	}
	password, _ = u.User.Password()
	q := u.Query()
	if p := q.Get("password"); p != "" {
		if password == "" {
			password = p
		}
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted(), password
}

// redactError masks password wherever a driver might have echoed it.
func redactError(err error, password string) error {
	if password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), password, "xxxxx"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Close closes the database.
func (db *DB) Close() error { return db.sql.Close() }

// Ping checks that the database answers; it serves readiness checks.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s database: %w", db.dialect, err)
	}
	return nil
}

// Dialect is "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect }

// WithTx runs fn in a transaction, committed when fn returns nil and rolled back otherwise;
// fn's error is returned as is. Inside fn, use tx, not db: an in-memory SQLite database has a
// single connection, which the transaction holds.
func (db *DB) WithTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlTx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if err != nil {
			_ = sqlTx.Rollback()
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
	}()
	if err := fn(&Tx{access{q: sqlTx, queries: db.queries, dialect: db.dialect}}); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// query returns the named query's text, rewritten for the dialect.
func (a *access) query(name string) (string, error) {
	q, ok := a.queries[name]
	if !ok {
		return "", fmt.Errorf("store: no query named %q in queries.sql", name)
	}
	return q, nil
}

func (a *access) exec(ctx context.Context, name string, args ...any) (sql.Result, error) {
	q, err := a.query(name)
	if err != nil {
		return nil, err
	}
	return a.q.ExecContext(ctx, q, args...)
}

func (a *access) queryRows(ctx context.Context, name string, args ...any) (*sql.Rows, error) {
	q, err := a.query(name)
	if err != nil {
		return nil, err
	}
	return a.q.QueryContext(ctx, q, args...)
}

// scanner is a row to scan: *sql.Row, *sql.Rows, or errRow.
type scanner interface {
	Scan(dest ...any) error
}

func (a *access) queryRow(ctx context.Context, name string, args ...any) scanner {
	q, err := a.query(name)
	if err != nil {
		return errRow{err}
	}
	return a.q.QueryRowContext(ctx, q, args...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// Error classification. Both drivers report constraint failures with codes of their own.

func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func isForeignKeyViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// propertyNotFound is the error for a property that does not exist.
func propertyNotFound(id string) error {
	return bellhop.Errorf(bellhop.ENotFound, "property %q not found", id)
}

// Times are stored as unix microseconds, UTC: exact on both databases and easy to compare.

// dbTime normalises t to what the database keeps: UTC, whole microseconds.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func toMicros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMicros(n.Int64)
	return &t
}

func dbTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := dbTime(*t)
	return &n
}

// blob binds b, NULL when empty: drivers disagree on whether an empty slice is NULL.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// nonEmpty reads a blob back: nil when NULL or empty.
func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// scope binds a property id that may be '*' (every property) as NULL.
func scope(pid string) any {
	if pid == bellhop.AllProperties {
		return nil
	}
	return pid
}

func fromScope(n sql.NullString) string {
	if !n.Valid {
		return bellhop.AllProperties
	}
	return n.String
}
