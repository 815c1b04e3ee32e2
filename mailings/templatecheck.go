package mailings

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
)

// A mailing's WhatsApp templates (wa_templates) name templates the provider must have
// approved. When a mailing is saved with them, each of its channels that sends templates and
// can be asked now (an active, verified integration with its sender) is asked once for its
// list, and every template the save names is checked against it: the name exists, it is
// approved (where the provider tells a status), in the mapping's language (a base language
// such as "en" matches a listed "en_US", and the listed code is then stored, so a send names
// the language the provider has), and with no more parameters than its body takes (where the
// listing shows the body). A template that fails is invalid_input naming the field. A channel
// that cannot be asked now — not connected, switched off, its provider down — does not stop
// the save: the mailing is saved with a warning that its templates were not checked. A
// template removed later is still met at send time (the provider refuses it and the mailing
// goes on to its next channel).

// TemplateCatalog lists the templates of a property's channel as its provider gives them,
// for the chosen sender (connector.Service.SenderTemplates).
type TemplateCatalog interface {
	SenderTemplates(ctx context.Context, pid, kind string) ([]provider.Template, error)
}

// DefaultTemplateCheckWait bounds the provider calls one save makes to check its templates.
const DefaultTemplateCheckWait = 10 * time.Second

// Warning codes of a saved mailing.
const (
	// WarnTemplatesUnchecked: a channel could not be asked for its templates; they are saved
	// unchecked.
	WarnTemplatesUnchecked = "templates_unchecked"
	// WarnTemplateParamsShort: a template is given fewer parameters than its body takes.
	WarnTemplateParamsShort = "template_params_short"
)

// MailingWarning is something a mailing's save could not make sure of; the mailing is saved
// all the same. Message says it in plain words (English; the page translates).
type MailingWarning struct {
	Code string `json:"code"`
	// SendingMethod is the channel the warning is about.
	SendingMethod string `json:"sending_method"`
	// Field names the input it is about, when it is about one template (wa_templates.en.params).
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// SavedMailing is a mailing as a change left it, with what the save could not make sure of.
type SavedMailing struct {
	*bellhop.Mailing
	Warnings []MailingWarning `json:"warnings"`
}

// uncheckedWarning says a channel's templates were saved without being checked, and why.
func uncheckedWarning(method, title, why string) MailingWarning {
	return MailingWarning{Code: WarnTemplatesUnchecked, SendingMethod: method,
		Message: fmt.Sprintf("The WhatsApp templates could not be checked against %s (%s); they are saved unchecked. Save them again later to check them.", title, why)}
}

// templateCheck is what checking a patch's templates against the channels found.
type templateCheck struct {
	patch    MailingPatch
	warnings []MailingWarning
	// asked are the channels whose lists were read, or that were found unable to answer.
	asked map[string]bool
}

// namesTemplates reports whether the patch sets a WhatsApp template by name.
func (patch MailingPatch) namesTemplates() bool {
	for _, t := range patch.WATemplates {
		if t != nil && t.Name != "" {
			return true
		}
	}
	return false
}

// checkTemplates checks the templates the patch names against each channel of the mailing as
// the patch leaves it (see above). It answers the patch with the languages the providers list
// written in, and the warnings; an invalid patch (the mailing's own checks first, then the
// templates) is an error. It reads outside any transaction: providers are slow.
func (s *Service) checkTemplates(ctx context.Context, pid string, kind bellhop.MailingKind, patch MailingPatch) (*templateCheck, error) {
	out := &templateCheck{patch: patch, asked: map[string]bool{}}
	if s.cfg.Templates == nil || !patch.namesTemplates() {
		return out, nil
	}
	if _, err := s.cfg.Store.GetProperty(ctx, pid); err != nil {
		return nil, err
	}
	m, err := s.cfg.Store.GetMailing(ctx, pid, kind)
	if err != nil {
		return nil, err
	}
	if err := s.applyPatch(m, patch); err != nil {
		return nil, err
	}
	if err := Validate(*m); err != nil {
		return nil, err
	}
	wait := s.cfg.TemplateCheckWait
	if wait <= 0 {
		wait = DefaultTemplateCheckWait
	}
	cctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var errs []error
	resolved := map[string][]string{} // language key → the codes the channels list it in
	for _, method := range s.templateMethods(m.Methods()) {
		k := s.kind(method)
		out.asked[method] = true
		in, err := s.cfg.Store.GetIntegration(ctx, pid, method)
		why := ""
		switch {
		case bellhop.IsNotFound(err):
			why = "the integration is not connected"
		case err != nil:
			return nil, err
		case in.Status == bellhop.StatusInvalid:
			why = "its key was rejected"
		case !in.Active || in.Status != bellhop.StatusVerified:
			why = "the integration is not active yet"
		case in.Sender == nil:
			why = "no sender is chosen"
		}
		if why != "" {
			out.warnings = append(out.warnings, uncheckedWarning(method, k.Title, why))
			continue
		}
		list, err := s.cfg.Templates.SenderTemplates(cctx, pid, method)
		if err != nil {
			s.cfg.Logger.WarnContext(ctx, "a mailing's templates could not be checked", "property", pid, "kind", kind,
				"channel", method, "error", err)
			out.warnings = append(out.warnings, uncheckedWarning(method, k.Title, listFailure(err)))
			continue
		}
		if len(list) == 0 && k.Caps.CustomerWindow <= 0 {
			// A kind whose templates are one sender type's (IntellectDialog's official
			// WhatsApp senders): a sender that lists none sends the mailing's texts, and
			// only a mailing without any would want a template of it.
			if len(m.Templates) == 0 {
				out.warnings = append(out.warnings, uncheckedWarning(method, k.Title, "its sender lists no templates: only official WhatsApp Business API senders send them"))
			}
			continue
		}
		r := CheckWATemplates(k.Title, list, patch.WATemplates)
		errs = append(errs, r.Errs...)
		for _, w := range r.Warnings {
			w.SendingMethod = method
			out.warnings = append(out.warnings, w)
		}
		for lang, code := range r.Languages {
			resolved[lang] = append(resolved[lang], code)
		}
	}
	if err := bellhop.JoinInvalid(errs...); err != nil {
		return nil, err
	}
	// A language the channels list under one code other than the one a send would name (a
	// base language matched) is stored with that code.
	cloned := false
	for _, lang := range slices.Sorted(maps.Keys(resolved)) {
		codes := slices.Compact(slices.Sorted(slices.Values(resolved[lang])))
		t := patch.WATemplates[lang]
		if len(codes) != 1 || codes[0] == cmp.Or(t.Language, lang) {
			continue
		}
		if !cloned {
			out.patch.WATemplates, cloned = maps.Clone(patch.WATemplates), true
		}
		c := *t
		c.Language = codes[0]
		out.patch.WATemplates[lang] = &c
	}
	return out, nil
}

// templateMethods are the methods whose kind sends approved templates, each once.
func (s *Service) templateMethods(methods []string) []string {
	var out []string
	for _, m := range methods {
		if k := s.kind(m); k != nil && k.Caps.Templates && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// listFailure says in a few words why a channel's templates could not be listed.
func listFailure(err error) string {
	switch bellhop.ErrorCode(err) {
	case bellhop.EProviderUnavailable:
		return "it did not answer"
	case bellhop.EInvalidAPIKey:
		return "it rejected the integration's key"
	case bellhop.ENotReady:
		return "no sender is chosen"
	case bellhop.ENotFound:
		return "the integration is not connected"
	}
	return "its list of templates could not be read"
}

// TemplateReport is what checking WhatsApp template mappings against one channel's list found.
type TemplateReport struct {
	// Errs name each mapping the list refuses (invalid_input: wa_templates.en.name, …).
	Errs []error
	// Warnings are mappings the list allows but a send would fail with (too few parameters).
	Warnings []MailingWarning
	// Languages maps each language key that matched to the listed template's language code.
	Languages map[string]string
}

// CheckWATemplates checks WhatsApp template mappings (a mailing's wa_templates; nil entries
// are removals and pass) against the templates a channel titled title lists: the name must
// be there, approved where the list tells a status, in the mapping's language (its
// Language, else its key; "en" matches one listed "en_US" and the other way round) and with
// no more parameters than its body takes where the list shows a body.
func CheckWATemplates(title string, list []provider.Template, wa map[string]*bellhop.WATemplate) TemplateReport {
	r := TemplateReport{Languages: map[string]string{}}
	for _, lang := range slices.Sorted(maps.Keys(wa)) {
		t := wa[lang]
		if t == nil || t.Name == "" {
			continue
		}
		field := "wa_templates." + bellhop.Excerpt(lang)
		name := bellhop.Excerpt(t.Name)
		want, langField := t.Language, field+".language"
		if want == "" {
			want, langField = lang, field+".name"
		}
		var named, approved []provider.Template
		for _, c := range list {
			if c.Name == t.Name {
				named = append(named, c)
				if c.Status == "" || c.Approved() {
					approved = append(approved, c)
				}
			}
		}
		if len(named) == 0 {
			r.Errs = append(r.Errs, bellhop.Invalid(field+".name", "%s is not among the approved templates of %s (%s)", name, title, approvedNames(list)))
			continue
		}
		chosen, ambiguous := matchLanguage(approved, want)
		if chosen == nil && len(ambiguous) == 0 {
			// Not approved in that language: listed in it with another status, or approved
			// in none.
			unapproved, _ := matchLanguage(named, want)
			if unapproved == nil && len(approved) == 0 {
				unapproved = &named[0]
			}
			if unapproved != nil {
				r.Errs = append(r.Errs, bellhop.Invalid(field+".name", "%s is not approved at %s (its status is %s); only an approved template can be sent",
					name, title, shortStatus(unapproved.Status)))
				continue
			}
			r.Errs = append(r.Errs, bellhop.Invalid(langField, "%s is approved at %s in %s, not in %s", name, title, languages(approved), bellhop.Excerpt(want)))
			continue
		}
		if chosen == nil {
			r.Errs = append(r.Errs, bellhop.Invalid(field+".language", "%s is approved at %s in %s: set language to the one to send", name, title, languages(ambiguous)))
			continue
		}
		r.Languages[lang] = chosen.Language
		if chosen.Text == "" {
			continue // the list does not show the body: its parameters cannot be counted
		}
		takes, given := provider.TemplateParams(chosen.Text), len(t.Params)
		switch {
		case given > takes:
			r.Errs = append(r.Errs, bellhop.Invalid(field+".params", "%s takes %d parameter(s) at %s; %d are given", name, takes, title, given))
		case given < takes:
			r.Warnings = append(r.Warnings, MailingWarning{Code: WarnTemplateParamsShort, Field: field + ".params",
				Message: fmt.Sprintf("%s takes %d parameter(s) at %s; %d are given, and WhatsApp refuses a message without all of them.", name, takes, title, given)})
		}
	}
	return r
}

// matchLanguage finds the template of list in language want: the one listed in it (case and
// "-"/"_" aside), else the one whose code is want's base language or has it as its base
// ("en" and "en_US"). Several such (en_GB and en_US for "en") are ambiguous.
func matchLanguage(list []provider.Template, want string) (*provider.Template, []provider.Template) {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "-", "_")) }
	bare := func(s string) bool { return !strings.ContainsAny(s, "_-") }
	for i, c := range list {
		if norm(c.Language) == norm(want) {
			return &list[i], nil
		}
	}
	base := BaseLanguage(want)
	var near []provider.Template
	for _, c := range list {
		if base != "" && BaseLanguage(c.Language) == base && (bare(want) || bare(c.Language)) {
			near = append(near, c)
		}
	}
	switch len(near) {
	case 0:
		return nil, nil
	case 1:
		return &near[0], nil
	}
	return nil, near
}

// approvedNames lists a few of the approved names a list has, for a person who mistyped one.
func approvedNames(list []provider.Template) string {
	var names []string
	for _, c := range list {
		if (c.Status == "" || c.Approved()) && waNameRE.MatchString(c.Name) && !slices.Contains(names, c.Name) {
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		return "it lists none"
	}
	slices.Sort(names)
	const most = 5
	s := "approved: " + strings.Join(names[:min(most, len(names))], ", ")
	if len(names) > most {
		s += fmt.Sprintf(" and %d more", len(names)-most)
	}
	return s
}

// languages lists the language codes of templates, sorted, once each.
func languages(list []provider.Template) string {
	var codes []string
	for _, c := range list {
		if l := bellhop.Excerpt(strings.TrimSpace(c.Language)); l != "" && !slices.Contains(codes, l) {
			codes = append(codes, l)
		}
	}
	slices.Sort(codes)
	return strings.Join(codes, ", ")
}

// shortStatus is a provider's status word, short and printable.
func shortStatus(s string) string {
	s = strings.TrimSpace(clipReason(s))
	if s == "" {
		return "unknown"
	}
	if r := []rune(s); len(r) > 30 {
		s = string(r[:30]) + "…"
	}
	return s
}
