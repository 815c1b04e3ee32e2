package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/store"
)

// capacityRun is one way of counting a property's pending sends per day.
type capacityRun struct {
	p50, max time.Duration
	counted  int
}

type capacityResult struct {
	rows, pending int
	fill          time.Duration
	ours, scan    capacityRun
}

// capacityRounds is how often each count runs; the median and the slowest are shown.
const capacityRounds = 25

// capacity times the capacity view's count on SQLite: a hotel with CapacityPending sends
// planned over the next week in a ledger of CapacityRows rows (the others' plans and
// everyone's history), counted per kind and day as the view does (eight aggregates over
// ranges of the deliveries_pending index), beside reading each of those rows and counting
// them per kind and day (what a count without the index would do).
func (b *bench) capacity(ctx context.Context) (capacityResult, error) {
	o := b.o
	r := capacityResult{rows: o.CapacityRows, pending: o.CapacityPending}
	dir, err := os.MkdirTemp("", "bellhop-bench-capacity-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bellhop.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		return r, err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return r, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	const hotels = 100
	for i := range hotels {
		p := &bellhop.Property{ID: fmt.Sprintf("hotel-%03d", i), Name: "Bench Hotel", TimeZone: "Europe/Moscow", Language: "en", CreatedAt: now, UpdatedAt: now}
		if err := db.CreateProperty(ctx, p); err != nil {
			return r, err
		}
	}
	b.logf("capacity: filling a ledger of %d rows", o.CapacityRows)
	start := time.Now()
	if err := fillCapacityLedger(ctx, path, o.CapacityRows, o.CapacityPending, hotels, now); err != nil {
		return r, err
	}
	r.fill = time.Since(start)

	until := now.Add(7 * 24 * time.Hour)
	time1 := func(count func() (int, error)) (capacityRun, error) {
		var took []time.Duration
		var run capacityRun
		for range capacityRounds {
			t0 := time.Now()
			n, err := count()
			if err != nil {
				return run, err
			}
			took = append(took, time.Since(t0))
			run.counted = n
		}
		run.p50, run.max = percentile(took, 0.5), percentile(took, 1)
		return run, nil
	}
	b.logf("capacity: counting")
	// As the capacity view counts: what is carried from before today, then each day's.
	if r.ours, err = time1(func() (int, error) {
		n, from := 0, time.Time{}
		for i := range 8 {
			to := now.Add(time.Duration(i) * 24 * time.Hour)
			counts, err := db.CountPending(ctx, "hotel-000", from, to)
			if err != nil {
				return 0, err
			}
			for _, c := range counts {
				n += c
			}
			from = to
		}
		return n, nil
	}); err != nil {
		return r, err
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		return r, err
	}
	defer raw.Close()
	if r.scan, err = time1(func() (int, error) { return scanPending(ctx, raw, "hotel-000", until) }); err != nil {
		return r, err
	}
	if r.ours.counted != o.CapacityPending || r.scan.counted != o.CapacityPending {
		return r, fmt.Errorf("counted %d and %d pending sends, want %d", r.ours.counted, r.scan.counted, o.CapacityPending)
	}
	return r, nil
}

// fillCapacityLedger writes rows ledger rows in one transaction: pending of them scheduled for
// hotel-000 over the next week, the rest spread over the other hotels, half of those sent
// (history) and half planned up to two months ahead.
func fillCapacityLedger(ctx context.Context, path string, rows, pending, hotels int, now time.Time) error {
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer raw.Close()
	// A bulk load: the ledger's indexes are dropped and built again after, as an import
	// would, rather than grown row by row.
	var indexes []string
	rs, err := raw.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries' AND sql IS NOT NULL`)
	if err != nil {
		return err
	}
	for rs.Next() {
		var name, ddl string
		if err := rs.Scan(&name, &ddl); err != nil {
			rs.Close()
			return err
		}
		indexes = append(indexes, name, ddl)
	}
	rs.Close()
	for i := 0; i < len(indexes); i += 2 {
		if _, err := raw.ExecContext(ctx, "DROP INDEX "+indexes[i]); err != nil {
			return err
		}
	}
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO deliveries (id, property_id, booking_id, kind, stay_key, phone,
		planned_at, due_at, status, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`)
	if err != nil {
		return err
	}
	kinds := []string{"welcome", "feedback", "non_guaranteed"}
	week, months := 7*24*time.Hour, 60*24*time.Hour
	for i := range rows {
		pid, status := "hotel-000", "scheduled"
		at := now.Add(time.Duration(i) * week / time.Duration(max(pending, 1)))
		if i >= pending {
			pid = fmt.Sprintf("hotel-%03d", 1+i%(hotels-1))
			at = now.Add(time.Duration(i%1000) * months / 1000)
			if i%2 == 0 {
				status, at = "sent", now.Add(-time.Duration(i%1000)*months/1000)
			}
		}
		us := at.UnixMicro()
		id := fmt.Sprintf("dl_%08d", i)
		if _, err := stmt.ExecContext(ctx, id, pid, id, kinds[i%3], id, "+7912", us, us, status, us, us); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	for i := 1; i < len(indexes); i += 2 {
		if _, err := raw.ExecContext(ctx, indexes[i]); err != nil {
			return err
		}
	}
	_, err = raw.ExecContext(ctx, "ANALYZE")
	return err
}

// scanPending counts the property's pending sends by reading each row, as the capacity view
// would without its index.
func scanPending(ctx context.Context, raw *sql.DB, pid string, until time.Time) (int, error) {
	rows, err := raw.QueryContext(ctx, `SELECT kind, planned_at FROM deliveries NOT INDEXED
		WHERE property_id = ? AND status = 'scheduled' AND planned_at < ?`, pid, until.UnixMicro())
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	perDay := map[[2]any]int{}
	n := 0
	for rows.Next() {
		var kind string
		var at int64
		if err := rows.Scan(&kind, &at); err != nil {
			return 0, err
		}
		perDay[[2]any{kind, at / (24 * 3600 * 1e6)}]++
		n++
	}
	return n, rows.Err()
}

func (b *bench) printCapacity(r capacityResult) {
	fmt.Fprintf(b.out, "Scenario 8 — capacity ahead of time: one hotel's pending sends of the next week counted per kind and day,\n")
	fmt.Fprintf(b.out, "  SQLite, %d of %d ledger rows (filled in %.1f s); %d rounds each\n", r.pending, r.rows, r.fill.Seconds(), capacityRounds)
	w := newTable(b.out, "", "indexed count (ours)", "reading every row (no index)")
	row(w, "sends counted", func(x capacityRun) string { return fmt.Sprint(x.counted) }, [2]capacityRun{r.ours, r.scan})
	row(w, "query p50", func(x capacityRun) string { return fmt.Sprintf("%.1f ms", ms(x.p50)) }, [2]capacityRun{r.ours, r.scan})
	row(w, "query slowest", func(x capacityRun) string { return fmt.Sprintf("%.1f ms", ms(x.max)) }, [2]capacityRun{r.ours, r.scan})
	w.flush()
	fmt.Fprintln(b.out)
}
