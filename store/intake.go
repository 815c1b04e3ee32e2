package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bellhop/bellhop"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// IntakeReads reads what a booking's push decides on: the stored booking (nil when there is
// none), the property's mailings and the booking's ledger rows.
//
// Inside a PostgreSQL transaction the three go to the server in one round trip (a pgx batch
// on the transaction's connection) together with the transaction's id, which the commit
// would otherwise ask for in a round trip of its own: a push is then six round trips (the
// token, BEGIN, these reads, the booking, its ledger rows, COMMIT) instead of nine. Elsewhere
// (SQLite, the pool, a wrapped driver) they run one after the other.
func (a *access) IntakeReads(ctx context.Context, pid, bid string) (*bellhop.Booking, []*bellhop.Mailing, []*bellhop.Delivery, error) {
	if a.tx != nil && a.tx.conn != nil { // a PostgreSQL transaction (runTx)
		b, ms, ds, err := a.batchIntakeReads(ctx, pid, bid)
		if !errors.Is(err, errNotPgx) {
			return b, ms, ds, a.tx.note(err)
		}
	}
	b, err := a.GetBooking(ctx, pid, bid)
	if bellhop.IsNotFound(err) {
		b, err = nil, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	ms, err := a.ListMailings(ctx, pid)
	if err != nil {
		return nil, nil, nil, err
	}
	ds, err := a.BookingDeliveries(ctx, pid, bid)
	if err != nil {
		return nil, nil, nil, err
	}
	return b, ms, ds, nil
}

// errNotPgx is a transaction whose driver connection is not pgx's (tests wrap it to inject
// faults): its reads go one by one.
var errNotPgx = errors.New("store: the connection is not pgx's")

// batchIntakeReads is IntakeReads as one pgx batch on the transaction's connection.
func (a *access) batchIntakeReads(ctx context.Context, pid, bid string) (b *bellhop.Booking, ms []*bellhop.Mailing, ds []*bellhop.Delivery, err error) {
	var qs [3]string
	for i, name := range []string{"get-booking", "list-mailings", "list-booking-deliveries"} {
		if qs[i], err = a.query(name); err != nil {
			return nil, nil, nil, err
		}
	}
	// The batch's error is kept out of Raw's answer: were it driver.ErrBadConn, Raw would
	// close the sql.Conn at once, waiting for the transaction that holds it — itself. A
	// connection the batch lost is discarded when the transaction ends (pgx reports it closed).
	raw := a.tx.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			err = errNotPgx
			return nil
		}
		batch := &pgx.Batch{}
		batch.Queue("SELECT txid_current()")
		batch.Queue(qs[0], pid, bid)
		batch.Queue(qs[1], pid)
		batch.Queue(qs[2], pid, bid)
		br := c.Conn().SendBatch(ctx, batch)
		err = readIntakeBatch(br, a.tx, &b, &ms, &ds)
		// Close reads what is left of the batch, and reports a failure the reads did not meet.
		err = errors.Join(err, br.Close())
		return nil
	})
	if err == nil {
		err = raw // the connection was closed already (sql.ErrConnDone)
	}
	if errors.Is(err, errNotPgx) {
		return nil, nil, nil, err
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read booking %q of property %q with its mailings and ledger: %w", bid, pid, err)
	}
	return b, ms, ds, nil
}

// readIntakeBatch reads batchIntakeReads' four results in order.
func readIntakeBatch(br pgx.BatchResults, tx *txState, b **bellhop.Booking, ms *[]*bellhop.Mailing, ds *[]*bellhop.Delivery) error {
	if err := br.QueryRow().Scan(&tx.xid); err != nil {
		return err
	}
	tx.xidRead = true
	booking, err := scanBooking(br.QueryRow())
	switch {
	case errors.Is(err, sql.ErrNoRows): // pgx.ErrNoRows is sql.ErrNoRows too
		booking = nil
	case err != nil:
		return err
	}
	*b = booking
	rows, err := br.Query()
	if err != nil {
		return err
	}
	if *ms, err = collectPgx(rows, scanMailing); err != nil {
		return err
	}
	if rows, err = br.Query(); err != nil {
		return err
	}
	*ds, err = collectPgx(rows, scanDelivery)
	return err
}

// collectPgx is collect for a pgx result.
func collectPgx[T any](rows pgx.Rows, scan func(scanner) (*T, error)) ([]*T, error) {
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
