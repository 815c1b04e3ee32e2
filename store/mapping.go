package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bellhop/bellhop"
)

// SetMapping links an active staff member to an operator and records the change in the audit
// trail; relinking to the same operator records nothing and returns a nil change. m's
// UpdatedAt and UpdatedBy say when and by whom. A staff member that is deleted, inactive or
// of another property is not found.
func (db *DB) SetMapping(ctx context.Context, m *bellhop.Mapping) (*bellhop.MappingChange, error) {
	m.UpdatedAt = dbTime(m.UpdatedAt)
	var change *bellhop.MappingChange
	err := db.WithTx(ctx, func(tx *Tx) error {
		change = nil // WithTx may run this again
		old, err := tx.lockMapping(ctx, m.PropertyID, m.StaffID)
		if err != nil {
			return err
		}
		if old != nil && old.Provider == m.Provider && old.OperatorID == m.OperatorID && old.OperatorName == m.OperatorName {
			*m = *old
			return nil
		}
		if _, err := tx.exec(ctx, "upsert-mapping", m.PropertyID, m.StaffID, m.Provider, m.OperatorID,
			m.OperatorName, toMicros(m.UpdatedAt), m.UpdatedBy); err != nil {
			return fmt.Errorf("link staff %q of property %q: %w", m.StaffID, m.PropertyID, err)
		}
		if old != nil && old.Provider == m.Provider && old.OperatorID == m.OperatorID {
			return nil // only the operator's name changed: not a change of link
		}
		change, err = tx.recordMappingChange(ctx, m.PropertyID, m.StaffID, m.Provider, old, m, m.UpdatedBy, m.UpdatedAt)
		return err
	})
	if err != nil {
		return nil, err
	}
	return change, nil
}

// DeleteMapping unlinks an active staff member and records it; a member with no link changes
// nothing and returns a nil change. A staff member that is deleted, inactive or of another
// property is not found.
func (db *DB) DeleteMapping(ctx context.Context, pid, sid, actor string, at time.Time) (*bellhop.MappingChange, error) {
	var change *bellhop.MappingChange
	err := db.WithTx(ctx, func(tx *Tx) error {
		change = nil // WithTx may run this again
		old, err := tx.lockMapping(ctx, pid, sid)
		if err != nil || old == nil {
			return err
		}
		if _, err := tx.exec(ctx, "delete-mapping", pid, sid); err != nil {
			return fmt.Errorf("unlink staff %q of property %q: %w", sid, pid, err)
		}
		change, err = tx.recordMappingChange(ctx, pid, sid, old.Provider, old, nil, actor, dbTime(at))
		return err
	})
	if err != nil {
		return nil, err
	}
	return change, nil
}

// lockMapping takes the staff member's row lock (so concurrent changes to one link queue up)
// and returns the current link, nil when there is none.
func (a *access) lockMapping(ctx context.Context, pid, sid string) (*bellhop.Mapping, error) {
	var name string
	err := a.queryRow(ctx, "lock-active-staff", pid, sid).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, activeStaffNotFound(pid, sid)
	}
	if err != nil {
		return nil, fmt.Errorf("lock staff %q of property %q: %w", sid, pid, err)
	}
	return a.GetMapping(ctx, pid, sid)
}

// GetMapping returns a staff member's link, or nil when there is none.
func (a *access) GetMapping(ctx context.Context, pid, sid string) (*bellhop.Mapping, error) {
	var m bellhop.Mapping
	var updated int64
	err := a.queryRow(ctx, "get-mapping", pid, sid).Scan(&m.PropertyID, &m.StaffID, &m.Provider,
		&m.OperatorID, &m.OperatorName, &updated, &m.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read link of staff %q of property %q: %w", sid, pid, err)
	}
	m.UpdatedAt = fromMicros(updated)
	return &m, nil
}

func (a *access) recordMappingChange(ctx context.Context, pid, sid, provider string, old, new *bellhop.Mapping, actor string, at time.Time) (*bellhop.MappingChange, error) {
	c := &bellhop.MappingChange{PropertyID: pid, StaffID: sid, Provider: provider, Actor: actor, At: at}
	var oldID, oldName, newID, newName sql.NullString
	if old != nil {
		c.Old = &bellhop.OperatorRef{ID: old.OperatorID, Name: old.OperatorName}
		oldID, oldName = sql.NullString{String: old.OperatorID, Valid: true}, sql.NullString{String: old.OperatorName, Valid: true}
	}
	if new != nil {
		c.New = &bellhop.OperatorRef{ID: new.OperatorID, Name: new.OperatorName}
		newID, newName = sql.NullString{String: new.OperatorID, Valid: true}, sql.NullString{String: new.OperatorName, Valid: true}
	}
	err := a.queryRow(ctx, "insert-mapping-change", pid, sid, provider, oldID, oldName, newID, newName,
		actor, toMicros(at)).Scan(&c.ID)
	if err != nil {
		return nil, fmt.Errorf("record link change of staff %q of property %q: %w", sid, pid, err)
	}
	return c, nil
}

// ListMapping lists every active staff member of a property, by name, with their link.
func (a *access) ListMapping(ctx context.Context, pid string) ([]*bellhop.StaffMapping, error) {
	rows, err := a.queryRows(ctx, "list-mapping", pid)
	if err != nil {
		return nil, fmt.Errorf("list links of property %q: %w", pid, err)
	}
	list, err := collect(rows, func(row scanner) (*bellhop.StaffMapping, error) {
		var s bellhop.Staff
		var created, updated int64
		var provider, opID, opName, by sql.NullString
		var linked sql.NullInt64
		if err := row.Scan(&s.PropertyID, &s.ID, &s.Name, &s.Email, &s.Active, &created, &updated,
			&provider, &opID, &opName, &linked, &by); err != nil {
			return nil, err
		}
		s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(updated)
		sm := &bellhop.StaffMapping{Staff: &s}
		if opID.Valid {
			sm.Mapping = &bellhop.Mapping{PropertyID: s.PropertyID, StaffID: s.ID, Provider: provider.String,
				OperatorID: opID.String, OperatorName: opName.String, UpdatedAt: fromMicros(linked.Int64), UpdatedBy: by.String}
		}
		return sm, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list links of property %q: %w", pid, err)
	}
	return list, nil
}

// ListMappingChanges returns the audit trail of a property's links, newest first, at most
// limit entries; sid, when not empty, keeps one staff member's.
func (a *access) ListMappingChanges(ctx context.Context, pid, sid string, limit int) ([]*bellhop.MappingChange, error) {
	rows, err := a.queryRows(ctx, "list-mapping-changes", pid, sid, sid, limit)
	if err != nil {
		return nil, fmt.Errorf("list link changes of property %q: %w", pid, err)
	}
	list, err := collect(rows, func(row scanner) (*bellhop.MappingChange, error) {
		var c bellhop.MappingChange
		var oldID, oldName, newID, newName sql.NullString
		var at int64
		if err := row.Scan(&c.ID, &c.PropertyID, &c.StaffID, &c.Provider, &oldID, &oldName, &newID, &newName, &c.Actor, &at); err != nil {
			return nil, err
		}
		if oldID.Valid {
			c.Old = &bellhop.OperatorRef{ID: oldID.String, Name: oldName.String}
		}
		if newID.Valid {
			c.New = &bellhop.OperatorRef{ID: newID.String, Name: newName.String}
		}
		c.At = fromMicros(at)
		return &c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list link changes of property %q: %w", pid, err)
	}
	return list, nil
}

func activeStaffNotFound(pid, sid string) error {
	return bellhop.Errorf(bellhop.ENotFound, "Active staff member %q of property %q not found.", sid, pid)
}
