package connector

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
)

// Callback is one provider callback as received at /webhooks/{kind}/{pid}.
type Callback struct {
	Method string // GET (a subscription check) or POST
	Header http.Header
	Query  url.Values
	Body   []byte // raw, as received: signatures are over these bytes
}

// CallbackResult says what a callback did.
type CallbackResult struct {
	// Challenge is the text to echo to a subscription check (GET), as text/plain.
	Challenge string `json:"-"`
	// Read is false for a body no parser could read (kept on the integration for diagnosis
	// and acknowledged, so the provider does not retry it for ever).
	Read    bool `json:"read"`
	Events  int  `json:"events"`
	Changed int  `json:"changed"`
}

// HandleCallback authenticates a callback of a property's integration the kind's way
// (provider.Callbacks) and acts on it: a subscription check is answered; in forward mode the
// body is queued, unchanged, for the webhook activation replaced; its status events go to
// Config.Report. Errors, and nothing changed with any of them:
//   - not_found: no such integration, a kind without callbacks, or a URL secret that does not
//     match (an unknown URL, like any other);
//   - unauthorized (401): a signature or secret header that does not match;
//   - forbidden (403): a subscription check with the wrong verify token.
func (s *Service) HandleCallback(ctx context.Context, pid, kindName string, cb Callback) (*CallbackResult, error) {
	notFound := bellhop.Errorf(bellhop.ENotFound, "No such callback.")
	k, err := s.kind(kindName)
	if err != nil || k.Callbacks == nil {
		return nil, notFound
	}
	_, in, err := s.load(ctx, pid, kindName)
	switch bellhop.ErrorCode(err) {
	case "":
	case bellhop.ENotFound, bellhop.ESubscriptionRequired:
		return nil, notFound
	default:
		return nil, err
	}
	refuse := func(code, msg, why string) error {
		s.cfg.Logger.WarnContext(ctx, "callback refused", "property", pid, "provider", kindName, "why", why)
		return bellhop.Errorf(code, "%s", msg)
	}
	secret, err := s.WebhookSecret(in)
	if err != nil || secret == "" {
		return nil, refuse(bellhop.ENotFound, notFound.Message, "the integration has no webhook secret yet")
	}
	cbs := k.Callbacks
	if cbs.URLSecret && subtle.ConstantTimeCompare([]byte(cb.Query.Get("secret")), []byte(secret)) != 1 {
		return nil, refuse(bellhop.ENotFound, notFound.Message, "wrong secret in the URL")
	}
	var creds provider.Credentials
	if cbs.Authenticate != nil || cbs.Challenge != nil {
		if creds, err = s.credentials(k, in); err != nil {
			return nil, err
		}
	}
	if cb.Method == http.MethodGet {
		if cbs.Challenge == nil {
			return nil, notFound
		}
		ch, err := cbs.Challenge(cb.Query, creds, secret)
		if err != nil {
			return nil, refuse(bellhop.EForbidden, "The verify token does not match.", err.Error())
		}
		return &CallbackResult{Challenge: ch, Read: true}, nil
	}
	if cbs.Authenticate != nil {
		if err := cbs.Authenticate(cb.Header, cb.Body, creds, secret); err != nil {
			return nil, refuse(bellhop.EUnauthorized, "The callback could not be authenticated.", err.Error())
		}
	}
	if in.WebhookMode == bellhop.WebhookForward && s.cfg.Relay != nil {
		// An error makes the provider send the callback again: nothing is lost.
		if err := s.cfg.Relay.Forward(ctx, pid, kindName, cb.Body, cb.Header.Get("Content-Type")); err != nil {
			return nil, err
		}
	}
	events, err := cbs.Parse(cb.Body, in.OrganizationZone)
	if err != nil {
		now := s.cfg.Clock.Now()
		if nerr := s.noteUnreadableCallback(ctx, in, cb.Body, now); nerr != nil {
			s.cfg.Logger.WarnContext(ctx, "keeping an unreadable callback failed", "error", nerr)
		}
		s.cfg.Logger.WarnContext(ctx, "a callback could not be read; it is kept on the integration for diagnosis",
			"property", pid, "provider", kindName, "bytes", len(cb.Body), "error", err)
		return &CallbackResult{}, nil
	}
	res := &CallbackResult{Read: true, Events: len(events)}
	if s.cfg.Report == nil {
		return res, nil
	}
	for _, ev := range events {
		changed, err := s.cfg.Report(ctx, pid, kindName, ev)
		if err != nil {
			return nil, err
		}
		if changed {
			res.Changed++
		}
	}
	return res, nil
}
