package queue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider/safehttp"
	"github.com/hibiken/asynq"
)

// TypeForward relays one provider callback, unchanged, to the webhook Bellhop's replaced on the
// provider account (the integration's forward mode), so the hotel's other system keeps working.
const TypeForward = "webhook:forward"

// forwardMaxRetry bounds a relay's retries (with backoff, about half an hour in all); every
// failure is recorded on the integration.
const forwardMaxRetry = 10

// forwardPayload is one callback as Bellhop received it.
type forwardPayload struct {
	PropertyID  string `json:"p"`
	Provider    string `json:"k"`
	Body        []byte `json:"b"`
	ContentType string `json:"ct,omitempty"`
}

// Forward queues a callback for relay to the integration's previous webhook. Each callback is
// its own task: a relay is at least once, like the provider's own deliveries.
func (c *Client) Forward(ctx context.Context, pid, provider string, body []byte, contentType string) error {
	payload, err := json.Marshal(forwardPayload{PropertyID: pid, Provider: provider, Body: body, ContentType: contentType})
	if err != nil {
		return err
	}
	_, err = c.asynq.EnqueueContext(ctx, asynq.NewTask(TypeForward, payload), asynq.Queue(c.queue),
		asynq.MaxRetry(forwardMaxRetry), asynq.Timeout(time.Minute))
	if err != nil {
		return fmt.Errorf("queue the relay of a %s callback: %w", provider, err)
	}
	return nil
}

// forward relays one callback. The target answered 2xx: done. Anything else is recorded on
// the integration and retried; a relay whose integration no longer forwards is dropped.
func (w *Worker) forward(ctx context.Context, t *asynq.Task) error {
	var p forwardPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.PropertyID == "" {
		return fmt.Errorf("undecodable relay task: %v: %w", err, asynq.SkipRetry)
	}
	in, err := w.cfg.Store.GetIntegration(ctx, p.PropertyID, p.Provider)
	if bellhop.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	target, ok, err := w.cfg.Connector.ForwardTarget(in)
	if err != nil || !ok {
		return err
	}
	now := w.cfg.Clock.Now()
	if rerr := w.relay(ctx, target, p); rerr != nil {
		if err := w.cfg.Store.NoteForwardResult(context.WithoutCancel(ctx), p.PropertyID, p.Provider, true, clip(rerr.Error()), now); err != nil {
			w.cfg.Logger.WarnContext(ctx, "recording a relay failure failed", "error", err)
		}
		w.metrics.sends.WithLabelValues("relay_failed").Inc()
		w.cfg.Logger.WarnContext(ctx, "relaying a callback to the replaced webhook failed", "property", p.PropertyID, "provider", p.Provider, "error", rerr)
		return rerr
	}
	if in.ForwardLastError != "" {
		_ = w.cfg.Store.NoteForwardResult(ctx, p.PropertyID, p.Provider, false, "", now)
	}
	return nil
}

// relay POSTs the body as it came. Redirects are not followed: the target is another system's
// endpoint, and a redirect elsewhere is not where the hotel pointed its callbacks. The target
// came from the provider account, so it goes out under the provider address policy.
func (w *Worker) relay(ctx context.Context, target string, p forwardPayload) error {
	rctx, cancel := context.WithTimeout(ctx, w.cfg.SendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, target, bytes.NewReader(p.Body))
	if err != nil {
		return fmt.Errorf("relay target: %w: %w", err, asynq.SkipRetry)
	}
	ct := p.ContentType
	if ct == "" {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("User-Agent", "bellhop-relay")
	resp, err := w.relayClient.Do(req)
	if err != nil {
		var refused *safehttp.RefusedError
		if errors.As(err, &refused) {
			// The address policy will not change its mind on a retry.
			return fmt.Errorf("the replaced webhook's address is not allowed (%s): %w", refused.Reason, asynq.SkipRetry)
		}
		var ue interface{ Timeout() bool }
		if errors.As(err, &ue) && ue.Timeout() {
			return fmt.Errorf("no answer within %s", w.cfg.SendTimeout)
		}
		return errors.New("could not reach the replaced webhook")
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the replaced webhook answered HTTP %d", resp.StatusCode)
	}
	return nil
}
