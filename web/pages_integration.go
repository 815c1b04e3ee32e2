package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/connector"
)

// providerWait bounds the provider calls a page makes while it renders, so a provider that
// hangs slows the page down but does not stop it.
const providerWait = 5 * time.Second

// integrationCard is one provider's card on the Integration tab.
type integrationCard struct {
	Kind, Title   string
	View          *connector.View
	CustomBaseURL bool
	Senders       []bellhop.Sender
	SendersError  string
	SenderMissing bool
}

func (p *pages) integrationPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.setTitle("title.integration")
	v.Tab = "integration"
	ctx := r.Context()
	cn := p.s.cfg.Connector
	var data struct {
		Notice string
		Cards  []integrationCard
	}
	for _, kind := range cn.KindNames() {
		iv, err := cn.Get(ctx, v.Property.ID, kind)
		if isInternal(err) {
			p.fail(w, r, v, err)
			return
		} else if err != nil {
			// subscription_required: the whole tab says why.
			data.Notice = p.errText(r, v, err)
			break
		}
		c := integrationCard{Kind: kind, Title: cn.Title(kind), View: iv, CustomBaseURL: iv.Status == bellhop.StatusInvalid}
		if iv.Status == bellhop.StatusVerified {
			sctx, cancel := context.WithTimeout(ctx, providerWait)
			res, err := cn.Senders(sctx, v.Property.ID, kind)
			cancel()
			if err != nil {
				c.SendersError = p.errText(r, v, err)
			} else {
				c.Senders, c.SenderMissing = res.Senders, res.SenderMissing
			}
		}
		data.Cards = append(data.Cards, c)
	}
	v.Data = data
	p.render(w, r, http.StatusOK, "integration", v)
}

// saveIntegration takes the integration form: a new key (with its address), Check
// integration, the sender; "then" asks to activate or deactivate after saving (the switch,
// confirmed over unsaved changes).
func (p *pages) saveIntegration(w http.ResponseWriter, r *http.Request, v *view) {
	ctx := r.Context()
	cn := p.s.cfg.Connector
	pid, kind := v.Property.ID, r.PathValue("provider")
	back := "/p/" + pid
	key := strings.TrimSpace(r.PostFormValue("api_key"))
	baseURL := strings.TrimSpace(r.PostFormValue("base_url"))
	senderID := strings.TrimSpace(r.PostFormValue("sender_id"))
	action, then := r.PostFormValue("action"), r.PostFormValue("then")

	var said []string
	fail := func(err error) {
		said = append(said, p.errText(r, v, err))
		p.done(w, r, "error", strings.Join(said, " "), back)
	}
	cur, err := cn.Get(ctx, pid, kind)
	if err != nil {
		fail(err)
		return
	}
	if key != "" {
		if cur, err = cn.SetKey(ctx, pid, kind, connector.KeyInput{APIKey: key, BaseURL: baseURL}); err != nil {
			fail(err)
			return
		}
		if action != "check" {
			said = append(said, tr(v.Lang, "flash.key_saved", cur.KeyHint))
		}
	}
	if action == "check" {
		res, err := cn.Check(ctx, pid, kind)
		if err != nil {
			fail(err)
			return
		}
		cur = res.View
		said = append(said, tr(v.Lang, "flash.checked", cn.Title(kind), res.OrganizationName, len(res.Senders)))
	}
	// A sender picked from the old key's list means nothing for a new key.
	if senderID != "" && key == "" && (cur.Sender == nil || cur.Sender.ID != senderID) {
		if cur, err = cn.ChooseSender(ctx, pid, kind, connector.SenderInput{SenderID: senderID}); err != nil {
			fail(err)
			return
		}
		said = append(said, tr(v.Lang, "flash.sender_saved", cur.Sender.Label()))
	}
	switch then {
	case "activate":
		if _, err := cn.Activate(ctx, pid, kind, webhookChoice(r)); err != nil {
			fail(err)
			return
		}
		said = append(said, tr(v.Lang, "flash.activated"))
	case "deactivate":
		if _, err := cn.Deactivate(ctx, pid, kind); err != nil {
			fail(err)
			return
		}
		said = append(said, tr(v.Lang, "flash.deactivated"))
	}
	if len(said) == 0 {
		p.done(w, r, "warning", tr(v.Lang, "flash.nothing"), back)
		return
	}
	p.done(w, r, "ok", strings.Join(said, " "), back)
}

// webhookChoice reads the form's answer to "another system already receives this account's
// callbacks": stop and say so (the default), replace it, or forward to it.
func webhookChoice(r *http.Request) connector.ActivateOptions {
	switch r.PostFormValue("webhook") {
	case "replace":
		return connector.ActivateOptions{ReplaceWebhook: true}
	case "forward":
		return connector.ActivateOptions{ForwardToExisting: true}
	}
	return connector.ActivateOptions{}
}

// switchIntegration is the activation switch over a form without unsaved changes.
func (p *pages) switchIntegration(w http.ResponseWriter, r *http.Request, v *view) {
	ctx := r.Context()
	pid, kind := v.Property.ID, r.PathValue("provider")
	back := "/p/" + pid
	if r.PostFormValue("active") == "on" {
		if _, err := p.s.cfg.Connector.Activate(ctx, pid, kind, webhookChoice(r)); err != nil {
			p.done(w, r, "error", p.errText(r, v, err), back)
			return
		}
		p.done(w, r, "ok", tr(v.Lang, "flash.activated"), back)
		return
	}
	if _, err := p.s.cfg.Connector.Deactivate(ctx, pid, kind); err != nil {
		p.done(w, r, "error", p.errText(r, v, err), back)
		return
	}
	p.done(w, r, "ok", tr(v.Lang, "flash.deactivated"), back)
}

// resumeSender lets a sender the provider paused send again.
func (p *pages) resumeSender(w http.ResponseWriter, r *http.Request, v *view) {
	ctx := r.Context()
	back := "/p/" + v.Property.ID + "/deliveries"
	_, err := p.s.cfg.Pacing.Resume(ctx, v.Property.ID, r.PathValue("provider"), "web:"+v.Session.Actor)
	if bellhop.ErrorCode(err) == bellhop.ENotReady {
		err = bellhop.Errorf(bellhop.ENotReady, "%s", tr(v.Lang, "pacer.no_sender"))
	}
	if err != nil {
		p.done(w, r, "error", p.errText(r, v, err), back)
		return
	}
	p.done(w, r, "ok", tr(v.Lang, "flash.resumed"), back)
}
