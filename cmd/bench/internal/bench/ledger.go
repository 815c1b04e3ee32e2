package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/store"
)

// ledgerQuery is one way the ledger is listed (GET …/deliveries), at two table sizes.
type ledgerQuery struct {
	Name   string
	filter func(pid string, rnd *rand.Rand) bellhop.DeliveryFilter
	// P50, P99 and Max at the smaller and the larger table.
	P50, P99, Max [2]time.Duration
}

type ledgerResult struct {
	Rows    [2]int // the table's size at each measure
	Fill    time.Duration
	Queries []ledgerQuery
	Err     error // PostgreSQL was not there: not measured
}

// ledgerProperties share the ledger's rows: a chain's hotels in one database.
const ledgerProperties = 10

// ledgerBase is the first row's planned time; rows are a minute apart.
var ledgerBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// ledgerList fills the deliveries table on PostgreSQL to a tenth of o.LedgerRows, then to all
// of them, and measures each list of the ledger API at both sizes: with the indexes the lists
// use, the time to answer does not grow with the table.
func (b *bench) ledgerList(ctx context.Context) (ledgerResult, error) {
	r := ledgerResult{Rows: [2]int{b.o.LedgerRows / 10, b.o.LedgerRows}}
	db, err := b.openDB(ctx, store.DialectPostgres)
	if err != nil {
		r.Err = err
		return r, nil
	}
	defer db.close()
	raw, err := sql.Open("pgx", db.dsn)
	if err != nil {
		return r, err
	}
	defer raw.Close()
	if _, err := raw.ExecContext(ctx, `INSERT INTO properties (id, name, time_zone, country, language, contact_center, created_at, updated_at)
		SELECT 'hotel-' || p, 'Hotel ' || p, 'UTC', '', 'en', TRUE, 0, 0 FROM generate_series(0, $1::int - 1) AS p`, ledgerProperties); err != nil {
		return r, fmt.Errorf("ledger: create hotels: %w", err)
	}
	r.Queries = []ledgerQuery{
		{Name: "newest 100", filter: func(string, *rand.Rand) bellhop.DeliveryFilter { return bellhop.DeliveryFilter{} }},
		{Name: "status = skipped (5 % of rows)", filter: func(string, *rand.Rand) bellhop.DeliveryFilter {
			return bellhop.DeliveryFilter{Status: bellhop.DeliverySkipped}
		}},
		{Name: "kind = non_guaranteed (5 %)", filter: func(string, *rand.Rand) bellhop.DeliveryFilter {
			return bellhop.DeliveryFilter{Kind: bellhop.NonGuaranteedReminder}
		}},
		{Name: "one booking", filter: func(pid string, rnd *rand.Rand) bellhop.DeliveryFilter {
			var p int
			fmt.Sscanf(pid, "hotel-%d", &p)
			i := p + ledgerProperties*rnd.IntN(r.Rows[0]/ledgerProperties)
			return bellhop.DeliveryFilter{BookingID: fmt.Sprintf("B%d", i/2)}
		}},
		{Name: "one week, from/to", filter: func(_ string, rnd *rand.Rand) bellhop.DeliveryFilter {
			from := ledgerBase.Add(time.Duration(rnd.IntN(r.Rows[0]/2)) * time.Minute)
			return bellhop.DeliveryFilter{PlannedFrom: from, PlannedTo: from.Add(7 * 24 * time.Hour)}
		}},
	}
	start := time.Now()
	filled := 0
	for size := range r.Rows {
		b.logf("scenario 6: filling the ledger to %d rows", r.Rows[size])
		if err := fillLedger(ctx, raw, filled, r.Rows[size]); err != nil {
			return r, err
		}
		filled = r.Rows[size]
		if err := b.measureLedger(ctx, db.DB, &r, size); err != nil {
			return r, err
		}
	}
	r.Fill = time.Since(start)
	return r, nil
}

// fillLedger adds rows from..to: finished messages mostly, 1 % failed, 5 % skipped, 5 %
// non-guaranteed reminders, spread over the hotels, planned a minute apart.
func fillLedger(ctx context.Context, raw *sql.DB, from, to int) error {
	_, err := raw.ExecContext(ctx, `
INSERT INTO deliveries (id, property_id, booking_id, kind, stay_key, phone, language, planned_at, due_at, status,
                        provider, provider_message_id, sender_id, attempts, version, sent_at, created_at, updated_at, queued_version)
SELECT 'dl_' || i, 'hotel-' || (i % $3::int), 'B' || (i / 2),
       CASE WHEN ((i / $3::int) * 40503) % 100 < 5 THEN 'non_guaranteed' WHEN ((i / $3::int) * 40503) % 100 < 50 THEN 'welcome' ELSE 'feedback' END,
       'k' || i, '+7999' || lpad((i % 10000000)::text, 7, '0'), 'en', $4::bigint + i * 60000000, $4::bigint + i * 60000000,
       CASE WHEN ((i / $3::int) * 7919) % 1000 < 10 THEN 'failed' WHEN ((i / $3::int) * 7919) % 1000 < 60 THEN 'skipped'
            WHEN ((i / $3::int) * 7919) % 1000 < 500 THEN 'read' ELSE 'delivered' END,
       'intellectdialog', 'm' || i, '1', 1, 1, $4::bigint + i * 60000000, 0, 0, 1
FROM generate_series($1::bigint, $2::bigint - 1) AS i`, from, to, ledgerProperties, ledgerBase.UnixMicro())
	if err != nil {
		return fmt.Errorf("ledger: fill rows %d to %d: %w", from, to, err)
	}
	_, err = raw.ExecContext(ctx, "ANALYZE deliveries")
	return err
}

func (b *bench) measureLedger(ctx context.Context, db *store.DB, r *ledgerResult, size int) error {
	rnd := rand.New(rand.NewPCG(1, uint64(size)))
	for qi := range r.Queries {
		q := &r.Queries[qi]
		times := make([]time.Duration, 0, b.o.LedgerReads)
		// The first reads after a fill warm the caches up; they are not counted.
		for n := range b.o.LedgerReads + 10 {
			pid := fmt.Sprintf("hotel-%d", rnd.IntN(ledgerProperties))
			f := q.filter(pid, rnd)
			f.Limit = 100
			start := time.Now()
			list, err := db.ListDeliveries(ctx, pid, f)
			if err != nil {
				return fmt.Errorf("ledger: list %s: %w", q.Name, err)
			}
			if n >= 10 {
				times = append(times, time.Since(start))
			}
			if len(list) == 0 {
				return fmt.Errorf("ledger: list %s of %s found nothing", q.Name, pid)
			}
		}
		q.P50[size], q.P99[size] = percentile(times, 0.50), percentile(times, 0.99)
		q.Max[size] = times[len(times)-1]
	}
	return nil
}

func (b *bench) printLedger(r ledgerResult) {
	fmt.Fprintf(b.out, "Scenario 6 — the ledger's lists on PostgreSQL as the table grows (GET …/deliveries, 100 rows, %d reads each,\n", b.o.LedgerReads)
	fmt.Fprintf(b.out, "  %d hotels); the issue's figure is 10,000,000 rows: %d is what fills within the time budget\n", ledgerProperties, r.Rows[1])
	if r.Err != nil {
		fmt.Fprintf(b.out, "  not measured: %v\n\n", r.Err)
		return
	}
	w := newTable(b.out, "", fmt.Sprintf("p50 / p99 / max at %d rows", r.Rows[0]), fmt.Sprintf("at %d rows", r.Rows[1]), "p99 ratio")
	for _, q := range r.Queries {
		cell := func(i int) string {
			return fmt.Sprintf("%.2f / %.2f / %.2f ms", ms(q.P50[i]), ms(q.P99[i]), ms(q.Max[i]))
		}
		w.line(q.Name, cell(0), cell(1), fmt.Sprintf("%.2f×", float64(q.P99[1])/float64(max(q.P99[0], time.Microsecond))))
	}
	w.flush()
	fmt.Fprintf(b.out, "  filling and reading took %.1f s\n\n", r.Fill.Seconds())
}
