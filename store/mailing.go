package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bellhop/bellhop"
)

// CreateMailings stores mailings a property does not have yet and leaves existing ones as
// they are; it reports how many it created.
func (a *access) CreateMailings(ctx context.Context, ms []bellhop.Mailing) (int, error) {
	n := 0
	for _, m := range ms {
		m.CreatedAt, m.UpdatedAt = dbTime(m.CreatedAt), dbTime(m.UpdatedAt)
		tpl, sched, err := mailingJSON(&m)
		if err != nil {
			return n, err
		}
		res, err := a.exec(ctx, "insert-mailing", m.PropertyID, string(m.Kind), m.Enabled, m.SendingMethod, tpl, sched,
			toMicros(m.CreatedAt), toMicros(m.UpdatedAt))
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
	tpl, sched, err := mailingJSON(m)
	if err != nil {
		return err
	}
	res, err := a.exec(ctx, "update-mailing", m.Enabled, m.SendingMethod, tpl, sched, toMicros(m.UpdatedAt), m.PropertyID, string(m.Kind))
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

func mailingJSON(m *bellhop.Mailing) (templates, schedule string, err error) {
	t := m.Templates
	if t == nil {
		t = map[string]string{}
	}
	tb, err := json.Marshal(t)
	if err != nil {
		return "", "", fmt.Errorf("encode templates: %w", err)
	}
	sb, err := json.Marshal(m.Schedule)
	if err != nil {
		return "", "", fmt.Errorf("encode schedule: %w", err)
	}
	return string(tb), string(sb), nil
}

func scanMailing(row scanner) (*bellhop.Mailing, error) {
	var m bellhop.Mailing
	var kind, tpl, sched string
	var created, updated int64
	if err := row.Scan(&m.PropertyID, &kind, &m.Enabled, &m.SendingMethod, &tpl, &sched, &created, &updated); err != nil {
		return nil, err
	}
	m.Kind = bellhop.MailingKind(kind)
	if err := json.Unmarshal([]byte(tpl), &m.Templates); err != nil {
		return nil, fmt.Errorf("decode templates of %s mailing: %w", kind, err)
	}
	if err := json.Unmarshal([]byte(sched), &m.Schedule); err != nil {
		return nil, fmt.Errorf("decode schedule of %s mailing: %w", kind, err)
	}
	m.CreatedAt, m.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &m, nil
}
