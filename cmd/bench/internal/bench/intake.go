package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/queue"
	"github.com/bellhop/bellhop/store"
	"github.com/bellhop/bellhop/web"
)

// intakeRun is one way of taking bookings in.
type intakeRun struct {
	n, refused int
	took       time.Duration
	rate       float64
	deliveries int // planned rows
}

type intakeResult struct {
	bulk, single intakeRun
}

const intakeQueue = "bench-intake"

// intake takes a chain hotel's bookings in on PostgreSQL: the bulk intake (NDJSON read by
// web.BookingLines, mailings.PutBookings in batches, as `bellhop import bookings` does) beside
// the single PUT's path (mailings.PutBooking, one transaction per booking), on the same
// database, with all three mailings enabled so every booking is planned.
func (b *bench) intake(ctx context.Context) (intakeResult, error) {
	o := b.o
	var r intakeResult
	db, err := b.openDB(ctx, store.DialectPostgres)
	if err != nil {
		return r, fmt.Errorf("%w: %v", errNoPostgres, err)
	}
	defer db.close()
	qc := queue.NewClient(b.rdb, intakeQueue)
	defer qc.Close()
	svc, err := mailings.New(mailings.Config{Store: txStore{db.DB}, Scheduler: qc, Logger: quietLogger()})
	if err != nil {
		return r, err
	}
	now := time.Now().UTC()
	for _, pid := range []string{"bulk", "single"} {
		if err := benchHotel(ctx, db.DB, pid, now); err != nil {
			return r, err
		}
	}

	// Bulk: the file as NDJSON, read and taken in as the import command does.
	var file bytes.Buffer
	for i := range o.IntakeBookings {
		raw, _ := json.Marshal(intakeBooking(i, now))
		file.Write(raw)
		file.WriteByte('\n')
	}
	b.logf("intake: %d bookings in bulk", o.IntakeBookings)
	start := time.Now()
	err = web.BookingLines(&file, 1000, func(lines []mailings.BatchLine) error {
		res, err := svc.PutBookings(ctx, "bulk", lines)
		for _, l := range res {
			if l.Status != mailings.LineCreated {
				r.bulk.refused++
			}
		}
		return err
	})
	if err != nil {
		return r, err
	}
	r.bulk.n, r.bulk.took = o.IntakeBookings, time.Since(start)

	// Single: one PutBooking (one transaction) per booking, the PUT's path without HTTP.
	single := min(o.IntakeSingle, o.IntakeBookings)
	b.logf("intake: %d bookings one by one", single)
	start = time.Now()
	for i := range single {
		var in struct {
			ID string `json:"id"`
			mailings.BookingInput
		}
		raw, _ := json.Marshal(intakeBooking(i, now))
		if err := json.Unmarshal(raw, &in); err != nil {
			return r, err
		}
		if _, err := svc.PutBooking(ctx, "single", in.Booking(in.ID)); err != nil {
			return r, fmt.Errorf("booking %d: %w", i, err)
		}
	}
	r.single.n, r.single.took = single, time.Since(start)

	for _, x := range []*intakeRun{&r.bulk, &r.single} {
		x.rate = float64(x.n) / x.took.Seconds()
	}
	for pid, x := range map[string]*intakeRun{"bulk": &r.bulk, "single": &r.single} {
		ds, err := db.ListDeliveries(ctx, pid, bellhop.DeliveryFilter{Limit: 1_000_000})
		if err != nil {
			return r, err
		}
		x.deliveries = len(ds)
	}
	if r.bulk.refused > 0 {
		return r, fmt.Errorf("the bulk intake refused %d of its bookings", r.bulk.refused)
	}
	return r, cleanDB(ctx, b.rdb)
}

// errNoPostgres: the scenario needs PostgreSQL and it is not there.
var errNoPostgres = errors.New("no PostgreSQL")

// runIntake runs and prints the intake scenario and returns the bulk rate, -1 when
// PostgreSQL does not answer.
func (b *bench) runIntake(ctx context.Context) (float64, error) {
	return onPostgres(b, ctx, "Scenario 7 — bulk intake", b.intake, b.printIntake, func(r intakeResult) float64 { return r.bulk.rate })
}

// onPostgres runs a scenario that needs PostgreSQL and prints its table, or that it was not
// measured (under title) when PostgreSQL is not there; it returns the figure measure takes
// from it for the SUMMARY, -1 when not measured.
func onPostgres[T any](b *bench, ctx context.Context, title string, run func(context.Context) (T, error), print func(T), measure func(T) float64) (float64, error) {
	r, err := run(ctx)
	if errors.Is(err, errNoPostgres) {
		fmt.Fprintf(b.out, "%s: not measured, %v\n\n", title, err)
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	print(r)
	return measure(r), nil
}

// benchHotel creates property pid (Moscow) with its three mailings enabled, so that every
// booking pushed to it is planned.
func benchHotel(ctx context.Context, db *store.DB, pid string, now time.Time) error {
	if err := db.CreateProperty(ctx, &bellhop.Property{ID: pid, Name: "Bench Hotel", TimeZone: "Europe/Moscow", Country: "RU",
		Language: "en", ContactCenter: true, CreatedAt: now, UpdatedAt: now}); err != nil {
		return err
	}
	ms := mailings.Defaults(pid, "intellectdialog")
	for i := range ms {
		ms[i].Enabled, ms[i].CreatedAt, ms[i].UpdatedAt = true, now, now
	}
	_, err := db.CreateMailings(ctx, ms)
	return err
}

// intakeBooking is booking i of a hotel's book: stays spread over the next year, a third of
// them not guaranteed, guests of four languages.
func intakeBooking(i int, now time.Time) map[string]any {
	arrival := now.AddDate(0, 0, 2+i%360)
	guarantee := "guaranteed"
	if i%3 == 0 {
		guarantee = "non_guaranteed"
	}
	return map[string]any{
		"id": fmt.Sprintf("PMS-%07d", i), "status": "confirmed", "guarantee": guarantee,
		"arrival": arrival.Format("2006-01-02"), "departure": arrival.AddDate(0, 0, 1+i%5).Format("2006-01-02"),
		"created_at": now.Add(-time.Hour).Format(time.RFC3339), "updated_at": now.Add(-time.Hour).Format(time.RFC3339),
		"guest": map[string]any{"name": fmt.Sprintf("Guest %d", i), "phone": fmt.Sprintf("+7916%07d", i),
			"email": fmt.Sprintf("guest%d@example.com", i), "language": []string{"en", "ru", "de", "es"}[i%4]},
	}
}

func (b *bench) printIntake(r intakeResult) {
	fmt.Fprintf(b.out, "Scenario 7 — bulk intake on PostgreSQL: a hotel's bookings, three mailings enabled, each booking validated and planned\n")
	w := newTable(b.out, "", "bulk (NDJSON, PutBookings, 250 a transaction)", "one PUT's path per booking")
	row(w, "bookings", func(x intakeRun) string { return fmt.Sprint(x.n) }, [2]intakeRun{r.bulk, r.single})
	row(w, "ledger rows planned", func(x intakeRun) string { return fmt.Sprint(x.deliveries) }, [2]intakeRun{r.bulk, r.single})
	row(w, "time", func(x intakeRun) string { return fmt.Sprintf("%.2f s", x.took.Seconds()) }, [2]intakeRun{r.bulk, r.single})
	row(w, "bookings / s", func(x intakeRun) string { return fmt.Sprintf("%.0f", x.rate) }, [2]intakeRun{r.bulk, r.single})
	w.flush()
	fmt.Fprintf(b.out, "  bulk is %.1f× the one-by-one path; sends due within Asynq's reach are queued in Redis after each transaction.\n\n", r.bulk.rate/max(r.single.rate, 1e-9))
}

// quietLogger keeps the services' warnings from the bench's tables.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}
