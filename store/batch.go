package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/jackc/pgx/v5"
)

// Bulk intake reads and writes a transaction's worth of bookings in a few statements instead
// of several per booking: the named queries of one row, widened to many (a key's "= ?" to
// "IN (?, …)", a "VALUES (…)" tuple to many), so that what a row is is written once, in
// queries.sql.

// maxRowsPerStatement keeps a widened statement under both databases' limits on parameters
// (SQLite 32,766; PostgreSQL 65,535) with the widest row (a delivery's 20).
const maxRowsPerStatement = 500

// widened caches the widened queries by dialect, name and width.
var widened sync.Map

// widen returns the named query for n rows: with key (such as "AND id = ?") that condition
// becomes "AND id IN (?, ?, …)"; without, its "VALUES (…)" tuple is repeated n times.
func (a *access) widen(name, key string, n int) (string, error) {
	cacheKey := fmt.Sprintf("%s/%s/%s/%d", a.dialect, name, key, n)
	if q, ok := widened.Load(cacheKey); ok {
		return q.(string), nil
	}
	raw, err := rawQuery(name)
	if err != nil {
		return "", err
	}
	var q string
	if key != "" {
		i := strings.Index(raw, key)
		if i < 0 || !strings.HasSuffix(key, " = ?") {
			return "", fmt.Errorf("store: query %q has no %q to widen", name, key)
		}
		q = raw[:i] + strings.TrimSuffix(key, "= ?") + "IN (?" + strings.Repeat(", ?", n-1) + ")" + raw[i+len(key):]
	} else if i := strings.Index(raw, "VALUES ("); i >= 0 {
		end := strings.IndexByte(raw[i:], ')')
		if end < 0 {
			return "", fmt.Errorf("store: query %q has no VALUES tuple to widen", name)
		}
		tuple := raw[i+len("VALUES ") : i+end+1]
		q = raw[:i] + "VALUES " + tuple + strings.Repeat(", "+tuple, n-1) + raw[i+end+1:]
	} else {
		return "", fmt.Errorf("store: query %q has nothing to widen", name)
	}
	if a.dialect == DialectPostgres {
		q = rebind(q)
	}
	widened.Store(cacheKey, q)
	return q, nil
}

// rawQuery is the named query as queries.sql has it ("?" placeholders), without its comment
// lines.
func rawQuery(name string) (string, error) {
	qs, err := parsedQueries()
	if err != nil {
		return "", err
	}
	raw, ok := qs[name]
	if !ok {
		return "", fmt.Errorf("store: no query named %q in queries.sql", name)
	}
	var lines []string
	for _, l := range strings.Split(raw, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n"), nil
}

// inChunks calls fn on successive parts of n items, each at most maxRowsPerStatement long.
func inChunks(n int, fn func(from, to int) error) error {
	for from := 0; from < n; from += maxRowsPerStatement {
		if err := fn(from, min(from+maxRowsPerStatement, n)); err != nil {
			return err
		}
	}
	return nil
}

// GetBookings reads those of a property's bookings with the given ids that exist.
func (a *access) GetBookings(ctx context.Context, pid string, ids []string) ([]*bellhop.Booking, error) {
	out, err := readByIDs(ctx, a, "get-booking", "AND id = ?", pid, ids, scanBooking)
	if err != nil {
		return nil, fmt.Errorf("read %d bookings of property %q: %w", len(ids), pid, err)
	}
	return out, nil
}

// BookingsDeliveries reads the ledger rows of a property's bookings with the given ids.
func (a *access) BookingsDeliveries(ctx context.Context, pid string, bookingIDs []string) ([]*bellhop.Delivery, error) {
	out, err := readByIDs(ctx, a, "list-booking-deliveries", "AND booking_id = ?", pid, bookingIDs, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of %d bookings of property %q: %w", len(bookingIDs), pid, err)
	}
	return out, nil
}

// readByIDs runs a one-row query of a property's rows (property_id = ? AND key) for many ids,
// in as few statements as the databases' limits allow.
func readByIDs[T any](ctx context.Context, a *access, name, key, pid string, ids []string, scan func(scanner) (*T, error)) ([]*T, error) {
	var out []*T
	err := inChunks(len(ids), func(from, to int) error {
		list, err := queryWide(ctx, a, name, key, to-from, scan, append([]any{pid}, anys(ids[from:to])...)...)
		out = append(out, list...)
		return err
	})
	return out, err
}

// SaveBookings stores bookings of distinct ids as SaveBooking stores each — a stored booking
// as new or newer is kept — in a few statements, and returns how many were stored. It does
// not write back revisions: the caller knows them, having read the stored bookings first.
func (a *access) SaveBookings(ctx context.Context, bs []*bellhop.Booking, receivedAt time.Time) (int, error) {
	saved := 0
	err := inChunks(len(bs), func(from, to int) error {
		args := make([]any, 0, (to-from)*15)
		for _, b := range bs[from:to] {
			args = append(args, bookingArgs(b, receivedAt)...)
		}
		n, err := queryWide(ctx, a, "upsert-booking", "", to-from, func(row scanner) (*struct{}, error) {
			var rev, seen any
			return &struct{}{}, row.Scan(&rev, &seen)
		}, args...)
		saved += len(n)
		return err
	})
	if isForeignKeyViolation(err) && len(bs) > 0 {
		return 0, propertyNotFound(bs[0].PropertyID)
	}
	if err != nil {
		return 0, fmt.Errorf("save %d bookings: %w", len(bs), err)
	}
	return saved, nil
}

// SaveDeliveries stores ledger rows of distinct ids as SaveDelivery stores each, in a few
// statements.
func (a *access) SaveDeliveries(ctx context.Context, ds []*bellhop.Delivery) error {
	err := inChunks(len(ds), func(from, to int) error {
		args := make([]any, 0, (to-from)*20)
		for _, d := range ds[from:to] {
			args = append(args, deliveryArgs(d)...)
		}
		q, err := a.widen("save-delivery", "", to-from)
		if err != nil {
			return err
		}
		_, err = a.q.ExecContext(ctx, q, args...)
		return a.note(err)
	})
	if isForeignKeyViolation(err) && len(ds) > 0 {
		return propertyNotFound(ds[0].PropertyID)
	}
	if err != nil {
		return fmt.Errorf("save %d deliveries: %w", len(ds), err)
	}
	return nil
}

// queryWide runs a widened query inside the transaction and scans every row.
func queryWide[T any](ctx context.Context, a *access, name, key string, n int, scan func(scanner) (*T, error), args ...any) ([]*T, error) {
	q, err := a.widen(name, key, n)
	if err != nil {
		return nil, err
	}
	if a.dialect == DialectPostgres {
		// As with the ledger's list: a cached statement goes over to one generic plan after
		// five runs, and for "booking_id IN (250 values)" that plan read the property's whole
		// ledger (0.4–0.9 s a batch in the intake bench). Planned for its values each time, it
		// takes the index.
		args = append([]any{pgx.QueryExecModeExec}, args...)
	}
	rows, err := a.q.QueryContext(ctx, q, args...)
	if err = a.note(err); err != nil {
		return nil, err
	}
	return collect(rows, scan)
}

// note records a failure for WithTx (inside a transaction; the batch methods are only for
// transactions, where a statement is not retried on its own).
func (a *access) note(err error) error {
	if a.tx == nil {
		return err
	}
	return a.tx.note(err)
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
