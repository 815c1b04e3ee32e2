package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bellhop/bellhop"
)

// CreateProperty stores a new property; an existing id is a conflict. Its times are the
// caller's, normalised in p to what the database keeps (UTC, whole microseconds).
func (a *access) CreateProperty(ctx context.Context, p *bellhop.Property) error {
	p.CreatedAt, p.UpdatedAt = dbTime(p.CreatedAt), dbTime(p.UpdatedAt)
	_, err := a.exec(ctx, "create-property",
		p.ID, p.Name, p.TimeZone, p.Country, p.Language, p.ContactCenter, toMicros(p.CreatedAt), toMicros(p.UpdatedAt))
	if isUniqueViolation(err) {
		return bellhop.Errorf(bellhop.EConflict, "property %q already exists", p.ID)
	}
	if err != nil {
		return fmt.Errorf("create property %q: %w", p.ID, err)
	}
	return nil
}

// GetProperty reads a property.
func (a *access) GetProperty(ctx context.Context, id string) (*bellhop.Property, error) {
	p, err := scanProperty(a.queryRow(ctx, "get-property", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, propertyNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("read property %q: %w", id, err)
	}
	return p, nil
}

// UpdateProperty saves every field of an existing property but its creation time.
func (a *access) UpdateProperty(ctx context.Context, p *bellhop.Property) error {
	p.UpdatedAt = dbTime(p.UpdatedAt)
	res, err := a.exec(ctx, "update-property",
		p.Name, p.TimeZone, p.Country, p.Language, p.ContactCenter, toMicros(p.UpdatedAt), p.ID)
	n, err := affected(res, err)
	if err != nil {
		return fmt.Errorf("update property %q: %w", p.ID, err)
	}
	if n == 0 {
		return propertyNotFound(p.ID)
	}
	return nil
}

// ListProperties lists every property by id.
func (a *access) ListProperties(ctx context.Context) ([]*bellhop.Property, error) {
	rows, err := a.queryRows(ctx, "list-properties")
	if err != nil {
		return nil, fmt.Errorf("list properties: %w", err)
	}
	ps, err := collect(rows, scanProperty)
	if err != nil {
		return nil, fmt.Errorf("list properties: %w", err)
	}
	return ps, nil
}

func scanProperty(row scanner) (*bellhop.Property, error) {
	var p bellhop.Property
	var created, updated int64
	if err := row.Scan(&p.ID, &p.Name, &p.TimeZone, &p.Country, &p.Language, &p.ContactCenter, &created, &updated); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &p, nil
}

// collect scans every row and closes rows.
// A connection lost while the rows are being read (the query itself was retried when it was
// sent) is the same passing fault: the caller sees it as unavailable (503), never internal.
func collect[T any](rows *sql.Rows, scan func(scanner) (*T, error)) ([]*T, error) {
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, transientAsUnavailable(err)
		}
		out = append(out, v)
	}
	return out, transientAsUnavailable(rows.Err())
}

// affected returns how many rows a statement changed, or the error it failed with.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
