package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Transient storage failures — a PostgreSQL connection the server killed (a restart, a failover,
// pg_terminate_backend), a deadlock or serialization failure, SQLite busy — are retried inside
// the request, four times within about 800 milliseconds; what still fails is unavailable
// (503 with Retry-After), never an internal error.
//
// A single statement on the pool is retried by itself. A statement inside a transaction never
// is: the transaction is gone with its connection, so WithTx runs the whole transaction again.
// A write whose connection broke after it was sent may have taken effect; the store's writes
// are conditional (versions, upserts, "newer wins"), so running one twice leaves the same rows.

// retryDelays are the waits before each retry, jittered by ±50%.
// (A fourth, 500 ms, since TestStorageFaults on a loaded CI machine saw 3 of 21 requests meet
// a fresh kill on every try while PostgreSQL ended the connections every 100 ms: a retry there
// opens a new connection, prepares its statements and runs the transaction again, tens of
// milliseconds each. A request still gets its answer within a second.)
var retryDelays = []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond}

// resilience is what a DB and its transactions share about transient failures.
type resilience struct {
	delays []time.Duration
	// lostAt is when a PostgreSQL connection was last seen lost (unix ns). A server that kills
	// one connection has usually killed every idle one of the pool too (a restart, a failover),
	// so each connection idle since then is pinged before its next use: a dead one is dropped
	// and database/sql takes another, instead of each retry meeting the next dead connection.
	lostAt atomic.Int64
	// dropIdle, when set, closes the pool's idle connections: called when a connection is
	// seen lost, at most once per lostEvery, so that the next requests open live ones
	// instead of finding the dead ones one ping at a time.
	dropIdle func()
	dropped  atomic.Int64 // when dropIdle last ran (unix ns)
}

// lostEvery is how often a pool's idle connections are dropped at most.
const lostEvery = 50 * time.Millisecond

func newResilience() *resilience { return &resilience{delays: retryDelays} }

// shouldPing is pgx's liveness check before a pooled connection is reused: after a second
// idle (pgx's default), or when it sat idle while another connection was lost.
func (r *resilience) shouldPing(_ context.Context, p stdlib.ShouldPingParams) bool {
	if p.IdleDuration > time.Second {
		return true
	}
	lastUsed := time.Now().Add(-p.IdleDuration).UnixNano()
	return lastUsed <= r.lostAt.Load()
}

// noteTransient records a transient failure: a lost connection makes the pool check its
// idle ones.
func (r *resilience) noteTransient(err error) {
	if isConflict(err) || isSQLiteBusy(err) {
		return
	}
	now := time.Now().UnixNano()
	r.lostAt.Store(now)
	if last := r.dropped.Load(); r.dropIdle != nil && now-last >= int64(lostEvery) && r.dropped.CompareAndSwap(last, now) {
		r.dropIdle()
	}
}

// retry runs op until it succeeds, fails for a reason that is not transient, or has been
// tried len(delays)+1 times; a transient failure that outlasts the retries, or the context,
// is unavailable. An error already unavailable (retried further down) is final.
func (r *resilience) retry(ctx context.Context, op func() error) error {
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil || !isTransient(err) {
			return err
		}
		if bellhop.ErrorCode(err) == bellhop.EUnavailable {
			return err
		}
		r.noteTransient(err)
		if attempt >= len(r.delays) {
			return unavailable(err)
		}
		d := r.delays[attempt]
		d = d/2 + rand.N(d) // jitter: callers that failed together do not retry together
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return unavailable(err)
		case <-t.C:
		}
	}
}

// unavailable is err for the user: the database is briefly unavailable, try again.
func unavailable(err error) error {
	if bellhop.ErrorCode(err) == bellhop.EUnavailable {
		return err
	}
	return &bellhop.Error{
		Code:    bellhop.EUnavailable,
		Message: "The database is briefly unavailable; please try again in a few seconds.",
		Err:     err,
	}
}

// transientAsUnavailable is err, or unavailable(err) when err is transient.
func transientAsUnavailable(err error) error {
	if err != nil && isTransient(err) {
		return unavailable(err)
	}
	return err
}

// isTransient reports whether err is a failure that the same request may well not meet a
// moment later: a lost or refused connection, a server shutting down or starting up, a
// deadlock or serialization failure, SQLite busy or locked. A cancelled or expired context is
// not: the caller has stopped waiting.
func isTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if bellhop.ErrorCode(err) == bellhop.EUnavailable {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return isSQLiteBusy(err)
	}
	// A server's answer says what happened; this comes before the network checks below, so
	// that a refused login (28P01) behind a ConnectError is not taken for a network failure.
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return transientState(pe.Code)
	}
	// Any other failure to connect is the server out of reach, a connect timeout included.
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return false // the caller's deadline: it has stopped waiting
	}
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return true
	}
	if pgconn.SafeToRetry(err) { // pgx knows nothing was sent
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// transientState reports whether a PostgreSQL SQLSTATE means "try again": class 08
// (connection exception), 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
// cannot_connect_now, 40001 serialization_failure, 40P01 deadlock_detected.
func transientState(code string) bool {
	switch code {
	case "57P01", "57P02", "57P03", "40001", "40P01":
		return true
	}
	return strings.HasPrefix(code, "08")
}

// isConflict reports a PostgreSQL serialization failure or deadlock: the server rolled the
// transaction back, and the connection is fine.
func isConflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

func isSQLiteBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff { // the primary code: SQLITE_BUSY_SNAPSHOT is busy too
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

// txState is what a transaction's statements tell WithTx: the first transient failure seen,
// after which the transaction cannot commit, whatever fn makes of the error.
type txState struct {
	res    *resilience
	broken atomic.Pointer[error]
	// conn is the transaction's connection on PostgreSQL, for what database/sql cannot send
	// (a pgx batch); nil on SQLite.
	conn *sql.Conn
	// xid is the transaction's id once a statement has read it (xidRead), so that the commit
	// need not ask for it.
	xid     int64
	xidRead bool
}

// note records err when it is transient, and returns it unchanged.
func (s *txState) note(err error) error {
	if err != nil && isTransient(err) {
		s.broken.CompareAndSwap(nil, &err)
		s.res.noteTransient(err)
	}
	return err
}

// failure is the transient error the transaction met, or nil.
func (s *txState) failure() error {
	if p := s.broken.Load(); p != nil {
		return *p
	}
	return nil
}

// retryRow is a single-row query on the pool. database/sql runs the query before Scan but
// reports its error from Scan, so the retry happens here: each try queries and scans again.
type retryRow struct {
	a    *access
	ctx  context.Context
	pool querier
	q    string
	args []any
}

func (r *retryRow) Scan(dest ...any) error {
	return r.a.res.retry(r.ctx, func() error {
		return r.pool.QueryRowContext(r.ctx, r.q, r.args...).Scan(dest...)
	})
}

// txRow is a single-row query inside a transaction: not retried, but a transient failure
// is noted for WithTx.
type txRow struct {
	row *sql.Row
	tx  *txState
}

func (r txRow) Scan(dest ...any) error { return r.tx.note(r.row.Scan(dest...)) }
