package web

import (
	"net/http"

	"github.com/bellhop/bellhop"
)

// pacerCard is a sender's pacing state on the Deliveries tab.
type pacerCard struct {
	Kind, Sender string
	State        *bellhop.Pace
	FreeNow      bool // the next message may go at once
	Interval     string
	Error        string
}

func (p *pages) deliveriesPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.setTitle("title.deliveries")
	v.Tab, v.Sub = "deliveries", "ledger"
	ctx := r.Context()
	q := r.URL.Query()
	f := bellhop.DeliveryFilter{Status: bellhop.DeliveryStatus(q.Get("status")), Kind: bellhop.MailingKind(q.Get("kind")), Limit: 200}
	var data struct {
		Notice     string
		Pacers     []pacerCard
		Statuses   []option
		Kinds      []option
		Deliveries []*bellhop.Delivery
		Titles     map[string]string // channel kind → its title
	}
	data.Titles = map[string]string{}
	for _, k := range p.s.cfg.Connector.Kinds().All() {
		data.Titles[k.Name] = k.Title
	}
	for _, s := range bellhop.DeliveryStatuses() {
		data.Statuses = append(data.Statuses, option{Value: string(s), Label: tr(v.Lang, "delivery."+string(s)), Selected: s == f.Status})
	}
	for _, k := range bellhop.Kinds() {
		data.Kinds = append(data.Kinds, option{Value: string(k), Label: tr(v.Lang, "kind."+string(k)), Selected: k == f.Kind})
	}
	ds, err := p.s.cfg.Mailings.Deliveries(ctx, v.Property.ID, f)
	if isInternal(err) {
		p.fail(w, r, v, err)
		return
	} else if err != nil {
		data.Notice = p.errText(r, v, err)
	}
	data.Deliveries = ds
	for _, kind := range p.s.cfg.Connector.KindNames() {
		if p.s.cfg.Pacing == nil {
			break
		}
		pc, err := p.s.cfg.Pacing.Pace(ctx, v.Property.ID, kind)
		switch bellhop.ErrorCode(err) {
		case "":
			data.Pacers = append(data.Pacers, pacerCard{Kind: kind, Sender: pc.Sender.Label(), State: pc,
				Interval: pc.Interval.String(), FreeNow: !pc.NextFree.After(p.s.cfg.Clock.Now())})
		case bellhop.EInternal, bellhop.EUnavailable:
			data.Pacers = append(data.Pacers, pacerCard{Kind: kind, Sender: kind, State: &bellhop.Pace{}, Error: p.errText(r, v, err)})
		}
		// Otherwise nothing is paced yet: no sender is chosen, or the kind is not the property's.
	}
	v.Data = data
	p.render(w, r, http.StatusOK, "deliveries", v)
}

// shareSenderPace sets the pacer group the sender shares its pace with ("" for none).
func (p *pages) shareSenderPace(w http.ResponseWriter, r *http.Request, v *view) {
	back := "/p/" + v.Property.ID + "/deliveries"
	kind := r.PathValue("provider")
	group := r.PostFormValue("share_with_group")
	pc, err := p.s.cfg.Pacing.ChangePace(r.Context(), v.Property.ID, kind, bellhop.PaceChange{Group: &group}, "web:"+v.Session.Actor)
	if err != nil {
		p.done(w, r, "error", p.errText(r, v, err), back+"#pacer-"+kind)
		return
	}
	msg := tr(v.Lang, "flash.pace_own")
	if pc.Group != "" {
		msg = tr(v.Lang, "flash.pace_shared", pc.Group)
	}
	p.done(w, r, "ok", msg, back+"#pacer-"+kind)
}

// retryDelivery sends a failed message again.
func (p *pages) retryDelivery(w http.ResponseWriter, r *http.Request, v *view) {
	back := "/p/" + v.Property.ID + "/deliveries"
	if _, err := p.s.cfg.Mailings.RetryDelivery(r.Context(), v.Property.ID, r.PathValue("id")); err != nil {
		p.done(w, r, "error", p.errText(r, v, err), back)
		return
	}
	p.done(w, r, "ok", tr(v.Lang, "flash.retried"), back)
}

// upcomingPage shows what the enabled mailings will send in the next seven days.
func (p *pages) upcomingPage(w http.ResponseWriter, r *http.Request, v *view) {
	v.setTitle("title.upcoming")
	v.Tab, v.Sub = "deliveries", "upcoming"
	up, err := p.s.cfg.Mailings.Preview(r.Context(), v.Property.ID, 7)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	note := ""
	if up.Note != "" {
		note = tr(v.Lang, "upcoming.none_enabled")
	}
	v.Data = struct {
		Days  int
		Note  string
		Sends any
	}{up.Days, note, up.Sends}
	p.render(w, r, http.StatusOK, "upcoming", v)
}
