package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/bellhop/bellhop"
)

// CreateMailings stores mailings a property does not have yet and leaves existing ones as
// they are; it reports how many it created.
func (a *access) CreateMailings(ctx context.Context, ms []bellhop.Mailing) (int, error) {
	n := 0
	for _, m := range ms {
		m.CreatedAt, m.UpdatedAt = dbTime(m.CreatedAt), dbTime(m.UpdatedAt)
		j, err := mailingJSON(&m)
		if err != nil {
			return n, err
		}
		res, err := a.exec(ctx, "insert-mailing", m.PropertyID, string(m.Kind), m.Enabled, firstMethod(&m), j.templates, j.schedule,
			toMicros(m.CreatedAt), toMicros(m.UpdatedAt), j.methods, j.waTemplates, j.subjects)
		if isForeignKeyViolation(err) {
			return n, propertyNotFound(m.PropertyID)
		}
		c, err := affected(res, err)
		if err != nil {
			return n, fmt.Errorf("create %s mailing of property %q: %w", m.Kind, m.PropertyID, err)
		}
		n += int(c)
	}
	return n, nil
}

// UpdateMailing saves a mailing's settings; one that does not exist is not found.
func (a *access) UpdateMailing(ctx context.Context, m *bellhop.Mailing) error {
	m.UpdatedAt = dbTime(m.UpdatedAt)
	j, err := mailingJSON(m)
	if err != nil {
		return err
	}
	res, err := a.exec(ctx, "update-mailing", m.Enabled, firstMethod(m), j.templates, j.schedule, toMicros(m.UpdatedAt),
		j.methods, j.waTemplates, j.subjects, m.PropertyID, string(m.Kind))
	n, err := affected(res, err)
	if err != nil {
		return fmt.Errorf("save %s mailing of property %q: %w", m.Kind, m.PropertyID, err)
	}
	if n == 0 {
		return mailingNotFound(m.PropertyID, m.Kind)
	}
	return nil
}

// GetMailing reads one mailing of a property.
func (a *access) GetMailing(ctx context.Context, pid string, kind bellhop.MailingKind) (*bellhop.Mailing, error) {
	m, err := scanMailing(a.queryRow(ctx, "get-mailing", pid, string(kind)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mailingNotFound(pid, kind)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s mailing of property %q: %w", kind, pid, err)
	}
	return m, nil
}

// ListMailings lists a property's mailings: welcome, feedback, non_guaranteed.
func (a *access) ListMailings(ctx context.Context, pid string) ([]*bellhop.Mailing, error) {
	rows, err := a.queryRows(ctx, "list-mailings", pid)
	if err != nil {
		return nil, fmt.Errorf("list mailings of property %q: %w", pid, err)
	}
	list, err := collect(rows, scanMailing)
	if err != nil {
		return nil, fmt.Errorf("list mailings of property %q: %w", pid, err)
	}
	return list, nil
}

func mailingNotFound(pid string, kind bellhop.MailingKind) error {
	return bellhop.Errorf(bellhop.ENotFound, "Property %q has no %s mailing yet: mailings are created when an integration is first activated.", pid, kind)
}

// mailingColumns are a mailing's JSON columns.
type mailingColumns struct {
	templates, schedule, methods, waTemplates, subjects string
}

// firstMethod is the sending_method column: the first channel.
func firstMethod(m *bellhop.Mailing) string {
	if ms := m.Methods(); len(ms) > 0 {
		return ms[0]
	}
	return ""
}

func mailingJSON(m *bellhop.Mailing) (mailingColumns, error) {
	var c mailingColumns
	for _, f := range []struct {
		dst  *string
		v    any
		what string
	}{
		{&c.templates, nonNilMap(m.Templates), "templates"},
		{&c.schedule, m.Schedule, "schedule"},
		{&c.methods, nonNilSlice(m.Methods()), "sending methods"},
		{&c.waTemplates, nonNilMap(m.WATemplates), "WhatsApp templates"},
		{&c.subjects, nonNilMap(m.Subjects), "subjects"},
	} {
		b, err := json.Marshal(f.v)
		if err != nil {
			return c, fmt.Errorf("encode %s: %w", f.what, err)
		}
		*f.dst = string(b)
	}
	return c, nil
}

func nonNilMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return m
}

func nonNilSlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func scanMailing(row scanner) (*bellhop.Mailing, error) {
	var m bellhop.Mailing
	var kind, tpl, sched, methods, wa, subjects string
	var created, updated int64
	if err := row.Scan(&m.PropertyID, &kind, &m.Enabled, &m.SendingMethod, &tpl, &sched, &created, &updated,
		&methods, &wa, &subjects); err != nil {
		return nil, err
	}
	m.Kind = bellhop.MailingKind(kind)
	if err := decodedMailings.decode(&m, mailingColumns{tpl, sched, methods, wa, subjects}); err != nil {
		return nil, err
	}
	// Nothing stored reads as nothing set, as the mailing was written.
	if len(m.WATemplates) == 0 {
		m.WATemplates = nil
	}
	if len(m.Subjects) == 0 {
		m.Subjects = nil
	}
	if len(m.SendingMethods) == 0 && m.SendingMethod != "" {
		m.SendingMethods = []string{m.SendingMethod}
	}
	m.CreatedAt, m.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &m, nil
}

// decodeJSON decodes the columns into the fields of m (of kind m.Kind).
func (c mailingColumns) decodeJSON(m *bellhop.Mailing) error {
	for _, f := range []struct {
		raw  string
		dst  any
		what string
	}{
		{c.templates, &m.Templates, "templates"}, {c.schedule, &m.Schedule, "schedule"}, {c.methods, &m.SendingMethods, "sending methods"},
		{c.waTemplates, &m.WATemplates, "WhatsApp templates"}, {c.subjects, &m.Subjects, "subjects"},
	} {
		if err := json.Unmarshal([]byte(f.raw), f.dst); err != nil {
			return fmt.Errorf("decode %s of %s mailing: %w", f.what, m.Kind, err)
		}
	}
	return nil
}

// mailingCache keeps the decoded JSON columns of the mailings read lately, by their stored
// text. Every booking push reads its property's mailings, and decoding their texts (templates
// in several languages) again each time was a fifth of a push's CPU in the API process.
type mailingCache struct {
	mu   sync.Mutex
	max  int
	byJS map[mailingColumns]*bellhop.Mailing // only the decoded fields are set
}

var decodedMailings = &mailingCache{max: 256, byJS: map[mailingColumns]*bellhop.Mailing{}}

// decode sets m's JSON fields from c: copies of what was decoded before from the same text, so
// that a caller may change what it read, or decoded now. A text that does not decode is never
// kept.
func (mc *mailingCache) decode(m *bellhop.Mailing, c mailingColumns) error {
	mc.mu.Lock()
	d, ok := mc.byJS[c]
	mc.mu.Unlock()
	if !ok {
		fresh := bellhop.Mailing{Kind: m.Kind}
		if err := c.decodeJSON(&fresh); err != nil {
			return err
		}
		d = &fresh
		mc.mu.Lock()
		if len(mc.byJS) >= mc.max {
			clear(mc.byJS) // mailings change rarely: those in use come back at once
		}
		mc.byJS[c] = d
		mc.mu.Unlock()
	}
	m.Templates, m.Schedule, m.SendingMethods = maps.Clone(d.Templates), d.Schedule, slices.Clone(d.SendingMethods)
	m.Subjects = maps.Clone(d.Subjects)
	m.WATemplates = nil
	if d.WATemplates != nil {
		m.WATemplates = make(map[string]bellhop.WATemplate, len(d.WATemplates))
		for lang, t := range d.WATemplates {
			t.Params = slices.Clone(t.Params)
			m.WATemplates[lang] = t
		}
	}
	return nil
}
