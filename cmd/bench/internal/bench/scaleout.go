package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider/sandbox"
	"github.com/bellhop/bellhop/store"
)

// scaleRun is one fleet size's drain of the backlog.
type scaleRun struct {
	Procs     int
	Messages  int
	Delivered int
	TimedOut  bool
	First     time.Duration // workers started → first arrival
	Wall      time.Duration // workers started → last arrival
	Sustained float64       // messages/s, first → last arrival
}

// scaleOut sends the same backlog of welcomes through 1, 2 and 4 `bellhop serve --role
// worker` processes on PostgreSQL: properties set up and bookings pushed through a `bellhop
// serve --role api` process (their welcomes due now, so the API queues them), then the
// workers started and the sandbox's arrivals timed. Every property paces its own sender at
// 1 ms, so pacing does not hold the workers back.
func (b *bench) scaleOut(ctx context.Context) ([]scaleRun, error) {
	o := b.o
	db, err := b.openDB(ctx, store.DialectPostgres)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoPostgres, err)
	}
	defer db.close()
	sb, sbURL, stopSandbox, err := runSandbox(sandbox.Config{Spacing: time.Nanosecond}, 0)
	if err != nil {
		return nil, err
	}
	defer stopSandbox()
	service, err := benchTokenAs(ctx, db.DB, bellhop.AllProperties, bellhop.RoleService)
	if err != nil {
		return nil, err
	}
	admin, err := benchTokenAs(ctx, db.DB, bellhop.AllProperties, bellhop.RoleAdmin)
	if err != nil {
		return nil, err
	}
	ns := "bench-scale-" + randomHex(4)
	env := map[string]string{
		"BELLHOP_DATABASE_URL": db.dsn, "REDIS_ADDR": o.RedisAddr, "BELLHOP_REDIS_NAMESPACE": ns,
		"BELLHOP_SECRET_KEY": base64.StdEncoding.EncodeToString(randomBytes(32)), "BELLHOP_LOG_LEVEL": "warn",
		"BELLHOP_ALLOW_PRIVATE_PROVIDERS": "true", "BELLHOP_SEND_INTERVAL": "1ms",
	}
	api, url, err := startServe(ctx, []string{"serve", "--role", "api", "--addr", "127.0.0.1:0"}, withInfo(env))
	if err != nil {
		return nil, err
	}
	defer func() {
		api.stop()
		_ = deleteKeys(context.WithoutCancel(ctx), o.RedisAddr, ns)
	}()
	c := &apiClient{url: url, http: &http.Client{Timeout: 30 * time.Second}}

	zone, local := afternoon(time.Now())
	b.logf("scale-out: %d properties in %s", o.ScaleSenders, zone)
	for p := range o.ScaleSenders {
		pid := fmt.Sprintf("scale-%03d", p)
		in := "/api/v1/properties/" + pid + "/integrations/intellectdialog"
		for _, step := range []struct {
			method, path, token string
			body                any
		}{
			{"POST", "/api/v1/properties", service, map[string]any{"id": pid, "name": "Hotel " + pid, "time_zone": zone, "country": "RU", "contact_center": true}},
			{"PUT", in, admin, map[string]any{"api_key": sandbox.DefaultAPIKey, "base_url": sbURL}},
			{"POST", in + "/check", admin, nil},
			{"PUT", in + "/sender", admin, map[string]any{"sender_id": "1"}},
			// The properties share one sandbox account, which has room for one webhook.
			{"POST", in + "/activate", admin, map[string]any{"replace_webhook": p > 0}},
			{"PATCH", "/api/v1/properties/" + pid + "/mailings/welcome", admin, map[string]any{"enabled": true}},
		} {
			if err := c.do(ctx, step.method, step.path, step.token, "application/json", step.body); err != nil {
				return nil, fmt.Errorf("set up %s: %w", pid, err)
			}
		}
	}

	var runs []scaleRun
	for round, procs := range []int{1, 2, 4} {
		r := scaleRun{Procs: procs, Messages: o.ScaleMessages}
		before := len(sb.Messages())
		// The backlog: bookings arriving tomorrow, whose welcome (12:00 the day before) is due
		// now; the API queues each as it is planned.
		for p := range o.ScaleSenders {
			var body bytes.Buffer
			for i := p; i < o.ScaleMessages; i += o.ScaleSenders {
				line, _ := json.Marshal(map[string]any{
					"id": fmt.Sprintf("R%d-%06d", round, i), "status": "confirmed", "guarantee": "guaranteed",
					"arrival": local.AddDate(0, 0, 1).Format("2006-01-02"), "departure": local.AddDate(0, 0, 3).Format("2006-01-02"),
					"updated_at": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339),
					"guest":      map[string]any{"name": "Guest " + strconv.Itoa(i), "phone": fmt.Sprintf("+7917%d%06d", round, i), "language": "ru"},
				})
				body.Write(line)
				body.WriteByte('\n')
			}
			path := fmt.Sprintf("/api/v1/properties/scale-%03d/bookings:batch", p)
			if err := c.do(ctx, "POST", path, service, "application/x-ndjson", body.Bytes()); err != nil {
				return nil, err
			}
		}
		b.logf("scale-out: %d messages through %d worker processes", r.Messages, procs)
		start := time.Now()
		var fleet []*served
		for range procs {
			w, _, err := startServe(ctx, []string{"serve", "--role", "worker"}, env)
			if err != nil {
				for _, w := range fleet {
					w.stop()
				}
				return nil, err
			}
			fleet = append(fleet, w)
		}
		werr := waitFor(ctx, start.Add(60*time.Second), 50*time.Millisecond, func() bool {
			return len(sb.Messages())-before >= r.Messages
		})
		for _, w := range fleet {
			w.stop()
		}
		if errors.Is(werr, errTimeout) {
			r.TimedOut = true
		} else if werr != nil {
			return nil, werr
		}
		msgs := sb.Messages()[before:]
		r.Delivered = len(msgs)
		if n := len(msgs); n > 1 {
			first, last := msgs[0].CreatedAt, msgs[0].CreatedAt
			for _, m := range msgs {
				if m.CreatedAt.Before(first) {
					first = m.CreatedAt
				}
				if m.CreatedAt.After(last) {
					last = m.CreatedAt
				}
			}
			r.First, r.Wall = first.Sub(start), last.Sub(start)
			r.Sustained = float64(n-1) / last.Sub(first).Seconds()
		}
		runs = append(runs, r)
	}
	for _, st := range sb.Stats() {
		if len(st.Violations) > 0 || st.RepeatedMarks > 0 {
			return runs, fmt.Errorf("sender %s: %d pacing violations, %d messages sent twice", st.SenderID, len(st.Violations), st.RepeatedMarks)
		}
	}
	return runs, nil
}

func (b *bench) printScaleOut(runs []scaleRun) {
	o := b.o
	fmt.Fprintf(b.out, "Scenario 10 — scale-out: `bellhop serve --role worker` processes on PostgreSQL, %d messages over %d properties each run, HTTP to the sandbox\n", o.ScaleMessages, o.ScaleSenders)
	cols := []string{""}
	for _, r := range runs {
		cols = append(cols, fmt.Sprintf("%d process(es)", r.Procs))
	}
	w := newTable(b.out, cols...)
	line := func(label string, f func(scaleRun) string) {
		cells := []string{label}
		for _, r := range runs {
			cells = append(cells, f(r))
		}
		w.line(cells...)
	}
	line("delivered", func(r scaleRun) string {
		s := fmt.Sprintf("%d/%d", r.Delivered, r.Messages)
		if r.TimedOut {
			s += " (timed out)"
		}
		return s
	})
	line("start → first arrival", func(r scaleRun) string { return fmt.Sprintf("%.2f s", r.First.Seconds()) })
	line("start → last arrival", func(r scaleRun) string { return fmt.Sprintf("%.2f s", r.Wall.Seconds()) })
	line("messages / s, first → last arrival", func(r scaleRun) string { return fmt.Sprintf("%.0f", r.Sustained) })
	w.flush()
	fmt.Fprintf(b.out, "  The processes, PostgreSQL, Redis, the API and the sandbox share %d CPUs: past that, more processes only share them.\n\n", numCPU())
}

// runScaleOut runs and prints the scale-out scenario.
func (b *bench) runScaleOut(ctx context.Context) error {
	_, err := onPostgres(b, ctx, "Scenario 10 — scale-out", b.scaleOut, b.printScaleOut, func([]scaleRun) float64 { return 0 })
	return err
}

// afternoon is a fixed-offset zone where it is now between 13:00 and 19:00, and the time
// there: a welcome for tomorrow (12:00 the day before) is due at once, far from the quiet hours.
func afternoon(now time.Time) (string, time.Time) {
	for off := -12; off <= 14; off++ {
		name := "Etc/GMT"
		if off > 0 {
			name += "-" + strconv.Itoa(off)
		} else if off < 0 {
			name += "+" + strconv.Itoa(-off)
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			continue
		}
		if h := now.In(loc).Hour(); h >= 13 && h < 19 {
			return name, now.In(loc)
		}
	}
	return "UTC", now.UTC()
}

// withInfo is env with the API's log at info, so that startServe reads where it listens.
func withInfo(env map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	out["BELLHOP_LOG_LEVEL"] = "info"
	return out
}

// apiClient calls a bellhop API the bench started.
type apiClient struct {
	url  string
	http *http.Client
}

func (c *apiClient) do(ctx context.Context, method, path, token, contentType string, body any) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if rd != nil {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s %s", method, path, res.Status, strings.TrimSpace(string(raw[:min(len(raw), 300)])))
	}
	if strings.Contains(path, "bookings:batch") && !bytes.Contains(raw, []byte(`"refused":0`)) {
		return fmt.Errorf("%s %s refused lines: %.300s", method, path, raw)
	}
	return nil
}
