package connector

import (
	"context"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
)

// Widen returns c as a provider.Provider, for callers written when IntellectDialog did
// everything: what c's kind lacks answers as such a kind would. No stop list: nobody is on
// it. No templates: none. No way to list sent messages, no operators, no webhook API: a
// FailNotFound error saying so (a lost send is then held as unconfirmed).
func Widen(c provider.Client) provider.Provider {
	if p, ok := c.(provider.Provider); ok {
		return p
	}
	return widened{c}
}

type widened struct{ provider.Client }

func lacks(what string) error {
	return &provider.Error{Step: what, Failure: provider.FailNotFound, Reason: "this kind of channel has no " + what}
}

func (w widened) Senders(ctx context.Context) ([]bellhop.Sender, error) {
	if sl, ok := w.Client.(provider.SenderLister); ok {
		return sl.Senders(ctx)
	}
	return nil, nil
}

func (w widened) Operators(ctx context.Context) ([]bellhop.Operator, error) {
	if od, ok := w.Client.(provider.OperatorDirectory); ok {
		return od.Operators(ctx)
	}
	return nil, lacks("operators")
}

func (w widened) LoginCode(ctx context.Context, operatorID string) (provider.LoginCode, error) {
	if od, ok := w.Client.(provider.OperatorDirectory); ok {
		return od.LoginCode(ctx, operatorID)
	}
	return provider.LoginCode{}, lacks("operators")
}

func (w widened) Templates(ctx context.Context, senderID string) ([]provider.Template, error) {
	if tl, ok := w.Client.(provider.TemplateLister); ok {
		return tl.Templates(ctx, senderID)
	}
	return nil, nil
}

func (w widened) Messages(ctx context.Context, f provider.MessageFilter) ([]provider.StoredMessage, error) {
	if fi, ok := w.Client.(provider.Finder); ok {
		return fi.Messages(ctx, f)
	}
	return nil, lacks("list of sent messages")
}

func (w widened) Message(ctx context.Context, id string) (provider.StoredMessage, error) {
	if fi, ok := w.Client.(provider.Finder); ok {
		return fi.Message(ctx, id)
	}
	return provider.StoredMessage{}, lacks("list of sent messages")
}

func (w widened) StopListed(ctx context.Context, phone string) (bool, error) {
	if sl, ok := w.Client.(provider.StopLister); ok {
		return sl.StopListed(ctx, phone)
	}
	return false, nil
}

func (w widened) Webhook(ctx context.Context) (provider.Webhook, bool, error) {
	if wi, ok := w.Client.(provider.WebhookInstaller); ok {
		return wi.Webhook(ctx)
	}
	return provider.Webhook{}, false, nil
}

func (w widened) SetWebhook(ctx context.Context, wh provider.Webhook) error {
	if wi, ok := w.Client.(provider.WebhookInstaller); ok {
		return wi.SetWebhook(ctx, wh)
	}
	return lacks("webhook API")
}

func (w widened) DeleteWebhook(ctx context.Context) error {
	if wi, ok := w.Client.(provider.WebhookInstaller); ok {
		return wi.DeleteWebhook(ctx)
	}
	return lacks("webhook API")
}
