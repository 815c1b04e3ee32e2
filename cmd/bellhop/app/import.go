package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/provider/channels"
	"github.com/bellhop/bellhop/queue"
	"github.com/bellhop/bellhop/web"
	"github.com/redis/go-redis/v9"
)

// importBatch is how many lines go to the intake at a time: progress moves that often.
const importBatch = 1000

// importBookings is `bellhop import bookings FILE --property ID`: the file's bookings, one
// JSON object a line, through the same intake as the API's bulk intake, straight into the
// database as the other administration commands work.
func (e env) importBookings(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("import bookings", flag.ContinueOnError)
	pid := fs.String("property", "", "the property the bookings belong to (required)")
	summary := `Takes in a property's bookings from FILE: NDJSON, one booking a line as the API's
PUT …/bookings/{bid} takes it, with its "id" ("-" reads standard input). Each line is taken as
that PUT takes it: validated, "newer wins", its mailings planned. A bad line is refused alone;
the summary lists every refused line with its number and why, and the exit status is 1 if any
was. Running the same file again is safe: its lines answer "unchanged".`
	// FILE may come before the flags, as people type it.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := e.parseArgs(fs, summary, "FILE", args); err != nil {
		return done(err)
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "bellhop import bookings: unexpected argument %q\n", fs.Arg(0))
		return ErrUsage
	}
	if file == "" {
		fmt.Fprintln(e.stderr, "Usage: bellhop import bookings FILE.ndjson --property ID")
		return ErrUsage
	}
	if *pid == "" {
		return errors.New("--property is required: the id of the property the bookings belong to")
	}
	in, size, err := openInput(file)
	if err != nil {
		return err
	}
	defer in.Close()

	cfg, err := ConfigFromEnv(e.getenv, false)
	if err != nil {
		return err
	}
	db, err := e.migratedDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.GetProperty(ctx, *pid); bellhop.IsNotFound(err) {
		return fmt.Errorf("--property: property %q does not exist (create it with `bellhop property create`)", *pid)
	} else if err != nil {
		return err
	}
	rdb := redis.NewUniversalClient(cfg.redisOptions())
	defer rdb.Close()
	if err := pingRedis(ctx, rdb, cfg); err != nil {
		return err
	}
	q := queue.NewClient(rdb, cfg.queueName())
	defer q.Close()
	clock := bellhop.SystemClock{}
	svc, err := newMailings(db, q, nil, clock, newLogger(e.stderr, cfg.LogLevel), channels.Registry(), cfg.PlanHorizon, nil)
	if err != nil {
		return err
	}

	counted := &countingReader{r: in}
	prog := newProgress(e.stderr, clock, size)
	var refused []mailings.LineResult
	tally := map[mailings.LineStatus]int{}
	lines := 0
	err = web.BookingLines(counted, importBatch, func(batch []mailings.BatchLine) error {
		res, err := svc.PutBookings(ctx, *pid, batch)
		if err != nil {
			return fmt.Errorf("after line %d: %w", batch[0].Line-1, err)
		}
		for _, r := range res {
			tally[r.Status]++
			if r.Status == mailings.LineRefused {
				refused = append(refused, r)
			}
		}
		lines = batch[len(batch)-1].Line
		prog.update(counted.n, lines, len(refused))
		return nil
	})
	prog.done(counted.n, lines, len(refused))
	if err != nil {
		return fmt.Errorf("import stopped %w; the lines before it are in (importing the file again is safe)", err)
	}
	taken := tally[mailings.LineCreated] + tally[mailings.LineUpdated] + tally[mailings.LineUnchanged] + tally[mailings.LineIgnoredOlder]
	fmt.Fprintf(e.stdout, "%s → property %s: %d taken (%d created, %d updated, %d unchanged, %d ignored as older), %d refused\n",
		file, *pid, taken, tally[mailings.LineCreated], tally[mailings.LineUpdated], tally[mailings.LineUnchanged],
		tally[mailings.LineIgnoredOlder], len(refused))
	if len(refused) == 0 {
		return nil
	}
	fmt.Fprintln(e.stdout, "refused lines:")
	for _, r := range refused {
		id := ""
		if r.ID != "" {
			id = " (" + r.ID + ")"
		}
		fmt.Fprintf(e.stdout, "  line %d%s: %s\n", r.Line, id, r.Error.Message)
	}
	return fmt.Errorf("%d of the file's bookings were refused (listed above); fix those lines and import the file again", len(refused))
}

// openInput opens the file to import ("-" for standard input) and tells its size when known.
func openInput(file string) (io.ReadCloser, int64, error) {
	if file == "-" {
		return io.NopCloser(os.Stdin), 0, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, 0, fmt.Errorf("read the bookings: %w", err)
	}
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		f.Close()
		return nil, 0, fmt.Errorf("read the bookings: %s is not a file", file)
	}
	return f, st.Size(), nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// progress shows how far a long import has come on stderr: a bar redrawn in place on a
// terminal, a plain line every few seconds otherwise (a log, a CI job).
type progress struct {
	w        io.Writer
	clock    bellhop.Clock
	size     int64
	terminal bool
	start    time.Time
	last     time.Time
}

func newProgress(w io.Writer, clock bellhop.Clock, size int64) *progress {
	now := clock.Now()
	return &progress{w: w, clock: clock, size: size, terminal: isTerminal(w), start: now, last: now}
}

// isTerminal reports whether w is a character device (a terminal), without a dependency.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

const plainProgressEvery = 5 * time.Second

func (p *progress) update(read int64, lines, refused int) {
	now := p.clock.Now()
	if !p.terminal && now.Sub(p.last) < plainProgressEvery {
		return
	}
	p.last = now
	p.print(now, read, lines, refused)
}

func (p *progress) done(read int64, lines, refused int) {
	p.print(p.clock.Now(), read, lines, refused)
	if p.terminal {
		fmt.Fprintln(p.w)
	}
}

func (p *progress) print(now time.Time, read int64, lines, refused int) {
	rate := 0.0
	if s := now.Sub(p.start).Seconds(); s > 0 {
		rate = float64(lines) / s
	}
	pct := ""
	frac := 0.0
	if p.size > 0 {
		frac = min(float64(read)/float64(p.size), 1)
		pct = fmt.Sprintf(" (%.0f %%)", frac*100)
	}
	text := fmt.Sprintf("%d lines%s, %d refused, %.0f lines/s", lines, pct, refused, rate)
	if !p.terminal {
		fmt.Fprintf(p.w, "import: %s\n", text)
		return
	}
	const width = 30
	bar := strings.Repeat("=", int(frac*width))
	fmt.Fprintf(p.w, "\r[%-*s] %s\x1b[K", width, bar, text)
}
