package web

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
)

// mailingCard is one mailing on the Mailings tab, as saved or as the manager just sent it.
type mailingCard struct {
	Kind      bellhop.MailingKind
	Enabled   bool
	Methods   []option
	Templates []templateField
	Schedule  bellhop.Schedule
	Error     string
}

// templateField is a mailing's text in one language, with its preview.
type templateField struct {
	Lang, LangName, Text  string
	Error                 string
	Preview, PreviewError string
}

type mailingsData struct {
	Notice string
	// Capacity says, in the page's language, which days of the coming week a sender cannot
	// keep up with what is planned.
	Capacity     []string
	Methods      []option
	Placeholders []string
	Cards        []mailingCard
}

func (p *pages) mailingsPage(w http.ResponseWriter, r *http.Request, v *view) {
	p.showMailings(w, r, v, http.StatusOK, nil)
}

// showMailings renders the tab; failed, when given, replaces its saved mailing with what the
// manager sent, so a refused edit is not lost.
func (p *pages) showMailings(w http.ResponseWriter, r *http.Request, v *view, status int, failed *mailingCard) {
	v.setTitle("title.mailings")
	v.Tab = "mailings"
	method := r.URL.Query().Get("sending_method")
	ms, err := p.s.cfg.Mailings.ListMailings(r.Context(), v.Property.ID, method)
	if err != nil {
		p.fail(w, r, v, err)
		return
	}
	data := mailingsData{Placeholders: mailings.Placeholders()}
	for _, k := range p.s.cfg.Connector.KindNames() {
		data.Methods = append(data.Methods, option{Value: k, Label: p.s.cfg.Connector.Title(k), Selected: k == method})
	}
	switch {
	case len(ms) == 0 && method != "":
		data.Notice = tr(v.Lang, "mailings.none_filtered")
	case len(ms) == 0:
		data.Notice = tr(v.Lang, "mailings.none")
	}
	for _, m := range ms {
		if failed != nil && failed.Kind == m.Kind {
			failed.Enabled = m.Enabled
			data.Cards = append(data.Cards, *failed)
			continue
		}
		data.Cards = append(data.Cards, p.mailingCard(v, m.Kind, m.Enabled, m.SendingMethod, m.Templates, m.Schedule))
	}
	data.Capacity = capacityLines(v.Lang, p.s.capacityWarnings(r.Context(), v.Property.ID))
	v.Data = data
	p.render(w, r, status, "mailings", v)
}

func (p *pages) mailingCard(v *view, kind bellhop.MailingKind, enabled bool, method string, texts map[string]string, sch bellhop.Schedule) mailingCard {
	c := mailingCard{Kind: kind, Enabled: enabled, Schedule: sch}
	for _, k := range p.s.cfg.Connector.KindNames() {
		c.Methods = append(c.Methods, option{Value: k, Label: p.s.cfg.Connector.Title(k), Selected: k == method})
	}
	if !slices.ContainsFunc(c.Methods, func(o option) bool { return o.Selected }) && method != "" {
		c.Methods = append(c.Methods, option{Value: method, Label: method, Selected: true})
	}
	// English and Russian always, the property's language, and any other the mailing has.
	langs := []string{"en", "ru"}
	if l := mailings.BaseLanguage(v.Property.Language); l != "" && !slices.Contains(langs, l) {
		langs = append(langs, l)
	}
	for _, l := range slices.Sorted(maps.Keys(texts)) {
		if !slices.Contains(langs, l) {
			langs = append(langs, l)
		}
	}
	for _, l := range langs {
		name, ok := catalog[v.Lang]["lang."+l]
		if !ok {
			name = tr(v.Lang, "lang.other", l)
		}
		f := templateField{Lang: l, LangName: name, Text: texts[l]}
		f.Preview, f.PreviewError = p.preview(v.Property, l, f.Text)
		c.Templates = append(c.Templates, f)
	}
	return c
}

// preview renders a template for a sample booking three days ahead, the way the guest would
// read it, and says what is wrong with it, if anything.
func (p *pages) preview(prop *bellhop.Property, lang, text string) (rendered, problem string) {
	if strings.TrimSpace(text) == "" {
		return "", ""
	}
	loc := prop.Location()
	arrival := bellhop.DateOf(p.s.cfg.Clock.Now().In(loc)).AddDays(3)
	deadline := arrival.AddDays(-1).At(18, 0, loc)
	guest := "Anna Petrova"
	if lang == "ru" {
		guest = "Анна Петрова"
	}
	b := bellhop.Booking{ID: "B-1042", PropertyID: prop.ID, Arrival: arrival, Departure: arrival.AddDays(2),
		GuaranteeDeadline: &deadline, Guest: bellhop.Guest{Name: guest, Language: lang}}
	if err := mailings.ValidateTemplates(map[string]string{lang: text}); err != nil {
		problem = bellhop.ErrorMessage(err)
	}
	return mailings.Render(text, mailings.DataFor(*prop, b, lang)), problem
}

// previewTemplate answers the editor's live preview.
func (p *pages) previewTemplate(w http.ResponseWriter, r *http.Request, v *view) {
	lang := strings.TrimSpace(r.PostFormValue("lang"))
	text, problem := p.preview(v.Property, lang, normalizeNewlines(r.PostFormValue("text")))
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "text": text, "error": problem})
}

func normalizeNewlines(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// saveMailing takes a mailing's editor: sending method, texts and schedule.
func (p *pages) saveMailing(w http.ResponseWriter, r *http.Request, v *view) {
	kind := bellhop.MailingKind(r.PathValue("kind"))
	patch, sch, perr := mailingForm(r)
	var m *bellhop.Mailing
	err := perr
	if err == nil {
		m, err = p.s.cfg.Mailings.PatchMailing(r.Context(), v.Property.ID, kind, patch)
	}
	if err != nil {
		if isInternal(err) || bellhop.IsNotFound(err) {
			p.done(w, r, "error", p.errText(r, v, err), "/p/"+v.Property.ID+"/mailings")
			return
		}
		card := p.mailingCard(v, kind, false, *patch.SendingMethod, patch.Templates, sch)
		card.Error = p.errText(r, v, err)
		var e *bellhop.Error
		if errors.As(err, &e) {
			for _, f := range e.Fields {
				for i := range card.Templates {
					if f.Field == "templates."+card.Templates[i].Lang {
						card.Templates[i].Error = f.Message
					}
				}
			}
		}
		p.showMailings(w, r, v, statusOf[bellhop.ErrorCode(err)], &card)
		return
	}
	p.done(w, r, "ok", tr(v.Lang, "flash.mailing_saved", tr(v.Lang, "kind."+string(m.Kind))), "/p/"+v.Property.ID+"/mailings#mailing-"+string(m.Kind))
}

// mailingForm reads the editor into a patch; the schedule comes back as sent, for showing it
// again when the patch is refused.
func mailingForm(r *http.Request) (mailings.MailingPatch, bellhop.Schedule, error) {
	method := strings.TrimSpace(r.PostFormValue("sending_method"))
	patch := mailings.MailingPatch{SendingMethod: &method, Templates: map[string]string{}}
	for key, vals := range r.PostForm {
		if lang, ok := strings.CutPrefix(key, "tpl_"); ok && len(vals) > 0 {
			patch.Templates[lang] = strings.TrimSpace(normalizeNewlines(vals[0]))
		}
	}
	sch := bellhop.Schedule{
		SendTime:   formTime(r.PostFormValue("send_time")),
		QuietStart: formTime(r.PostFormValue("quiet_start")),
		QuietEnd:   formTime(r.PostFormValue("quiet_end")),
	}
	var errs []error
	for _, f := range []struct {
		name string
		to   *int
	}{{"day_offset", &sch.DayOffset}, {"delay_minutes", &sch.DelayMinutes}, {"late_until_day", &sch.LateUntilDay}} {
		n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue(f.name)))
		if err != nil {
			errs = append(errs, bellhop.Invalid("schedule."+f.name, "must be a whole number"))
		}
		*f.to = n
	}
	patch.Schedule = &mailings.SchedulePatch{DayOffset: &sch.DayOffset, SendTime: &sch.SendTime, DelayMinutes: &sch.DelayMinutes,
		QuietStart: &sch.QuietStart, QuietEnd: &sch.QuietEnd, LateUntilDay: &sch.LateUntilDay}
	if len(errs) > 0 {
		return patch, sch, errs[0]
	}
	return patch, sch, nil
}

// formTime reads a time input, which a browser may send with seconds ("09:00:00").
func formTime(s string) bellhop.TimeOfDay {
	s = strings.TrimSpace(s)
	if t, err := time.Parse("15:04:05", s); err == nil {
		s = t.Format("15:04")
	}
	return bellhop.TimeOfDay(s)
}

// switchMailing is a mailing's on/off switch.
func (p *pages) switchMailing(w http.ResponseWriter, r *http.Request, v *view) {
	kind := bellhop.MailingKind(r.PathValue("kind"))
	on := r.PostFormValue("enabled") == "on"
	back := "/p/" + v.Property.ID + "/mailings"
	if _, err := p.s.cfg.Mailings.PatchMailing(r.Context(), v.Property.ID, kind, mailings.MailingPatch{Enabled: &on}); err != nil {
		p.done(w, r, "error", p.errText(r, v, err), back)
		return
	}
	key := "flash.mailing_off"
	if on {
		key = "flash.mailing_on"
	}
	p.done(w, r, "ok", tr(v.Lang, key, tr(v.Lang, "kind."+string(kind))), back+"#mailing-"+string(kind))
}

// capacityLines words the capacity warnings in the page's language.
func capacityLines(lang string, ws []mailings.CapacityWarning) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		if w.Paused != "" {
			out = append(out, tr(lang, "capacity.paused", w.Paused))
			continue
		}
		line := tr(lang, "capacity.day", tr(lang, "weekday."+w.Weekday), w.Date, w.Planned)
		if w.Carried > 0 {
			line += tr(lang, "capacity.carried", w.Carried)
		}
		if w.Numbers > 1 {
			line += tr(lang, "capacity.pool", w.Numbers, w.CanSend, w.Over, w.Label)
		} else {
			line += tr(lang, "capacity.one", w.CanSend, w.Over, w.Label)
		}
		out = append(out, line)
	}
	return out
}
