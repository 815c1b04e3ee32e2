package store_test

import (
	"context"
	"crypto/rand"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/store"
	"github.com/jackc/pgx/v5/pgconn"
)

// Transient failures under the store — a connection the server killed, a deadlock, SQLite
// busy — are retried; what outlasts the retries is unavailable, never an internal error.

func TestFaultsSQLite(t *testing.T) {
	faultSuite(t, func(t *testing.T) string { return filepath.Join(t.TempDir(), "bellhop.db") })
}

func TestFaultsPostgres(t *testing.T) {
	pg := requirePostgres(t)
	faultSuite(t, pg.freshSchema)
}

// killed is what PostgreSQL answers on a connection pg_terminate_backend ended.
var killed = &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"}

// reset is a connection the network dropped.
var reset = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}

func faultSuite(t *testing.T, newDSN func(t *testing.T) string) {
	ctx := context.Background()
	setup := func(t *testing.T) (*store.DB, *faults) {
		t.Helper()
		f := &faults{}
		db, err := store.OpenWrapped(ctx, newDSN(t), f.wrap)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateProperty(ctx, property("a")); err != nil {
			t.Fatal(err)
		}
		return db, f
	}

	t.Run("statements retried", func(t *testing.T) {
		t.Parallel()
		db, f := setup(t)
		f.fail("query", 2, killed)
		if p, err := db.GetProperty(ctx, "a"); err != nil || p.ID != "a" {
			t.Fatalf("GetProperty after two killed connections = %v, %v; want property a", p, err)
		}
		if n := f.count("query"); n != 3 {
			t.Errorf("GetProperty queried %d times, want 3 (two failures, then the answer)", n)
		}
		f.fail("query", 1, reset)
		if list, err := db.ListProperties(ctx); err != nil || len(list) != 1 {
			t.Errorf("ListProperties after a reset connection = %d properties, %v; want 1", len(list), err)
		}
		// The connection lost while the answer's rows are read: a passing fault, unavailable.
		f.fail("next", 1, reset)
		if list, err := db.ListProperties(ctx); bellhop.ErrorCode(err) != bellhop.EUnavailable {
			t.Errorf("ListProperties losing its connection mid-read = %d properties, %v; want unavailable", len(list), err)
		}
		f.fail("exec", 3, reset)
		if err := db.CreateProperty(ctx, property("b")); err != nil {
			t.Fatalf("CreateProperty after three reset connections: %v", err)
		}
		if _, err := db.GetProperty(ctx, "b"); err != nil {
			t.Errorf("GetProperty(b) after the retried create: %v", err)
		}
	})

	t.Run("other errors not retried", func(t *testing.T) {
		t.Parallel()
		db, f := setup(t)
		f.fail("query", 0, nil)
		if _, err := db.GetProperty(ctx, "nope"); !bellhop.IsNotFound(err) {
			t.Errorf("GetProperty(nope) = %v, want not found", err)
		}
		if err := db.CreateProperty(ctx, property("a")); bellhop.ErrorCode(err) != bellhop.EConflict {
			t.Errorf("CreateProperty of an existing id = %v, want conflict", err)
		}
		if q, e := f.count("query"), f.count("exec"); q != 1 || e != 1 {
			t.Errorf("queried %d and executed %d times, want once each", q, e)
		}
	})

	t.Run("persistent failure is unavailable", func(t *testing.T) {
		t.Parallel()
		db, f := setup(t)
		f.fail("query", -1, killed)
		_, err := db.GetProperty(ctx, "a")
		if bellhop.ErrorCode(err) != bellhop.EUnavailable {
			t.Fatalf("GetProperty on a database that keeps failing = %v, want unavailable", err)
		}
		if msg := bellhop.ErrorMessage(err); !strings.Contains(msg, "briefly unavailable") || !strings.Contains(msg, "try again") {
			t.Errorf("message = %q, want it to say the database is briefly unavailable, try again", msg)
		}
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "57P01" {
			t.Errorf("error %v does not keep its cause for the logs", err)
		}
		if n := f.count("query"); n != 5 {
			t.Errorf("tried %d times, want 5 (once and four retries)", n)
		}
		f.fail("exec", -1, reset)
		if err := db.CreateProperty(ctx, property("b")); bellhop.ErrorCode(err) != bellhop.EUnavailable {
			t.Errorf("CreateProperty on a database that keeps failing = %v, want unavailable", err)
		}
	})

	t.Run("retries end with the context", func(t *testing.T) {
		t.Parallel()
		db, f := setup(t)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		f.fail("query", -1, killed)
		f.onFail(cancel) // the caller gives up while the store waits to retry
		if _, err := db.GetProperty(cctx, "a"); bellhop.ErrorCode(err) != bellhop.EUnavailable {
			t.Errorf("GetProperty = %v, want unavailable", err)
		}
		if n := f.count("query"); n != 1 {
			t.Errorf("tried %d times after the context ended, want 1", n)
		}
	})

	// A statement inside a transaction is never retried by itself: the whole transaction is.
	t.Run("transaction run again", func(t *testing.T) {
		t.Parallel()
		db, f := setup(t)
		for _, c := range []struct {
			name    string
			kind    string
			n       int
			err     error
			runs    int // times fn runs
			tries   int // operations of kind
			hideErr bool
		}{
			{name: "killed at begin", kind: "begin", n: 2, err: killed, runs: 1, tries: 3},
			{name: "killed inside", kind: "exec", n: 1, err: killed, runs: 2, tries: 2},
			{name: "deadlock inside", kind: "exec", n: 1, err: &pgconn.PgError{Code: "40P01"}, runs: 2, tries: 2},
			{name: "fn hides the failure", kind: "exec", n: 1, err: reset, runs: 2, tries: 2, hideErr: true},
			{name: "serialization failure at commit", kind: "commit", n: 1, err: &pgconn.PgError{Code: "40001"}, runs: 2, tries: 2},
		} {
			id := strings.ReplaceAll(c.name, " ", "-")
			f.fail(c.kind, c.n, c.err)
			runs := 0
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				runs++
				if err := tx.CreateProperty(ctx, property(id)); err != nil {
					if c.hideErr {
						return bellhop.Errorf(bellhop.EConflict, "could not create")
					}
					return err
				}
				_, err := tx.GetProperty(ctx, id)
				return err
			})
			if err != nil {
				t.Errorf("%s: WithTx = %v, want success", c.name, err)
			}
			if runs != c.runs || f.count(c.kind) != c.tries {
				t.Errorf("%s: fn ran %d times and %s was tried %d times, want %d and %d", c.name, runs, c.kind, f.count(c.kind), c.runs, c.tries)
			}
			if _, err := db.GetProperty(ctx, id); err != nil {
				t.Errorf("%s: the transaction's property: %v", c.name, err)
			}
		}
	})

	t.Run("transaction unavailable", func(t *testing.T) {
		t.Parallel()
		db, f := setup(t)
		f.fail("exec", -1, killed)
		runs := 0
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			runs++
			return tx.CreateProperty(ctx, property("b"))
		})
		if bellhop.ErrorCode(err) != bellhop.EUnavailable || runs != 5 {
			t.Errorf("WithTx on a database that keeps failing = %v after %d runs, want unavailable after 5", err, runs)
		}
		f.fail("exec", 0, nil)
		if _, err := db.GetProperty(ctx, "b"); !bellhop.IsNotFound(err) {
			t.Errorf("GetProperty(b) = %v, want not found: nothing was committed", err)
		}
	})

	// A commit whose connection broke may have committed. On PostgreSQL the store asks the
	// server what became of the transaction: rolled back runs fn again, committed is success
	// with fn run once. SQLite has no connection to lose, and no one to ask: unavailable, and
	// fn is not run again (running it twice could do twice what was meant once).
	t.Run("broken commit", func(t *testing.T) {
		t.Parallel()
		db, f := setup(t)
		postgres := db.Dialect() == store.DialectPostgres
		for _, c := range []struct {
			name, kind string
			runs       int // times fn runs on PostgreSQL
		}{
			{"lost before it reached the server", "commit", 2},
			{"committed, its answer lost", "commit-answer", 1},
		} {
			id := "b-" + c.kind
			f.fail(c.kind, 1, reset)
			runs := 0
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				runs++
				return tx.CreateProperty(ctx, property(id))
			})
			if !postgres {
				if bellhop.ErrorCode(err) != bellhop.EUnavailable || runs != 1 {
					t.Errorf("%s: WithTx = %v after %d runs, want unavailable after 1", c.name, err, runs)
				}
				continue
			}
			if err != nil || runs != c.runs {
				t.Errorf("%s: WithTx = %v after %d runs, want success after %d", c.name, err, runs, c.runs)
			}
			if _, err := db.GetProperty(ctx, id); err != nil {
				t.Errorf("%s: the transaction's property: %v", c.name, err)
			}
		}
	})
}

// faults wraps a database driver's connector: the next operations of one kind (exec, query,
// begin, commit) fail with a given error, and the errors the real driver returns are counted.
type faults struct {
	mu     sync.Mutex
	kind   string
	left   int // failures still to give; -1: all of them
	err    error
	hook   func()
	counts map[string]int
	real   []error
}

func (f *faults) wrap(c driver.Connector) driver.Connector { return faultConnector{c, f} }

// fail arms the next n operations of kind (all when n is -1) and resets the counts.
func (f *faults) fail(kind string, n int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kind, f.left, f.err, f.hook, f.counts = kind, n, err, nil, map[string]int{}
}

// onFail runs hook after each injected failure.
func (f *faults) onFail(hook func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = hook
}

func (f *faults) count(kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[kind]
}

// realErrors are the errors the wrapped driver returned.
func (f *faults) realErrors() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.real...)
}

// inject counts an operation of kind and returns the error it should fail with, if any.
func (f *faults) inject(kind string) error {
	f.mu.Lock()
	if f.counts == nil {
		f.counts = map[string]int{}
	}
	f.counts[kind]++
	if kind != f.kind || f.left == 0 {
		f.mu.Unlock()
		return nil
	}
	if f.left > 0 {
		f.left--
	}
	err, hook := f.err, f.hook
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	return err
}

func (f *faults) saw(err error) error {
	if err != nil && !errors.Is(err, driver.ErrSkip) {
		f.mu.Lock()
		f.real = append(f.real, err)
		f.mu.Unlock()
	}
	return err
}

type faultConnector struct {
	driver.Connector
	f *faults
}

func (c faultConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, c.f.saw(err)
	}
	return &faultConn{conn, c.f}, nil
}

// faultConn passes everything database/sql may ask of a connection to the real one.
type faultConn struct {
	driver.Conn
	f *faults
}

func (c *faultConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if err := c.f.inject("exec"); err != nil {
		return nil, err
	}
	res, err := c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
	return res, c.f.saw(err)
}

func (c *faultConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	if err := c.f.inject("query"); err != nil {
		return nil, err
	}
	rows, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
	if err != nil {
		return nil, c.f.saw(err)
	}
	return faultRows{rows, c.f}, nil
}

// faultRows can lose the connection while rows are read ("next"): the query was sent and
// answered, the reading fails.
type faultRows struct {
	driver.Rows
	f *faults
}

func (r faultRows) Next(dest []driver.Value) error {
	if err := r.f.inject("next"); err != nil {
		return err
	}
	return r.Rows.Next(dest)
}

func (c *faultConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := c.f.inject("begin"); err != nil {
		return nil, err
	}
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, c.f.saw(err)
	}
	return faultTx{tx, c.f}, nil
}

func (c *faultConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	return st, c.f.saw(err)
}

func (c *faultConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return c.f.saw(p.Ping(ctx))
	}
	return nil
}

func (c *faultConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return c.f.saw(r.ResetSession(ctx))
	}
	return nil
}

func (c *faultConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *faultConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type faultTx struct {
	driver.Tx
	f *faults
}

func (t faultTx) Commit() error {
	if err := t.f.inject("commit"); err != nil {
		_ = t.Tx.Rollback()
		return err
	}
	if err := t.f.inject("commit-answer"); err != nil {
		if cerr := t.Tx.Commit(); cerr != nil {
			return cerr
		}
		return err // committed, but the caller hears the connection broke
	}
	return t.f.saw(t.Tx.Commit())
}

// killable is a store on PostgreSQL whose connections the test can end, as a restart or a
// failover does: busy leaves several recently used connections in its pool, kill ends them
// all and waits until the server has. Its driver is wrapped to record the errors the store
// met (f), unless it is opened unwrapped: then pgx's own connections are the pool's, and a
// transaction's IntakeReads goes as a batch.
type killable struct {
	db         *store.DB
	f          *faults
	busy, kill func()
}

func newKillable(t *testing.T) killable { return openKillable(t, true) }

func openKillable(t *testing.T, wrapped bool) killable {
	t.Helper()
	pg := requirePostgres(t)
	ctx := context.Background()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	app := "bellhop_kill_" + hex.EncodeToString(b)
	u, err := url.Parse(pg.freshSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	f := &faults{}
	wrap := f.wrap
	if !wrapped {
		wrap = nil
	}
	db, err := store.OpenWrapped(ctx, u.String(), wrap)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateProperty(ctx, property("a")); err != nil {
		t.Fatal(err)
	}
	// busy keeps several connections in the pool, all used within the last second (older
	// ones pgx pings before use, and would drop without the store noticing).
	busy := func() {
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if _, err := db.ListProperties(ctx); err != nil {
					t.Errorf("warm up: %v", err)
				}
			})
		}
		wg.Wait()
	}
	kill := func() {
		t.Helper()
		var n int
		err := pg.admin.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`, app).Scan(&n)
		if err != nil || n == 0 {
			t.Fatalf("terminate the store's connections: %d ended, %v", n, err)
		}
		for range 200 { // until the server has really ended them
			err := pg.admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatal("the terminated connections are still there")
	}
	return killable{db: db, f: f, busy: busy, kill: kill}
}

// metKilled counts the errors of killed connections the store met.
func (k killable) metKilled() int {
	var met int
	for _, err := range k.f.realErrors() {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "57P01" || errors.Is(err, driver.ErrBadConn) {
			met++
		}
	}
	return met
}

// The real thing: pg_terminate_backend ends every connection of the store's pool between two
// calls; each next call still succeeds, on new connections, with its queries prepared again.
func TestPostgresKilledConnections(t *testing.T) {
	k := newKillable(t)
	db, busy, kill := k.db, k.busy, k.kill
	ctx := context.Background()

	for round := range 4 {
		id := fmt.Sprint("r", round)
		steps := []struct {
			name string
			run  func() error
		}{
			{"GetProperty", func() error { _, err := db.GetProperty(ctx, "a"); return err }},
			{"ListProperties", func() error { _, err := db.ListProperties(ctx); return err }},
			{"CreateProperty", func() error { return db.CreateProperty(ctx, property(id)) }},
			{"WithTx", func() error {
				return db.WithTx(ctx, func(tx *store.Tx) error {
					p, err := tx.GetProperty(ctx, id)
					if err != nil {
						return err
					}
					p.Name = "Renamed " + id
					return tx.UpdateProperty(ctx, p)
				})
			}},
		}
		for _, s := range steps {
			busy()
			kill()
			if err := s.run(); err != nil {
				t.Errorf("round %d: %s right after the connections were killed: %v", round, s.name, err)
			}
		}
	}
	if p, err := db.GetProperty(ctx, "r3"); err != nil || p.Name != "Renamed r3" {
		t.Errorf("GetProperty(r3) = %+v, %v; want it renamed", p, err)
	}

	// Killed after the transaction's statements, before its COMMIT reached the server: the
	// server rolled it back, the store asks and learns so, and runs it again (not 503).
	var once sync.Once
	store.SetBeforeCommit(db, func() { once.Do(kill) })
	runs := 0
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		runs++
		return tx.CreateProperty(ctx, property("at-commit"))
	})
	store.SetBeforeCommit(db, nil)
	if err != nil || runs != 2 {
		t.Errorf("WithTx killed just before its commit = %v after %d runs, want success after 2", err, runs)
	}
	if _, err := db.GetProperty(ctx, "at-commit"); err != nil {
		t.Errorf("the property of the transaction killed before its commit: %v", err)
	}
	// The test means something only if the store met the killed connections.
	if k.metKilled() == 0 {
		t.Errorf("the store never met a killed connection (errors seen: %v)", k.f.realErrors())
	}
}

// A push's transaction reads the transaction's id with its first reads (IntakeReads' batch),
// not in a round trip before COMMIT; when the connection is lost before the commit, the store
// asks about that id, learns the transaction was rolled back, and runs it again.
func TestPostgresIntakeKilledBeforeCommit(t *testing.T) {
	k := openKillable(t, false)
	db := k.db
	ctx := context.Background()
	var once sync.Once
	store.SetBeforeCommit(db, func() { once.Do(k.kill) })
	defer store.SetBeforeCommit(db, nil)
	runs := 0
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		runs++
		prev, _, _, err := tx.IntakeReads(ctx, "a", "k1")
		if err != nil {
			return err
		}
		if prev != nil {
			t.Errorf("run %d read the booking of a transaction that was rolled back: %+v", runs, prev)
		}
		_, err = tx.SaveBooking(ctx, booking("a", "k1", "2026-12-03", "2026-12-05", at), at)
		return err
	})
	if err != nil || runs != 2 {
		t.Errorf("a push's transaction killed just before its commit = %v after %d runs, want success after 2", err, runs)
	}
	if b, err := db.GetBooking(ctx, "a", "k1"); err != nil || b.Revision != 1 {
		t.Errorf("the booking after the rerun = %+v, %v; want it at revision 1", b, err)
	}
}

// A connection seen lost drops the pool's idle ones at once: the server that ended it has
// ended them too (a restart, a failover), and the next requests open live connections
// instead of meeting the dead ones one by one. The pool keeps its connections while nothing
// is lost: a steady load does not open new ones (scenario 9).
func TestPostgresLostConnectionDropsTheIdleOnes(t *testing.T) {
	k := newKillable(t)
	ctx := context.Background()
	k.busy()
	before := store.PoolStats(k.db)
	if before.Idle < 2 {
		t.Fatalf("the pool keeps %d idle connections after a burst of 4, want them kept", before.Idle)
	}
	k.busy()
	if s := store.PoolStats(k.db); s.MaxIdleClosed != before.MaxIdleClosed {
		t.Errorf("a second burst closed %d idle connections, want none", s.MaxIdleClosed-before.MaxIdleClosed)
	}
	k.kill()
	if _, err := k.db.GetProperty(ctx, "a"); err != nil {
		t.Fatalf("GetProperty after the connections were killed: %v", err)
	}
	// The store sees the loss when a statement meets a killed connection (57P01); a pinged one
	// (idle over a second, as on a loaded machine) is dropped by database/sql unseen.
	seen := false
	for _, err := range k.f.realErrors() {
		var pe *pgconn.PgError
		seen = seen || errors.As(err, &pe) && pe.Code == "57P01"
	}
	if after := store.PoolStats(k.db); seen && after.MaxIdleClosed == before.MaxIdleClosed {
		t.Errorf("no idle connection was dropped after one was seen lost (%+v)", after)
	}
}

// Two processes (two DBs on one file) writing at once: writers wait for each other, none
// fails with SQLITE_BUSY.
func TestSQLiteConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	// A short busy timeout: waiting in SQLite's busy handler would fail within the test.
	path := filepath.Join(t.TempDir(), "bellhop.db") + "?_pragma=busy_timeout(300)"
	first := open(t, path)
	if _, err := first.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	second := open(t, path) // another process
	if err := first.CreateProperty(ctx, property("a")); err != nil {
		t.Fatal(err)
	}
	const goroutines, rounds = 16, 8
	var wg sync.WaitGroup
	errs := make(chan error, 3*2*goroutines*rounds)
	for d, db := range []*store.DB{first, second} {
		for g := range goroutines {
			wg.Go(func() {
				for r := range rounds {
					id := fmt.Sprintf("p%d-%d-%d", d, g, r)
					errs <- db.WithTx(ctx, func(tx *store.Tx) error {
						if err := tx.CreateProperty(ctx, property(id)); err != nil {
							return err
						}
						p, err := tx.GetProperty(ctx, "a")
						if err != nil {
							return err
						}
						p.Name = id
						return tx.UpdateProperty(ctx, p)
					})
					p := property("a")
					p.Name = id + " alone"
					errs <- db.UpdateProperty(ctx, p)
					if _, err := db.ListProperties(ctx); err != nil {
						errs <- err
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			failed++
			if failed <= 5 {
				t.Errorf("concurrent write: %v", err)
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d writes failed, want none", failed, 2*2*goroutines*rounds)
	}
	list, err := second.ListProperties(ctx)
	if err != nil || len(list) != 1+2*goroutines*rounds {
		t.Errorf("ListProperties = %d properties, %v; want %d", len(list), err, 1+2*goroutines*rounds)
	}
}
