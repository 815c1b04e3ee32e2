package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/safehttp"
)

// webhookEvents are the callbacks Bellhop asks for: statuses, errors and guests' messages.
var webhookEvents = []string{"new_message", "new_status", "new_error"}

// registerWebhook makes the provider call Bellhop back for this integration, for kinds whose
// webhook is set through their API (Caps.Webhook; for others the manager registers the URL in
// the provider's console, or there are no callbacks). An IntellectDialog account (and a
// 360dialog number) has exactly one webhook, and POST webhooks replaces it: so the installed one is read
// first. None, or Bellhop's own (perhaps with an older secret): Bellhop's is set. Another
// system's (often the PMS's own): activation stops with webhook_in_use naming it, unless opts
// say to replace it or to forward to it; either way the old one is kept, sealed (its URL may
// carry that system's secret), so deactivation can put it back.
func (s *Service) registerWebhook(ctx context.Context, k *provider.Kind, in *bellhop.Integration, c provider.Client, opts ActivateOptions) error {
	p, ok := c.(provider.WebhookInstaller)
	if s.cfg.PublicURL == "" || !k.Caps.Webhook || !ok {
		return nil
	}
	secret, err := s.WebhookSecret(in)
	if err != nil {
		return err
	}
	u, err := s.WebhookURL(in)
	if err != nil {
		return err
	}
	cur, installed, err := p.Webhook(ctx)
	if err != nil {
		return s.providerError(ctx, k, in, "read the account's webhook", err)
	}
	mode := in.WebhookMode
	switch {
	case installed && cur.URL == u && hasEvents(cur.Events, webhookEvents):
		// Ours, as it should be. An explicit choice may still switch replace ↔ forward.
		if len(in.SealedPreviousWebhook) > 0 {
			in.WebhookMode = chosenMode(opts, mode)
		}
		return nil
	case !installed || cur.URL == "" || s.ours(in, cur.URL):
		// Nothing there, or Bellhop's own with an older secret or fewer events.
		if len(in.SealedPreviousWebhook) > 0 {
			in.WebhookMode = chosenMode(opts, mode)
		}
	case opts.ReplaceWebhook || opts.ForwardToExisting:
		if opts.ForwardToExisting {
			// Relays go out under the same address policy as provider calls: say so now,
			// not with every callback that cannot be passed on.
			if err := s.cfg.Addresses.CheckURL(cur.URL); err != nil {
				reason := "it is not an address Bellhop may call"
				var re *safehttp.RefusedError
				if errors.As(err, &re) {
					reason = re.Reason
				}
				e := bellhop.Invalid("forward_to_existing", "Bellhop cannot pass callbacks on to the webhook installed now (%s): %s. "+
					"Activate with replace_webhook instead, or point that system at a public https:// address", RedactURL(cur.URL), reason)
				e.Err = err
				return e
			}
		}
		prev, err := json.Marshal(savedWebhook{URL: cur.URL, Events: cur.Events})
		if err != nil {
			return err
		}
		sealed, err := s.cfg.Sealer.Seal(prev, previousWebhookAD(in))
		if err != nil {
			return err
		}
		in.SealedPreviousWebhook = sealed
		in.WebhookMode = chosenMode(opts, "")
	default:
		shown := RedactURL(cur.URL)
		return &bellhop.Error{Code: bellhop.EWebhookInUse,
			Message: fmt.Sprintf("The %s account already sends its callbacks to %s — another system, often the PMS. "+
				"An account has room for one webhook. Activate again with replace_webhook to take its place (it is put back when "+
				"you deactivate), or with forward_to_existing to take its place and pass every callback on to it unchanged, so "+
				"that system keeps working.", k.Title, shown),
			Details: map[string]any{"webhook_url": shown, "events": cur.Events}}
	}
	if err := p.SetWebhook(ctx, provider.Webhook{URL: u, Events: webhookEvents, Secret: secret}); err != nil {
		return s.providerError(ctx, k, in, "install Bellhop's webhook", err)
	}
	s.cfg.Logger.InfoContext(ctx, "provider webhook installed", "property", in.PropertyID, "provider", in.Provider,
		"mode", string(in.WebhookMode))
	return nil
}

// chosenMode is the mode an explicit choice asks for, else the current one.
func chosenMode(opts ActivateOptions, cur bellhop.WebhookMode) bellhop.WebhookMode {
	switch {
	case opts.ForwardToExisting:
		return bellhop.WebhookForward
	case opts.ReplaceWebhook:
		return bellhop.WebhookReplaced
	case cur == "":
		return bellhop.WebhookReplaced
	}
	return cur
}

// unregisterWebhook leaves the account as activation found it: the webhook it replaced is put
// back; with none, Bellhop's own is removed. A webhook that is no longer Bellhop's (someone
// changed it since) is left alone. A rejected key cannot touch the account: the integration is
// switched off anyway.
func (s *Service) unregisterWebhook(ctx context.Context, k *provider.Kind, in *bellhop.Integration) error {
	if s.cfg.PublicURL == "" || !k.Caps.Webhook || !configured(k, in) {
		return nil
	}
	c, err := s.client(k, in)
	if err != nil {
		return err
	}
	p, ok := c.(provider.WebhookInstaller)
	if !ok {
		return nil
	}
	cur, installed, err := p.Webhook(ctx)
	switch {
	case provider.FailureOf(err) == provider.FailUnauthorized:
		s.cfg.Logger.WarnContext(ctx, "the provider rejects the key: the account's webhook is left as it is", "property", in.PropertyID, "provider", in.Provider)
		return nil
	case err != nil:
		return s.providerError(ctx, k, in, "read the account's webhook", err)
	}
	if installed && s.ours(in, cur.URL) {
		prev, ok, err := s.previousWebhook(in)
		if err != nil {
			return err
		}
		if ok {
			err = p.SetWebhook(ctx, provider.Webhook{URL: prev.URL, Events: prev.Events})
		} else {
			err = p.DeleteWebhook(ctx)
		}
		if err != nil {
			return s.providerError(ctx, k, in, "put the account's webhook back", err)
		}
		s.cfg.Logger.InfoContext(ctx, "provider webhook restored", "property", in.PropertyID, "provider", in.Provider, "previous", ok)
	}
	in.WebhookMode, in.SealedPreviousWebhook = "", nil
	return nil
}

// ours reports whether a webhook URL is this integration's (any secret).
func (s *Service) ours(in *bellhop.Integration, raw string) bool {
	base := s.webhookBase(in)
	return raw == base || strings.HasPrefix(raw, base+"?")
}

func hasEvents(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if strings.EqualFold(h, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

type savedWebhook struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

func previousWebhookAD(in *bellhop.Integration) []byte {
	return []byte(in.PropertyID + "/" + in.Provider + "/previous_webhook")
}

func (s *Service) previousWebhook(in *bellhop.Integration) (savedWebhook, bool, error) {
	if len(in.SealedPreviousWebhook) == 0 {
		return savedWebhook{}, false, nil
	}
	b, err := s.cfg.Sealer.Open(in.SealedPreviousWebhook, previousWebhookAD(in))
	if err != nil {
		return savedWebhook{}, false, fmt.Errorf("open the previous webhook of %s/%s: %w", in.PropertyID, in.Provider, err)
	}
	var w savedWebhook
	if err := json.Unmarshal(b, &w); err != nil {
		return savedWebhook{}, false, fmt.Errorf("read the previous webhook of %s/%s: %w", in.PropertyID, in.Provider, err)
	}
	return w, w.URL != "", nil
}

// ForwardTarget is where callbacks are relayed for an integration in forward mode: the webhook
// activation replaced. ok is false when the integration does not forward.
func (s *Service) ForwardTarget(in *bellhop.Integration) (target string, ok bool, err error) {
	if in.WebhookMode != bellhop.WebhookForward {
		return "", false, nil
	}
	w, ok, err := s.previousWebhook(in)
	return w.URL, ok, err
}

// PreviousWebhookURL is the replaced webhook's address for people to read (its query values
// hidden), or "".
func (s *Service) PreviousWebhookURL(in *bellhop.Integration) string {
	w, ok, err := s.previousWebhook(in)
	if err != nil || !ok {
		return ""
	}
	return RedactURL(w.URL)
}

// RedactURL shows where a URL points without what may be a secret: its query values and
// user info are replaced by "…".
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if len(raw) > 60 {
			raw = raw[:60] + "…"
		}
		return strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, raw)
	}
	u.User = nil
	if u.RawQuery != "" {
		q := u.Query()
		parts := make([]string, 0, len(q))
		for k := range q {
			parts = append(parts, url.QueryEscape(k)+"=…")
		}
		sort.Strings(parts)
		u.RawQuery = strings.Join(parts, "&")
	}
	u.Fragment = ""
	return u.String()
}
