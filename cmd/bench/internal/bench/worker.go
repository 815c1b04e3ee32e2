package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/intellectdialog"
	"github.com/bellhop/bellhop/provider/sandbox"
	"github.com/bellhop/bellhop/queue"
	"github.com/bellhop/bellhop/queue/pacer"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// WorkerEnv is the environment variable that turns the bench binary (or its test binary)
// into a worker process; its value is the worker's JSON config.
const WorkerEnv = "BELLHOP_BENCH_WORKER"

// Modes of a worker process.
const (
	modeOurs     = "ours"
	modeBaseline = "baseline"
)

// workerConfig is what the bench tells a worker process.
type workerConfig struct {
	Mode        string        `json:"mode"`
	Redis       string        `json:"redis"`
	DB          int           `json:"db"`
	Queue       string        `json:"queue"`
	Prefix      string        `json:"prefix"` // of the pacer's or the baseline's keys
	SandboxURL  string        `json:"sandbox_url"`
	Interval    time.Duration `json:"interval"`
	Concurrency int           `json:"concurrency"`
	Record      bool          `json:"record"` // keep per-message events for lateness
}

// Event kinds a worker records.
const (
	evSlot    = "slot"    // the pacer gave (or confirmed) the message this slot
	evClaim   = "claim"   // ours: the sender was acquired and the delivery claimed
	evEnd     = "end"     // baseline: the provider call returned
	evOutcome = "outcome" // anything but sent
	evError   = "error"   // a handler error other than "not yet"
)

type event struct {
	ID   string    `json:"id"`
	Kind string    `json:"k"`
	At   time.Time `json:"at"`
	Slot time.Time `json:"slot,omitzero"`
	Note string    `json:"note,omitempty"`
}

type recorder struct {
	on bool
	mu sync.Mutex
	ev []event
}

func (r *recorder) add(e event) {
	if !r.on && e.Kind != evError && e.Kind != evOutcome {
		return
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ev) < 1_000_000 {
		r.ev = append(r.ev, e)
	}
}

// workerLine is one line a worker writes on stdout.
type workerLine struct {
	Ready  bool    `json:"ready,omitempty"`
	Cmds   int64   `json:"cmds"`
	Events []event `json:"events,omitempty"`
	Final  bool    `json:"final,omitempty"`
	Err    string  `json:"err,omitempty"`
}

// RunWorker is a worker process: it serves the bench's send tasks until stdin says "stop"
// or closes, answering "count" with the Redis commands it has sent so far.
func RunWorker(raw string, in io.Reader, out io.Writer) error {
	var cfg workerConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return fmt.Errorf("bench worker: config: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	counter := &commandCounter{}
	rdb := redis.NewClient(&redis.Options{Addr: cfg.Redis, DB: cfg.DB, PoolSize: cfg.Concurrency + 20})
	rdb.AddHook(counter)
	defer rdb.Close()

	rec := &recorder{on: cfg.Record}
	client, err := intellectdialog.New(provider.Config{
		BaseURL: cfg.SandboxURL, APIKey: sandbox.DefaultAPIKey, HTTPClient: httpClient(cfg.Concurrency),
	})
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	done := make(chan error, 1)
	switch cfg.Mode {
	case modeOurs:
		run, err := oursWorker(cfg, rdb, client, rec, logger)
		if err != nil {
			return err
		}
		go func() { done <- run(ctx) }()
	case modeBaseline:
		srv := baselineServer(cfg, rdb)
		if err := srv.Start(baselineMux(cfg, rdb, client, rec)); err != nil {
			return fmt.Errorf("bench worker: start baseline server: %w", err)
		}
		go func() {
			<-ctx.Done()
			srv.Shutdown()
			done <- nil
		}()
	default:
		return fmt.Errorf("bench worker: unknown mode %q", cfg.Mode)
	}

	enc := json.NewEncoder(out)
	var encMu sync.Mutex
	write := func(l workerLine) {
		encMu.Lock()
		defer encMu.Unlock()
		_ = enc.Encode(l)
	}
	write(workerLine{Ready: true, Cmds: counter.n.Load()})

	sc := bufio.NewScanner(in)
	for sc.Scan() {
		cmd := strings.TrimSpace(sc.Text())
		if cmd == "stop" {
			break
		}
		if cmd == "count" {
			write(workerLine{Cmds: counter.n.Load()})
		}
	}
	cancel()
	runErr := <-done
	l := workerLine{Final: true, Cmds: counter.n.Load(), Events: rec.ev}
	if runErr != nil {
		l.Err = runErr.Error()
	}
	write(l)
	return nil
}

// httpClient keeps enough idle connections to the sandbox for every concurrent send: the
// default transport keeps two per host and would open a new connection for most requests.
func httpClient(concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = concurrency * 2
	t.MaxIdleConnsPerHost = concurrency * 2
	return &http.Client{Transport: t}
}

// oursWorker is queue.Worker, the production send handler, over the in-memory store. Its
// Sleep records the slot the pacer gave each message that waits it out.
func oursWorker(cfg workerConfig, rdb redis.UniversalClient, client provider.Provider, rec *recorder, logger *slog.Logger) (func(context.Context) error, error) {
	// No pacer Memory: a bench run's senders live and die with its Redis prefix, and the
	// database write per send that keeps a sender's pace over a Redis loss is the store's
	// cost, not the queue's (the bench's store is in memory anyway).
	// One Redis, as `bellhop serve` with one address: the pacer's calls are auto-pipelined.
	p, err := pacer.New(rdb, bellhop.SystemClock{}, pacer.Config{KeyPrefix: cfg.Prefix, Interval: cfg.Interval, AutoPipeline: true})
	if err != nil {
		return nil, err
	}
	sleep := func(ctx context.Context, d time.Duration) error {
		if id, ok := asynq.GetTaskID(ctx); ok {
			id, _, _ = strings.Cut(id, ":v")
			now := time.Now()
			rec.add(event{ID: id, Kind: evSlot, At: now, Slot: now.Add(d)})
		}
		return pacer.TimerSleep(ctx, d)
	}
	w, err := queue.NewWorker(queue.Config{
		Store:       newMemStore(cfg.SandboxURL, rec),
		Connector:   connector{client},
		Pacer:       p,
		Client:      queue.NewClient(rdb, cfg.Queue),
		Logger:      logger,
		Concurrency: cfg.Concurrency,
		SendTimeout: 10 * time.Second,
		SweepEvery:  time.Hour, // the in-memory store has nothing to sweep
		Sleep:       sleep,
	})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return w.Run(ctx, rdb) }, nil
}

// oursPlacer is what queues the bench's sends in production: the queue.Client's Placer, on
// the workers' pacer keys, so that a send due now is queued for its slot. Its store records
// the slots it defers rows to (rec), for lateness.
func oursPlacer(rdb *redis.Client, prefix, sandboxURL string, interval time.Duration, rec *recorder) (*queue.Placer, error) {
	p, err := pacer.New(rdb, bellhop.SystemClock{}, pacer.Config{KeyPrefix: prefix, Interval: interval, AutoPipeline: true})
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	return queue.NewPlacer(newMemStore(sandboxURL, rec), p, bellhop.SystemClock{}, 0, logger), nil
}

// RateLimitError is the error of Asynq's documented rate-limiting pattern (its wiki, "Rate
// limiting"): the handler returns it when the sender is not free, IsFailure does not count
// it, and RetryDelayFunc brings the task back after RetryIn.
type RateLimitError struct{ RetryIn time.Duration }

func (e *RateLimitError) Error() string { return fmt.Sprintf("rate limited (retry in %v)", e.RetryIn) }

func isRateLimitError(err error) bool {
	var rl *RateLimitError
	return errors.As(err, &rl)
}

// takeSender is the baseline's check of a sender's "next free" key: if the key is absent the
// sender is free and the key is set as a lease for the longest send; otherwise it answers
// the key's remaining life in milliseconds.
var takeSender = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return -1 end
return redis.call('PTTL', KEYS[1])`)

const baselineMaxSend = 10 * time.Second

func baselineServer(cfg workerConfig, rdb *redis.Client) *asynq.Server {
	return asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: cfg.Concurrency,
		Queues:      map[string]int{cfg.Queue: 1},
		IsFailure:   func(err error) bool { return !isRateLimitError(err) },
		RetryDelayFunc: func(n int, err error, t *asynq.Task) time.Duration {
			var rl *RateLimitError
			if errors.As(err, &rl) {
				return rl.RetryIn
			}
			return asynq.DefaultRetryDelayFunc(n, err, t)
		},
		// As queue.Worker has it: the fastest Asynq brings a retry back.
		DelayedTaskCheckInterval: time.Second,
		LogLevel:                 asynq.ErrorLevel,
	})
}

// baselineMux sends through the sandbox once the sender's next-free key lets it, then sets
// the key to expire one interval after the send ended (measuring from the start, as a plain
// SET NX PX interval does, lets a slow request land closer than the interval to the next).
func baselineMux(cfg workerConfig, rdb *redis.Client, client provider.Provider, rec *recorder) *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.HandleFunc(queue.TypeSend, func(ctx context.Context, t *asynq.Task) error {
		var p struct {
			ID string `json:"d"`
		}
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return fmt.Errorf("%v: %w", err, asynq.SkipRetry)
		}
		pid, bid, ok := parseID(p.ID)
		if !ok {
			return fmt.Errorf("bad delivery id %q: %w", p.ID, asynq.SkipRetry)
		}
		sender := senderOf(pid)
		key := cfg.Prefix + "{" + sender + "}:next"
		ms, err := takeSender.Run(ctx, rdb, []string{key}, p.ID, baselineMaxSend.Milliseconds()).Int64()
		if err != nil {
			return err
		}
		if ms >= 0 {
			return &RateLimitError{RetryIn: time.Duration(ms) * time.Millisecond}
		}
		sctx, cancel := context.WithTimeout(ctx, baselineMaxSend)
		_, sendErr := client.SendMessage(sctx, provider.Message{
			Phone: phoneOf(bid), SenderID: sender, Text: "Hello, welcome to Bench Hotel!", Mark: p.ID,
		})
		cancel()
		end := time.Now()
		rec.add(event{ID: p.ID, Kind: evEnd, At: end})
		if err := rdb.Set(context.WithoutCancel(ctx), key, "free", cfg.Interval).Err(); err != nil {
			return err
		}
		if sendErr != nil {
			rec.add(event{ID: p.ID, Kind: evError, Note: sendErr.Error()})
			return sendErr
		}
		return nil
	})
	return mux
}

// commandCounter is a go-redis hook that counts the commands a process sends to Redis; a
// pipeline counts each command in it.
type commandCounter struct{ n atomic.Int64 }

func (h *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}
