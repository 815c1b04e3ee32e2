// Package store keeps Bellhop's state in SQLite (the embedded default) or PostgreSQL.
// One implementation over database/sql serves both; only the migrations differ per database.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the driver "pgx"
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

// postgresMaxConns bounds a process's connections to PostgreSQL.
const postgresMaxConns = 20

// DB is Bellhop's database. Its methods are safe for concurrent use.
type DB struct {
	access
	sql  *sql.DB // every write, and every read on PostgreSQL and in-memory SQLite
	read *sql.DB // reads of a SQLite file; the same as sql otherwise
	name string  // where the database is, for messages; never holds a password

	beforeCommit func() // a test's hook, run just before a transaction commits
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
	read    querier           // where a DB's reads go; nil in a transaction
	reads   map[string]bool   // the named queries that only read
	queries map[string]string // rewritten for the dialect
	dialect string
	res     *resilience
	tx      *txState // nil on the pool
}

// Open connects to the database at dsn and checks that it answers. A dsn starting with
// postgres:// or postgresql:// is PostgreSQL; anything else is a SQLite file path or a
// "file:" URI (":memory:" gives a private in-memory database on a single connection).
// SQLite runs with WAL journaling, a 5 s busy timeout (a busy_timeout pragma in dsn replaces
// it), foreign keys on and one writing connection per process. Open does not migrate: call
// Migrate before using the other methods.
func Open(ctx context.Context, dsn string) (*DB, error) {
	return open(ctx, dsn, nil)
}

// open is Open with the driver's connector wrapped (tests inject faults that way).
func open(ctx context.Context, dsn string, wrap func(driver.Connector) driver.Connector) (*DB, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, errors.New("no database given: want a postgres:// URL or a SQLite file path")
	}
	if wrap == nil {
		wrap = func(c driver.Connector) driver.Connector { return c }
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(ctx, dsn, wrap)
	}
	return openSQLite(ctx, dsn, wrap)
}

func openPostgres(ctx context.Context, dsn string, wrap func(driver.Connector) driver.Connector) (*DB, error) {
	name, password := redactURL(dsn)
	fail := func(what string, err error) error {
		return redactError(fmt.Errorf("PostgreSQL at %s: %s: %w", name, what, err), password)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fail("bad URL", err)
	}
	res := newResilience()
	sqlDB := sql.OpenDB(wrap(stdlib.GetConnector(*cfg, stdlib.OptionShouldPing(res.shouldPing))))
	// A handful of connections per process is plenty; many worker processes share the
	// server's max_connections. All of them stay open while idle: with half, the API under a
	// steady 500 requests/s closed the connections of each burst after it and opened new
	// ones for the next (200 connections in a 40-second run, a new server process and its
	// statements prepared again each time), and every stall grew on it (scenario 9's p99 went
	// from 25 ms to 400). When a connection is seen lost the idle ones are dropped at once, as
	// the server that killed one has most likely killed them all (a restart, a failover): the
	// next requests open live connections instead of meeting the dead ones one by one.
	sqlDB.SetMaxOpenConns(postgresMaxConns)
	sqlDB.SetMaxIdleConns(postgresMaxConns)
	res.dropIdle = func() {
		sqlDB.SetMaxIdleConns(0) // closes the idle connections
		sqlDB.SetMaxIdleConns(postgresMaxConns)
	}
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	db, err := newDB(sqlDB, sqlDB, DialectPostgres, name, res)
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

// SQLite allows one writer at a time per database file; a second one waits in SQLite's busy
// handler, which polls with growing sleeps, so under a steady stream of writes an unlucky
// writer can sleep through the whole busy timeout and fail with SQLITE_BUSY. So:
//   - One connection writes, per process: this process's writers queue for it in
//     database/sql, first come first served, and never meet each other in the busy handler.
//     Only another process (a second worker) can make them wait there.
//   - Transactions begin IMMEDIATE (_txlock): a transaction takes the write lock when it
//     starts, where the busy timeout can wait for it. A deferred one reads first and fails
//     with SQLITE_BUSY at once, without waiting, when another connection wrote meanwhile.
//   - WAL journaling: readers do not block the writer nor each other, so reads go to a pool
//     of their own (query_only, so a misfiled write fails loudly instead of taking a lock).
//   - A busy timeout of 5 s (unless the dsn sets one) for the other process's writes, and the
//     store's own retries (retry.go) for what still fails.
const (
	sqliteBusyTimeout = "busy_timeout(5000)"
	sqliteMaxReaders  = 8
)

func openSQLite(ctx context.Context, dsn string, wrap func(driver.Connector) driver.Connector) (*DB, error) {
	name := dsn
	params := url.Values{}
	if !strings.Contains(dsn, "busy_timeout") { // the operator may choose another wait
		params.Add("_pragma", sqliteBusyTimeout)
	}
	params.Add("_pragma", "journal_mode(WAL)")
	params.Add("_pragma", "foreign_keys(1)")
	params.Set("_txlock", "immediate")
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&" // the caller's own parameters come first
	}
	connect := func(extra string) (*sql.DB, error) {
		c, err := sqlite.NewConnector(dsn + sep + params.Encode() + extra)
		if err != nil {
			return nil, fmt.Errorf("SQLite database %s: %w", name, err)
		}
		return sql.OpenDB(wrap(c)), nil
	}
	writer, err := connect("")
	if err != nil {
		return nil, err
	}
	// The writing connection stays open: a new one would read the schema again.
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	reader := writer
	if !isMemory(dsn) { // every connection to ":memory:" is a database of its own: one it is
		if reader, err = connect("&_query_only=1"); err != nil {
			writer.Close()
			return nil, err
		}
		n := min(max(runtime.GOMAXPROCS(0), 2), sqliteMaxReaders)
		reader.SetMaxOpenConns(n)
		reader.SetMaxIdleConns(n)
	}
	db, err := newDB(writer, reader, DialectSQLite, name, newResilience())
	if err != nil {
		closePools(writer, reader)
		return nil, err
	}
	if err := db.firstPing(ctx); err != nil {
		closePools(writer, reader)
		return nil, fmt.Errorf("SQLite database %s: cannot open it: %w", name, err)
	}
	return db, nil
}

func newDB(writer, reader *sql.DB, dialect, name string, res *resilience) (*DB, error) {
	queries, err := loadQueries(dialect)
	if err != nil {
		return nil, err
	}
	reads := make(map[string]bool, len(queries))
	for n, q := range queries {
		reads[n] = onlyReads(q)
	}
	a := access{q: writer, read: reader, reads: reads, queries: queries, dialect: dialect, res: res}
	return &DB{access: a, sql: writer, read: reader, name: name}, nil
}

// onlyReads reports whether a query is a plain SELECT (after its comments).
func onlyReads(q string) bool {
	for {
		q = strings.TrimSpace(q)
		if !strings.HasPrefix(q, "--") {
			break
		}
		_, q, _ = strings.Cut(q, "\n")
	}
	word, _, _ := strings.Cut(q, " ")
	word, _, _ = strings.Cut(word, "\n")
	return strings.EqualFold(word, "SELECT")
}

func closePools(writer, reader *sql.DB) {
	if reader != writer {
		reader.Close()
	}
	writer.Close()
}

// firstPing checks that the database answers, on every pool. It is not retried: a database
// that does not answer at start is a configuration to fix.
func (db *DB) firstPing(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, pingTimeout)
		defer cancel()
	}
	if err := db.sql.PingContext(ctx); err != nil {
		return err
	}
	if db.read != db.sql {
		return db.read.PingContext(ctx)
	}
	return nil
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
func (db *DB) Close() error {
	var err error
	if db.read != db.sql {
		err = db.read.Close()
	}
	return errors.Join(db.sql.Close(), err)
}

// Ping checks that the database answers; it serves readiness checks.
func (db *DB) Ping(ctx context.Context) error {
	err := db.sql.PingContext(ctx)
	if err == nil && db.read != db.sql {
		err = db.read.PingContext(ctx)
	}
	if err != nil {
		return fmt.Errorf("ping %s database: %w", db.dialect, err)
	}
	return nil
}

// Dialect is "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect }

// WithTx runs fn in a transaction, committed when fn returns nil and rolled back otherwise;
// fn's error is returned as is. Inside fn, use tx, not db: on SQLite the transaction holds the
// one writing connection, so a write through db would wait for it until ctx ends.
//
// fn may run more than once. A transaction that fails for a transient reason (its connection
// lost, a deadlock, a serialization failure, SQLite busy) is rolled back and run again from
// the start, up to three more times, and is unavailable after that. So fn reads what it
// decides on inside the transaction, sets its results afresh on every run (assign, never
// append to a slice declared outside), and leaves what goes outside the database (queueing,
// calling a provider) until WithTx has returned.
//
// A commit whose connection broke may or may not have committed. On PostgreSQL the store
// asks the server (commitOutcome): committed is success, rolled back is run again, and only
// a server that cannot say is unavailable. On SQLite, which has no connection to lose, such
// a commit is unavailable at once.
func (db *DB) WithTx(ctx context.Context, fn func(tx *Tx) error) error {
	return db.res.retry(ctx, func() error { return db.runTx(ctx, fn) })
}

// runTx runs fn once, in a transaction.
func (db *DB) runTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	state := &txState{res: db.res}
	var sqlTx *sql.Tx
	if db.dialect == DialectPostgres {
		// On a connection of its own, so that a statement can reach pgx (Tx.IntakeReads).
		if state.conn, sqlTx, err = db.beginOnConn(ctx); err != nil {
			return fmt.Errorf("begin transaction: %w", err)
		}
		defer state.conn.Close()
	} else if sqlTx, err = db.sql.BeginTx(ctx, nil); err != nil {
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
	tx := &Tx{access{q: sqlTx, reads: db.reads, queries: db.queries, dialect: db.dialect, res: db.res, tx: state}}
	if err := fn(tx); err != nil {
		if failed := state.failure(); failed != nil && !isTransient(err) {
			// fn made something else of the failure; the transaction is lost all the same.
			return errors.Join(err, failed)
		}
		return err
	}
	// The transaction's id, if it wrote anything, so that a commit whose answer is lost can
	// be looked up. (txid_* rather than pg_current_xact_id*: PostgreSQL 10 and later.)
	var xid sql.NullInt64
	if state.xidRead {
		xid = sql.NullInt64{Int64: state.xid, Valid: true}
	} else if db.dialect == DialectPostgres {
		if err := sqlTx.QueryRowContext(ctx, "SELECT txid_current_if_assigned()").Scan(&xid); err != nil {
			return fmt.Errorf("read the transaction's id: %w", err) // not committed: a transient one runs again
		}
	}
	if db.beforeCommit != nil {
		db.beforeCommit()
	}
	if err := sqlTx.Commit(); err != nil {
		err = fmt.Errorf("commit transaction: %w", err)
		if state.failure() != nil || isConflict(err) || isSQLiteBusy(err) {
			return err // surely not committed: run it again
		}
		if !isTransient(err) {
			return err
		}
		if db.dialect != DialectPostgres {
			return unavailable(err) // perhaps committed: do not run it again
		}
		if !xid.Valid {
			return nil // it wrote nothing, so nothing was lost; what fn read stands
		}
		switch db.commitOutcome(ctx, xid.Int64) {
		case txCommitted:
			return nil
		case txAborted:
			return err // rolled back: run it again
		default:
			return unavailable(err) // perhaps committed: do not run it again
		}
	}
	return nil
}

// beginOnConn begins a transaction on a connection taken from the pool for it. Like
// database/sql's own BeginTx, it takes another connection when the one it got turns out to
// be dead before BEGIN was sent (driver.ErrBadConn), twice at most.
func (db *DB) beginOnConn(ctx context.Context) (*sql.Conn, *sql.Tx, error) {
	for try := 0; ; try++ {
		conn, err := db.sql.Conn(ctx)
		if err != nil {
			return nil, nil, err
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err == nil {
			return conn, tx, nil
		}
		_ = conn.Close() // a bad connection is discarded, not put back
		if !errors.Is(err, driver.ErrBadConn) || try == 2 {
			return nil, nil, err
		}
	}
}

// The outcomes of a transaction whose commit lost its connection.
const (
	txUnknown = iota
	txCommitted
	txAborted
)

// commitOutcome asks PostgreSQL what became of transaction xid, on another connection. A
// transaction still "in progress" belongs to a backend that is being ended (it rolls back) or
// is finishing its commit; it is asked about again for up to two seconds. A server that
// cannot say (unreachable, or the id too old or unknown, as on a promoted replica that never
// saw it) leaves it unknown.
func (db *DB) commitOutcome(ctx context.Context, xid int64) int {
	deadline := time.Now().Add(2 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		var status sql.NullString
		err := db.res.retry(ctx, func() error {
			return db.sql.QueryRowContext(ctx, "SELECT txid_status($1)", xid).Scan(&status)
		})
		switch {
		case err != nil || !status.Valid:
			return txUnknown
		case status.String == "committed":
			return txCommitted
		case status.String == "aborted":
			return txAborted
		}
		if time.Now().Add(wait).After(deadline) {
			return txUnknown
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return txUnknown
		case <-t.C:
		}
	}
}

// query returns the named query's text, rewritten for the dialect.
func (a *access) query(name string) (string, error) {
	q, ok := a.queries[name]
	if !ok {
		return "", fmt.Errorf("store: no query named %q in queries.sql", name)
	}
	return q, nil
}

// pool is where the named query runs: the read pool for a DB's reads, else q.
func (a *access) pool(name string) querier {
	if a.read != nil && a.reads[name] {
		return a.read
	}
	return a.q
}

// exec, queryRows and queryRow run a named query. On the pool, a transient failure is
// retried (retry.go); inside a transaction it is noted for WithTx, which runs the whole
// transaction again.
func (a *access) exec(ctx context.Context, name string, args ...any) (sql.Result, error) {
	q, err := a.query(name)
	if err != nil {
		return nil, err
	}
	if a.tx != nil {
		res, err := a.q.ExecContext(ctx, q, args...)
		return res, a.tx.note(err)
	}
	var res sql.Result
	err = a.res.retry(ctx, func() (err error) {
		res, err = a.pool(name).ExecContext(ctx, q, args...)
		return err
	})
	return res, err
}

// queryRows retries a query that fails before its first row; a failure while the rows are
// read (rows.Err) is the caller's.
func (a *access) queryRows(ctx context.Context, name string, args ...any) (*sql.Rows, error) {
	q, err := a.query(name)
	if err != nil {
		return nil, err
	}
	return a.queryRowsText(ctx, name, q, args...)
}

// queryRowsText is queryRows for q, a form of the named query (listQuery's).
func (a *access) queryRowsText(ctx context.Context, name, q string, args ...any) (*sql.Rows, error) {
	if a.tx != nil {
		rows, err := a.q.QueryContext(ctx, q, args...)
		return rows, a.tx.note(err)
	}
	var rows *sql.Rows
	err := a.res.retry(ctx, func() (err error) {
		rows, err = a.pool(name).QueryContext(ctx, q, args...)
		return err
	})
	return rows, err
}

// scanner is a row to scan: *sql.Row, *sql.Rows, or errRow.
type scanner interface {
	Scan(dest ...any) error
}

// queryRow runs a single-row query. On the pool it runs when Scan is called, so that Scan can
// run it again.
func (a *access) queryRow(ctx context.Context, name string, args ...any) scanner {
	q, err := a.query(name)
	if err != nil {
		return errRow{err}
	}
	if a.tx != nil {
		return txRow{row: a.q.QueryRowContext(ctx, q, args...), tx: a.tx}
	}
	return &retryRow{a: a, ctx: ctx, pool: a.pool(name), q: q, args: args}
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
