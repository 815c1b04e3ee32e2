package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bellhop/bellhop"
)

// AddStop puts a contact on a property's stop list (normalised with bellhop.StopContact). A
// contact already listed keeps its first source and time; created says whether this call
// listed it. A property that does not exist is not found; a contact that is neither a phone
// nor an e-mail address is invalid_input.
func (a *access) AddStop(ctx context.Context, pid, contact, source string, now time.Time) (e *bellhop.StopEntry, created bool, err error) {
	c, err := bellhop.StopContact(contact)
	if err != nil {
		return nil, false, err
	}
	res, err := a.exec(ctx, "add-stop", pid, c, source, toMicros(dbTime(now)))
	switch {
	case isForeignKeyViolation(err):
		return nil, false, propertyNotFound(pid)
	case err != nil:
		return nil, false, fmt.Errorf("add %s to the stop list: %w", pid, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, false, fmt.Errorf("add to the stop list of %s: %w", pid, err)
	}
	e, err = a.GetStop(ctx, pid, c)
	if err != nil {
		return nil, false, err
	}
	return e, n > 0, nil
}

// GetStop returns a contact's entry on a property's stop list; not found when it is not there.
func (a *access) GetStop(ctx context.Context, pid, contact string) (*bellhop.StopEntry, error) {
	c, err := bellhop.StopContact(contact)
	if err != nil {
		return nil, err
	}
	e, err := scanStop(a.queryRow(ctx, "get-stop", pid, c))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bellhop.Errorf(bellhop.ENotFound, "%s is not on the stop list", c)
	}
	if err != nil {
		return nil, fmt.Errorf("read the stop list of %s: %w", pid, err)
	}
	return e, nil
}

// StopListed reports whether a contact, as a booking spells it, is on the property's stop
// list. A contact that is no phone or e-mail address is on no list. This is the send path's
// check (queue.PropertyStopList).
func (a *access) StopListed(ctx context.Context, pid, contact string) (bool, error) {
	c, err := bellhop.StopContact(contact)
	if err != nil {
		return false, nil
	}
	_, err = scanStop(a.queryRow(ctx, "get-stop", pid, c))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read the stop list of %s: %w", pid, err)
	}
	return true, nil
}

// ListStops returns up to limit entries of a property's stop list in contact order, after the
// contact after ("" from the start).
func (a *access) ListStops(ctx context.Context, pid, after string, limit int) ([]*bellhop.StopEntry, error) {
	rows, err := a.queryRows(ctx, "list-stops", pid, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list the stop list of %s: %w", pid, err)
	}
	out, err := collect(rows, scanStop)
	if err != nil {
		return nil, fmt.Errorf("list the stop list of %s: %w", pid, err)
	}
	if out == nil {
		out = []*bellhop.StopEntry{}
	}
	return out, nil
}

// RemoveStop takes a contact off a property's stop list; not found when it was not there.
func (a *access) RemoveStop(ctx context.Context, pid, contact string) error {
	c, err := bellhop.StopContact(contact)
	if err != nil {
		return err
	}
	res, err := a.exec(ctx, "delete-stop", pid, c)
	if err != nil {
		return fmt.Errorf("remove from the stop list of %s: %w", pid, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("remove from the stop list of %s: %w", pid, err)
	} else if n == 0 {
		return bellhop.Errorf(bellhop.ENotFound, "%s is not on the stop list", c)
	}
	return nil
}

func scanStop(row scanner) (*bellhop.StopEntry, error) {
	var e bellhop.StopEntry
	var at int64
	if err := row.Scan(&e.Contact, &e.Source, &at); err != nil {
		return nil, err
	}
	e.CreatedAt = fromMicros(at)
	return &e, nil
}
