package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bellhop/bellhop"
)

// UpsertStaff creates a staff member or updates one, and reports whether it was created.
// A deleted member is revived and counts as created, with the caller's creation time; an
// existing one keeps its creation time, which is written back to s. A property that does not
// exist is not found.
func (a *access) UpsertStaff(ctx context.Context, s *bellhop.Staff) (created bool, err error) {
	s.CreatedAt, s.UpdatedAt = dbTime(s.CreatedAt), dbTime(s.UpdatedAt)
	createdAt, updatedAt := toMicros(s.CreatedAt), toMicros(s.UpdatedAt)
	// Three single-statement steps, each safe on its own, rather than a transaction, so that
	// the method also works inside WithTx. A concurrent delete between the steps makes the
	// last one miss: then start over.
	for range 3 {
		res, err := a.exec(ctx, "insert-staff", s.PropertyID, s.ID, s.Name, s.Email, s.Active, createdAt, updatedAt)
		if isForeignKeyViolation(err) {
			return false, propertyNotFound(s.PropertyID)
		}
		if n, err := affected(res, err); err != nil {
			return false, fmt.Errorf("create staff %q of property %q: %w", s.ID, s.PropertyID, err)
		} else if n == 1 {
			return true, nil
		}
		res, err = a.exec(ctx, "revive-staff", s.Name, s.Email, s.Active, createdAt, updatedAt, s.PropertyID, s.ID)
		if n, err := affected(res, err); err != nil {
			return false, fmt.Errorf("revive staff %q of property %q: %w", s.ID, s.PropertyID, err)
		} else if n == 1 {
			return true, nil
		}
		var kept int64
		err = a.queryRow(ctx, "update-staff", s.Name, s.Email, s.Active, updatedAt, s.PropertyID, s.ID).Scan(&kept)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("update staff %q of property %q: %w", s.ID, s.PropertyID, err)
		}
		s.CreatedAt = fromMicros(kept)
		return false, nil
	}
	return false, fmt.Errorf("save staff %q of property %q: it keeps being deleted concurrently", s.ID, s.PropertyID)
}

// GetStaff reads a staff member of property pid; deleted members and members of other
// properties are not found.
func (a *access) GetStaff(ctx context.Context, pid, sid string) (*bellhop.Staff, error) {
	s, err := scanStaff(a.queryRow(ctx, "get-staff", pid, sid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, staffNotFound(pid, sid)
	}
	if err != nil {
		return nil, fmt.Errorf("read staff %q of property %q: %w", sid, pid, err)
	}
	return s, nil
}

// ListStaff lists a property's staff by name, then id; activeOnly leaves out inactive members.
// Deleted members are never listed.
func (a *access) ListStaff(ctx context.Context, pid string, activeOnly bool) ([]*bellhop.Staff, error) {
	rows, err := a.queryRows(ctx, "list-staff", pid, !activeOnly)
	if err != nil {
		return nil, fmt.Errorf("list staff of property %q: %w", pid, err)
	}
	list, err := collect(rows, scanStaff)
	if err != nil {
		return nil, fmt.Errorf("list staff of property %q: %w", pid, err)
	}
	return list, nil
}

// DeleteStaff deletes a staff member: it disappears from GetStaff and ListStaff until an
// UpsertStaff revives it. A member that does not exist (or is deleted already) is not found.
func (a *access) DeleteStaff(ctx context.Context, pid, sid string) error {
	res, err := a.exec(ctx, "delete-staff", pid, sid)
	n, err := affected(res, err)
	if err != nil {
		return fmt.Errorf("delete staff %q of property %q: %w", sid, pid, err)
	}
	if n == 0 {
		return staffNotFound(pid, sid)
	}
	return nil
}

func staffNotFound(pid, sid string) error {
	return bellhop.Errorf(bellhop.ENotFound, "staff member %q of property %q not found", sid, pid)
}

func scanStaff(row scanner) (*bellhop.Staff, error) {
	var s bellhop.Staff
	var created, updated int64
	if err := row.Scan(&s.PropertyID, &s.ID, &s.Name, &s.Email, &s.Active, &created, &updated); err != nil {
		return nil, err
	}
	s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &s, nil
}
