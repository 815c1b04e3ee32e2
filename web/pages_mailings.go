package web

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/connector"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/provider"
)

// mailingCard is one mailing on the Mailings tab, as saved or as the manager just sent it.
type mailingCard struct {
	Kind    bellhop.MailingKind
	Enabled bool
	// Methods are the numbered channel choices: the first that can reach the guest sends, a
	// permanent failure falls through to the next.
	Methods   []methodSlot
	Templates []templateField
	// WA maps the texts to approved WhatsApp templates, for a mailing sent through a kind
	// with a customer window (outside it only a template may go); nil otherwise.
	WA       *waSection
	Schedule bellhop.Schedule
	Error    string
}

// methodSlot is one place in a mailing's channel order.
type methodSlot struct {
	N       int
	Options []option
}

// waSection is the WhatsApp templates of a mailing, per language, from the approved templates
// of Kind's chosen sender.
type waSection struct {
	Kind, Title string
	Error       string // the templates could not be listed: why
	Langs       []waField
}

// waField is the template a language sends, its parameters and its preview.
type waField struct {
	Lang, LangName        string
	Options               []option // "name/language" of each approved template
	Params                string   // one per line, placeholders allowed
	Takes                 int      // how many parameters the chosen template's body has
	Preview, PreviewError string
	Error                 string
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
	ch := p.newChannelInfo(r, v)
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
		data.Cards = append(data.Cards, ch.mailingCard(m.Kind, m.Enabled, m.Methods(), m.Templates, m.WATemplates, m.Schedule))
	}
	data.Capacity = capacityLines(v.Lang, p.s.capacityWarnings(r.Context(), v.Property.ID))
	v.Data = data
	p.render(w, r, status, "mailings", v)
}

// channelInfo is what a Mailings page knows of the property's channels, read once per page:
// the kinds, whether each is connected, and the approved WhatsApp templates per kind.
type channelInfo struct {
	p         *pages
	r         *http.Request
	v         *view
	kinds     []*provider.Kind
	state     map[string]*connector.View
	templates map[string]templateList
}

type templateList struct {
	list []provider.Template
	err  string
}

func (p *pages) newChannelInfo(r *http.Request, v *view) *channelInfo {
	ch := &channelInfo{p: p, r: r, v: v, kinds: p.s.cfg.Connector.Kinds().All(), state: map[string]*connector.View{},
		templates: map[string]templateList{}}
	// Without the Contact Center module nothing is connected; the kinds are still listed.
	if views, err := p.s.cfg.Connector.List(r.Context(), v.Property.ID); err == nil {
		for _, iv := range views {
			ch.state[iv.Provider] = iv
		}
	}
	return ch
}

// approved lists the approved templates of kind's chosen sender, asked once per page.
func (ch *channelInfo) approved(kind string) templateList {
	if tl, ok := ch.templates[kind]; ok {
		return tl
	}
	ctx, cancel := context.WithTimeout(ch.r.Context(), providerWait)
	defer cancel()
	var tl templateList
	res, err := ch.p.s.cfg.Connector.Templates(ctx, ch.v.Property.ID, kind)
	if err != nil {
		tl.err = ch.p.errText(ch.r, ch.v, err)
	} else {
		all, _ := res["templates"].([]provider.Template)
		for _, t := range all {
			if t.Approved() {
				tl.list = append(tl.list, t)
			}
		}
	}
	ch.templates[kind] = tl
	return tl
}

// windowKind is the first of the methods whose kind sends approved templates outside a
// customer window (WhatsApp), or nil.
func (ch *channelInfo) windowKind(methods []string) *provider.Kind {
	for _, m := range methods {
		for _, k := range ch.kinds {
			if k.Name == m && k.Caps.Templates && k.Caps.CustomerWindow > 0 {
				return k
			}
		}
	}
	return nil
}

func (ch *channelInfo) mailingCard(kind bellhop.MailingKind, enabled bool, methods []string, texts map[string]string,
	wa map[string]bellhop.WATemplate, sch bellhop.Schedule) mailingCard {
	v := ch.v
	c := mailingCard{Kind: kind, Enabled: enabled, Schedule: sch}
	slots := max(len(ch.kinds), len(methods))
	for i := range slots {
		cur := ""
		if i < len(methods) {
			cur = methods[i]
		}
		slot := methodSlot{N: i + 1, Options: []option{{Value: "", Label: "—", Selected: cur == ""}}}
		known := cur == ""
		for _, k := range ch.kinds {
			label := k.Title
			if iv := ch.state[k.Name]; iv == nil || !iv.Active {
				label += " " + tr(v.Lang, "mailings.method_inactive")
			}
			slot.Options = append(slot.Options, option{Value: k.Name, Label: label, Selected: k.Name == cur})
			known = known || k.Name == cur
		}
		if !known {
			slot.Options = append(slot.Options, option{Value: cur, Label: cur, Selected: true})
		}
		c.Methods = append(c.Methods, slot)
	}
	langs := mailingLangs(v, texts)
	for _, l := range langs {
		f := templateField{Lang: l, LangName: langName(v.Lang, l), Text: texts[l]}
		f.Preview, f.PreviewError = ch.p.preview(v.Lang, v.Property, l, f.Text)
		c.Templates = append(c.Templates, f)
	}
	if k := ch.windowKind(methods); k != nil {
		tl := ch.approved(k.Name)
		c.WA = &waSection{Kind: k.Name, Title: k.Title, Error: tl.err}
		for _, l := range langs {
			c.WA.Langs = append(c.WA.Langs, ch.p.waField(v, l, wa[l], tl.list))
		}
	}
	return c
}

// mailingLangs are the languages a mailing's editor shows: English and Russian always, the
// property's language, and any other the mailing has.
func mailingLangs(v *view, texts map[string]string) []string {
	langs := []string{"en", "ru"}
	if l := mailings.BaseLanguage(v.Property.Language); l != "" && !slices.Contains(langs, l) {
		langs = append(langs, l)
	}
	for _, l := range slices.Sorted(maps.Keys(texts)) {
		if !slices.Contains(langs, l) {
			langs = append(langs, l)
		}
	}
	return langs
}

func langName(pageLang, l string) string {
	if name, ok := catalog[pageLang]["lang."+l]; ok {
		return name
	}
	return tr(pageLang, "lang.other", l)
}

// waField is one language's template choice: the approved templates (those of the language
// first), the chosen one kept even when the provider no longer lists it, and its preview.
func (p *pages) waField(v *view, lang string, cur bellhop.WATemplate, list []provider.Template) waField {
	f := waField{Lang: lang, LangName: langName(v.Lang, lang), Params: strings.Join(cur.Params, "\n")}
	f.Options = []option{{Value: "", Label: tr(v.Lang, "mailings.wa_none"), Selected: cur.Name == ""}}
	sorted := slices.Clone(list)
	slices.SortStableFunc(sorted, func(a, b provider.Template) int {
		return cmpBool(mailings.BaseLanguage(b.Language) == lang, mailings.BaseLanguage(a.Language) == lang)
	})
	var chosen *provider.Template
	for i, t := range sorted {
		sel := cur.Name != "" && t.Name == cur.Name && sameTemplateLang(cur.Language, t.Language, lang)
		if sel && chosen == nil {
			chosen = &sorted[i]
		} else {
			sel = false
		}
		f.Options = append(f.Options, option{Value: t.Name + "/" + t.Language, Label: t.Name + " (" + t.Language + ")", Selected: sel})
	}
	if cur.Name != "" && chosen == nil {
		tl := cur.Language
		if tl == "" {
			tl = lang
		}
		f.Options = append(f.Options, option{Value: cur.Name + "/" + tl, Label: cur.Name + " (" + tl + ")", Selected: true})
	}
	if chosen != nil {
		f.Takes = provider.TemplateParams(chosen.Text)
		f.Preview, f.PreviewError = p.waPreview(v, lang, chosen.Text, cur.Params)
	}
	return f
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// sameTemplateLang: a mapping's template language, or the mapping's own language when it names
// none, is the listed template's.
func sameTemplateLang(mapped, listed, lang string) bool {
	if mapped != "" {
		return mapped == listed
	}
	return listed == lang || mailings.BaseLanguage(listed) == lang
}

// waPreview fills a template's body with its parameters rendered for the sample booking, as
// the guest would read it, and says what is wrong, if anything.
func (p *pages) waPreview(v *view, lang, body string, params []string) (text, problem string) {
	data := mailings.DataFor(v.Property, new(p.sampleBooking(v.Property, lang)), lang)
	values := make([]string, len(params))
	var problems []string
	for i, param := range params {
		values[i] = strings.Join(strings.Fields(mailings.Render(param, data)), " ")
		if err := mailings.ValidateTemplates(map[string]string{lang: param}); err != nil {
			problems = append(problems, serviceText(v.Lang, err))
		}
	}
	text = provider.FillTemplate(body, values)
	if n := provider.TemplateParams(body); n != len(params) {
		problems = append(problems, tr(v.Lang, "mailings.wa_param_count", n, len(params)))
	}
	return text, strings.Join(problems, " ")
}

// previewWATemplate answers the editor's live preview of a WhatsApp template.
func (p *pages) previewWATemplate(w http.ResponseWriter, r *http.Request, v *view) {
	lang := strings.TrimSpace(r.PostFormValue("lang"))
	name, tl, _ := strings.Cut(r.PostFormValue("template"), "/")
	params := formParams(r.PostFormValue("params"))
	out := map[string]any{"ok": true, "text": "", "error": "", "takes": 0}
	if name != "" {
		ch := p.newChannelInfo(r, v)
		list := ch.approved(r.PostFormValue("channel"))
		out["error"] = list.err
		for _, t := range list.list {
			if t.Name == name && t.Language == tl {
				out["text"], out["error"] = p.waPreview(v, lang, t.Text, params)
				out["takes"] = provider.TemplateParams(t.Text)
				break
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// formParams reads a template's parameters, one per line; blank lines are dropped.
func formParams(s string) []string {
	var out []string
	for _, line := range strings.Split(normalizeNewlines(s), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// preview renders a template for a sample booking three days ahead, the way the guest would
// read it, and says what is wrong with it, if anything.
func (p *pages) preview(pageLang string, prop *bellhop.Property, lang, text string) (rendered, problem string) {
	if strings.TrimSpace(text) == "" {
		return "", ""
	}
	if err := mailings.ValidateTemplates(map[string]string{lang: text}); err != nil {
		problem = serviceText(pageLang, err)
	}
	return mailings.Render(text, mailings.DataFor(prop, new(p.sampleBooking(prop, lang)), lang)), problem
}

// sampleBooking is the booking previews are made for: a guest arriving in three days for two
// nights, with a guarantee deadline the evening before.
func (p *pages) sampleBooking(prop *bellhop.Property, lang string) bellhop.Booking {
	loc := prop.Location()
	arrival := bellhop.DateOf(p.s.cfg.Clock.Now().In(loc)).AddDays(3)
	deadline := arrival.AddDays(-1).At(18, 0, loc)
	guest := "Anna Petrova"
	if lang == "ru" {
		guest = "Анна Петрова"
	}
	return bellhop.Booking{ID: "B-1042", PropertyID: prop.ID, Arrival: arrival, Departure: arrival.AddDays(2),
		GuaranteeDeadline: &deadline, Guest: bellhop.Guest{Name: guest, Language: lang}}
}

// previewTemplate answers the editor's live preview.
func (p *pages) previewTemplate(w http.ResponseWriter, r *http.Request, v *view) {
	lang := strings.TrimSpace(r.PostFormValue("lang"))
	text, problem := p.preview(v.Lang, v.Property, lang, normalizeNewlines(r.PostFormValue("text")))
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "text": text, "error": problem})
}

func normalizeNewlines(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// saveMailing takes a mailing's editor: sending method, texts and schedule.
func (p *pages) saveMailing(w http.ResponseWriter, r *http.Request, v *view) {
	kind := bellhop.MailingKind(r.PathValue("kind"))
	patch, sch, perr := mailingForm(r)
	var m *mailings.SavedMailing
	err := perr
	if err == nil {
		m, err = p.s.cfg.Mailings.PatchMailing(r.Context(), v.Property.ID, kind, patch)
	}
	if err != nil {
		if isInternal(err) || bellhop.IsNotFound(err) {
			p.done(w, r, "error", p.errText(r, v, err), "/p/"+v.Property.ID+"/mailings")
			return
		}
		wa := map[string]bellhop.WATemplate{}
		for lang, t := range patch.WATemplates {
			if t != nil {
				wa[lang] = *t
			}
		}
		card := p.newChannelInfo(r, v).mailingCard(kind, false, formMethods(r), patch.Templates, wa, sch)
		card.Error = p.errText(r, v, err)
		var e *bellhop.Error
		if errors.As(err, &e) {
			for _, f := range e.Fields {
				for i := range card.Templates {
					if f.Field == "templates."+card.Templates[i].Lang {
						card.Templates[i].Error = fieldMessage(v.Lang, f.Message)
					}
				}
				for i := 0; card.WA != nil && i < len(card.WA.Langs); i++ {
					if l := &card.WA.Langs[i]; strings.HasPrefix(f.Field, "wa_templates."+l.Lang) {
						l.Error = strings.TrimSpace(l.Error + " " + fieldMessage(v.Lang, f.Message))
					}
				}
			}
		}
		p.showMailings(w, r, v, statusOf[bellhop.ErrorCode(err)], &card)
		return
	}
	flash, msg := "ok", tr(v.Lang, "flash.mailing_saved", tr(v.Lang, "kind."+string(m.Kind)))
	if len(m.Warnings) > 0 {
		// Saved, with what the save could not make sure of (templates not checked, …).
		flash = "warning"
		for _, w := range m.Warnings {
			msg += " " + fieldMessage(v.Lang, w.Message)
		}
	}
	p.done(w, r, flash, msg, "/p/"+v.Property.ID+"/mailings#mailing-"+string(m.Kind))
}

// mailingForm reads the editor into a patch; the schedule comes back as sent, for showing it
// again when the patch is refused.
func mailingForm(r *http.Request) (mailings.MailingPatch, bellhop.Schedule, error) {
	patch := mailings.MailingPatch{Templates: map[string]string{}}
	if methods := formMethods(r); methods != nil {
		patch.SendingMethods = &methods
	} else if method, ok := r.PostForm["sending_method"]; ok && len(method) > 0 {
		// A form of one channel (the editor before the channel order).
		m := strings.TrimSpace(method[0])
		patch.SendingMethod = &m
	}
	for key, vals := range r.PostForm {
		if lang, ok := strings.CutPrefix(key, "tpl_"); ok && len(vals) > 0 {
			patch.Templates[lang] = strings.TrimSpace(normalizeNewlines(vals[0]))
		}
	}
	// The WhatsApp templates, when the editor showed them: a language set to none is removed.
	if r.PostFormValue("wa_section") != "" {
		patch.WATemplates = map[string]*bellhop.WATemplate{}
		for key, vals := range r.PostForm {
			lang, ok := strings.CutPrefix(key, "wa_tpl_")
			if !ok || len(vals) == 0 {
				continue
			}
			name, tl, _ := strings.Cut(strings.TrimSpace(vals[0]), "/")
			if name == "" {
				patch.WATemplates[lang] = nil
				continue
			}
			patch.WATemplates[lang] = &bellhop.WATemplate{Name: name, Language: tl, Params: formParams(r.PostFormValue("wa_params_" + lang))}
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

// formMethods reads the numbered channel choices (method_1, method_2, …) in order, skipping
// the places left empty; nil when the form has none.
func formMethods(r *http.Request) []string {
	var out []string
	seen := false
	for n := 1; n <= maxMethodSlots; n++ {
		vals, ok := r.PostForm["method_"+strconv.Itoa(n)]
		if !ok {
			continue
		}
		seen = true
		if m := strings.TrimSpace(vals[0]); m != "" {
			out = append(out, m)
		}
	}
	if seen && out == nil {
		return []string{}
	}
	return out
}

// maxMethodSlots bounds the channel places a form is read for (a mailing tries at most 8).
const maxMethodSlots = 16

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
