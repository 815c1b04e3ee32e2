package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/connector"
	"github.com/bellhop/bellhop/provider"
)

// providerWait bounds the provider calls a page makes while it renders, so a provider that
// hangs slows the page down but does not stop it.
const providerWait = 5 * time.Second

// The Channels page (/p/{pid}): a list of every channel kind Bellhop knows, with its status
// and what it sends, and each kind's card below, its form made from the kind's declared
// fields. Nothing here names a kind: a new kind shows up with its own fields.

// channelCard is one channel kind on the Channels page.
type channelCard struct {
	Kind, Title string
	Address     provider.Address
	Caps        provider.Capabilities
	View        *connector.View
	// Fields are the kind's credentials and settings; Advanced holds its API address, shown
	// folded unless it was rejected.
	Fields, Advanced []fieldInput
	AdvancedOpen     bool
	Senders          []option
	SendersError     string
	SenderMissing    bool
	// Sends lists what the channel can do for a guest (capability words), Reach how it
	// reaches them from this property (the chosen sender), Pace its default pace in words.
	Sends    []string
	Reach    string
	Pace     string
	Callback *connector.CallbackSetup
	// Pool lists the numbers of the sender's pool, when it has more than one.
	Pool []string
}

// fieldInput is one declared field as a form input. Secrets are never filled in: the
// placeholder shows the saved one's hint.
type fieldInput struct {
	ID, Name, Label, Type, InputType string
	Value, Placeholder, Hint         string
	Secret, Required                 bool
	Options                          []option
}

// baseURLField is the one field the page folds away: the provider's address, which only a
// sandbox, a proxy or the provider's own instruction changes.
const baseURLField = "base_url"

func (p *pages) channelsPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.setTitle("title.integration")
	v.Tab = "integration"
	ctx := r.Context()
	var data struct {
		Notice string
		Cards  []channelCard
	}
	views, err := p.s.cfg.Connector.List(ctx, v.Property.ID)
	if isInternal(err) {
		p.fail(w, r, v, err)
		return
	} else if err != nil {
		// subscription_required: the whole page says why.
		data.Notice = p.errText(r, v, err)
	}
	for _, iv := range views {
		data.Cards = append(data.Cards, p.channelCard(ctx, r, v, iv))
	}
	v.Data = data
	p.render(w, r, http.StatusOK, "channels", v)
}

func (p *pages) channelCard(ctx context.Context, r *http.Request, v *view, iv *connector.View) channelCard {
	kind := iv.Provider
	// The view is this page's own copy: its status reason is the connector's English.
	iv.StatusReason = fieldMessage(v.Lang, iv.StatusReason)
	c := channelCard{Kind: kind, Title: iv.Title, Address: iv.Address, Caps: iv.Caps, View: iv, Callback: iv.Callback,
		Sends: capabilityWords(iv.Caps), Pace: paceWords(v.Lang, iv.Pacing)}
	if iv.Sender != nil {
		c.Reach = senderText(iv.Address, *iv.Sender)
	}
	for _, sd := range iv.Pool {
		c.Pool = append(c.Pool, senderText(iv.Address, sd))
	}
	for _, f := range iv.Fields {
		in := p.fieldInput(v.Lang, kind, f, iv)
		if f.Name == baseURLField {
			c.Advanced = append(c.Advanced, in)
			continue
		}
		c.Fields = append(c.Fields, in)
	}
	c.AdvancedOpen = iv.Status == bellhop.StatusInvalid
	if iv.Caps.Senders && iv.Status == bellhop.StatusVerified {
		sctx, cancel := context.WithTimeout(ctx, providerWait)
		res, err := p.s.cfg.Connector.Senders(sctx, v.Property.ID, kind)
		cancel()
		if err != nil {
			c.SendersError = p.errText(r, v, err)
		} else {
			c.SenderMissing = res.SenderMissing
			for _, sd := range res.Senders {
				label := senderText(iv.Address, sd)
				if sd.Quality != "" {
					label += " · " + tr(v.Lang, "channels.quality") + " " + sd.Quality
				}
				c.Senders = append(c.Senders, option{Value: sd.ID, Label: label, Selected: iv.Sender != nil && iv.Sender.ID == sd.ID})
			}
		}
	}
	return c
}

// fieldInput makes a declared field an input: its label and help in the page's language,
// its stored value (secrets only as a hint in the placeholder).
func (p *pages) fieldInput(lang, kind string, f provider.Field, iv *connector.View) fieldInput {
	in := fieldInput{ID: kind + "-" + f.Name, Name: f.Name, Type: f.Type, Secret: f.Secret, Required: f.Required,
		Label: fieldText(lang, f.Name, f.Label), Hint: fieldText(lang, kind+"."+f.Name+".help", f.Help)}
	switch f.Type {
	case "url", "email", "number":
		in.InputType = f.Type
	default:
		in.InputType = "text"
	}
	if f.Secret {
		in.InputType = "password"
		if h, ok := iv.Hints[f.Name]; ok {
			in.Placeholder = tr(lang, "channels.secret_saved", h)
			in.Hint = strings.TrimSpace(tr(lang, "channels.secret_hint") + " " + in.Hint)
		}
		return in
	}
	in.Value = storedValue(iv, f.Name)
	if in.Value == "" {
		in.Placeholder = f.Default
	}
	if f.Type == "select" {
		cur := in.Value
		if cur == "" {
			cur = f.Default
		}
		if !f.Required && f.Default == "" {
			in.Options = append(in.Options, option{Value: "", Label: tr(lang, "common.not_selected"), Selected: cur == ""})
		}
		for _, o := range f.Options {
			in.Options = append(in.Options, option{Value: o, Label: fieldText(lang, "option."+o, o), Selected: o == cur})
		}
	}
	return in
}

// senderText is how a manager tells senders apart: a mail account by its from address, others
// by type, name and phone.
func senderText(a provider.Address, sd bellhop.Sender) string {
	if a == provider.AddressEmail {
		if sd.Name != "" && sd.Name != sd.ID {
			return sd.Name + " <" + sd.ID + ">"
		}
		return sd.ID
	}
	return sd.Label()
}

// storedValue is a non-secret field's saved value.
func storedValue(iv *connector.View, name string) string {
	if name == baseURLField {
		return iv.BaseURL
	}
	return iv.Settings[name]
}

// capabilityWords names what a channel does for a guest, in the list's order.
func capabilityWords(c provider.Capabilities) []string {
	var out []string
	for _, w := range []struct {
		on   bool
		word string
	}{{c.Text, "text"}, {c.Templates, "templates"}, {c.Statuses, "statuses"}, {c.Inbound, "inbound"}, {c.Operators, "operators"}} {
		if w.on {
			out = append(out, w.word)
		}
	}
	return out
}

// paceWords is a kind's default pace: "one message per 5m0s per sender".
func paceWords(lang string, pc provider.Pacing) string {
	if pc.PerSender <= 0 {
		return ""
	}
	s := tr(lang, "channels.pace_sender", durationWords(lang, pc.PerSender))
	if pc.PerRecipient > 0 {
		s += "; " + tr(lang, "channels.pace_recipient", durationWords(lang, pc.PerRecipient))
	}
	return s
}

// durationWords writes a pace in the page's language: 300 s as "5 min", 12.5 ms as "12.5 ms".
func durationWords(lang string, d time.Duration) string {
	n, unit := d.Seconds()*1000, "unit.ms"
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		n, unit = d.Hours(), "unit.h"
	case d >= time.Minute && d%time.Minute == 0:
		n, unit = d.Minutes(), "unit.min"
	case d >= time.Second:
		n, unit = d.Seconds(), "unit.s"
	}
	num := strconv.FormatFloat(n, 'f', -1, 64)
	if lang == "ru" {
		num = strings.ReplaceAll(num, ".", ",")
	}
	return num + "\u00a0" + tr(lang, unit)
}

// saveIntegration takes a channel's form: its fields (a secret left empty keeps the saved
// one), Check connection, the sender; "then" asks to activate or deactivate after saving (the
// switch, confirmed over unsaved changes).
func (p *pages) saveIntegration(w http.ResponseWriter, r *http.Request, v *view) {
	ctx := r.Context()
	cn := p.s.cfg.Connector
	pid, kind := v.Property.ID, r.PathValue("provider")
	back := channelURL(pid, kind)
	senderID := strings.TrimSpace(r.PostFormValue("sender_id"))
	action, then := r.PostFormValue("action"), r.PostFormValue("then")

	var said []string
	fail := func(err error) {
		said = append(said, p.checkText(r, v, err))
		p.done(w, r, "error", strings.Join(said, " "), back)
	}
	cur, err := cn.Get(ctx, pid, kind)
	if err != nil {
		fail(err)
		return
	}
	changed := changedFields(r, cur)
	if len(changed) > 0 {
		if cur, err = cn.SetCredentials(ctx, pid, kind, changed); err != nil {
			fail(err)
			return
		}
		if action != "check" {
			said = append(said, tr(v.Lang, "flash.credentials_saved"))
		}
	}
	if action == "check" {
		res, err := cn.Check(ctx, pid, kind)
		if err != nil {
			fail(err)
			return
		}
		cur = res.View
		said = append(said, tr(v.Lang, "flash.checked", cur.Title, cur.OrganizationName, len(res.Senders)))
	}
	// A sender picked from the old credentials' list means nothing for new ones.
	if senderID != "" && len(changed) == 0 && (cur.Sender == nil || cur.Sender.ID != senderID) {
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

// changedFields are the form's fields that differ from what is saved: a secret typed in, a
// setting changed. A select left at its default, for a setting never saved, is no change.
func changedFields(r *http.Request, cur *connector.View) connector.CredentialsInput {
	out := connector.CredentialsInput{}
	for _, f := range cur.Fields {
		vals, sent := r.PostForm[f.Name]
		if !sent || len(vals) == 0 {
			continue
		}
		val := strings.TrimSpace(vals[0])
		if f.Secret {
			if val != "" {
				out[f.Name] = val
			}
			continue
		}
		saved := storedValue(cur, f.Name)
		if val == saved || (saved == "" && val == f.Default) {
			continue
		}
		out[f.Name] = val
	}
	return out
}

// checkText is a failed action in plain words; a failed check says first whether the service
// refused the credentials or could not be reached, which a manager fixes in different places.
func (p *pages) checkText(r *http.Request, v *view, err error) string {
	msg := p.errText(r, v, err)
	switch bellhop.ErrorCode(err) {
	case bellhop.EInvalidAPIKey:
		return tr(v.Lang, "check.refused") + " " + serviceText(v.Lang, err)
	case bellhop.EProviderUnavailable:
		return tr(v.Lang, "check.unreachable") + " " + serviceText(v.Lang, err)
	}
	return msg
}

// channelURL is a channel's card on the Channels page.
func channelURL(pid, kind string) string {
	return fmt.Sprintf("/p/%s#%s", pid, kind)
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
	back := channelURL(pid, kind)
	if r.PostFormValue("active") == "on" {
		if _, err := p.s.cfg.Connector.Activate(ctx, pid, kind, webhookChoice(r)); err != nil {
			p.done(w, r, "error", p.checkText(r, v, err), back)
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
