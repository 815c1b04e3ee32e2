// Package store keeps Bellhop's state in SQLite (the embedded default, pure Go) or PostgreSQL,
// with one implementation over database/sql and migrations embedded per dialect.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // SQLite driver "sqlite", no cgo
)

//go:embed migrations
var migrations embed.FS

// DB is a Bellhop database.
type DB struct {
	db      *sql.DB
	dialect string
}

// Open connects: a postgres:// URL is PostgreSQL, anything else a SQLite file path.
func Open(ctx context.Context, dsn string) (*DB, error) {
	d := &DB{dialect: "sqlite"}
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		d.dialect = "postgres"
		d.db, err = sql.Open("pgx", dsn)
	} else {
		path := strings.TrimPrefix(dsn, "file:")
		q := url.Values{}
		for _, p := range []string{"busy_timeout(5000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
			q.Add("_pragma", p)
		}
		d.db, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err == nil {
			d.db.SetMaxOpenConns(1) // SQLite has one writer; one connection avoids SQLITE_BUSY
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database %s: %w", d.dialect, redact(dsn), err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.db.PingContext(pctx); err != nil {
		d.db.Close()
		return nil, fmt.Errorf("connect to %s database %s: %w", d.dialect, redact(dsn), err)
	}
	return d, nil
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return dsn
}

// Dialect is "sqlite" or "postgres".
func (d *DB) Dialect() string { return d.dialect }

// Ping checks the database answers.
func (d *DB) Ping(ctx context.Context) error { return d.db.PingContext(ctx) }

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Migrate applies the embedded migrations and returns the names of those it applied.
func (d *DB) Migrate(ctx context.Context) ([]string, error) {
	sub, err := fs.Sub(migrations, "migrations/"+d.dialect)
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	if d.dialect == "postgres" {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, d.db, sub)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	names := make([]string, 0, len(res))
	for _, r := range res {
		names = append(names, r.Source.Path)
	}
	return names, nil
}

// q rewrites ? placeholders to $n for PostgreSQL.
func (d *DB) q(query string) string {
	if d.dialect != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (d *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.db.ExecContext(ctx, d.q(query), args...)
}

func (d *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return d.db.QueryRowContext(ctx, d.q(query), args...)
}

// Times are kept as UTC unix microseconds: exact and portable across both databases.
func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func microsPtr(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(*t), Valid: true}
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func isUnique(err error) bool {
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint") || strings.Contains(s, "SQLSTATE 23505") || strings.Contains(s, "duplicate key")
}

func notFound(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return bellhop.Errorf(bellhop.ENotFound, format, args...)
	}
	return err
}

const propertyCols = `id, name, time_zone, country, language, contact_center, created_at, updated_at`

func scanProperty(row interface{ Scan(...any) error }) (*bellhop.Property, error) {
	var p bellhop.Property
	var c, u int64
	if err := row.Scan(&p.ID, &p.Name, &p.TimeZone, &p.Country, &p.Language, &p.ContactCenter, &c, &u); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(c), fromMicros(u)
	return &p, nil
}

// CreateProperty stores a new property; an existing id is a conflict.
func (d *DB) CreateProperty(ctx context.Context, p *bellhop.Property) error {
	_, err := d.exec(ctx, `INSERT INTO properties (`+propertyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Name, p.TimeZone, p.Country, p.Language, p.ContactCenter, micros(p.CreatedAt), micros(p.UpdatedAt))
	if err != nil {
		if isUnique(err) {
			return bellhop.Errorf(bellhop.EConflict, "property %q already exists", p.ID)
		}
		return fmt.Errorf("create property %q: %w", p.ID, err)
	}
	return nil
}

// GetProperty reads a property.
func (d *DB) GetProperty(ctx context.Context, id string) (*bellhop.Property, error) {
	p, err := scanProperty(d.queryRow(ctx, `SELECT `+propertyCols+` FROM properties WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "Property %q not found.", id)
	}
	return p, nil
}

// ListProperties lists every property by id.
func (d *DB) ListProperties(ctx context.Context) ([]*bellhop.Property, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+propertyCols+` FROM properties ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list properties: %w", err)
	}
	defer rows.Close()
	var out []*bellhop.Property
	for rows.Next() {
		p, err := scanProperty(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// UpdateProperty saves a changed property.
func (d *DB) UpdateProperty(ctx context.Context, p *bellhop.Property) error {
	res, err := d.exec(ctx, `UPDATE properties SET name = ?, time_zone = ?, country = ?, language = ?, contact_center = ?, updated_at = ? WHERE id = ?`,
		p.Name, p.TimeZone, p.Country, p.Language, p.ContactCenter, micros(p.UpdatedAt), p.ID)
	if err != nil {
		return fmt.Errorf("update property %q: %w", p.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return bellhop.Errorf(bellhop.ENotFound, "Property %q not found.", p.ID)
	}
	return nil
}

const staffCols = `property_id, id, name, email, active, created_at, updated_at`

func scanStaff(row interface{ Scan(...any) error }) (*bellhop.Staff, error) {
	var s bellhop.Staff
	var c, u int64
	if err := row.Scan(&s.PropertyID, &s.ID, &s.Name, &s.Email, &s.Active, &c, &u); err != nil {
		return nil, err
	}
	s.CreatedAt, s.UpdatedAt = fromMicros(c), fromMicros(u)
	return &s, nil
}

// UpsertStaff creates or updates a staff member (reviving a deleted one) and says whether it
// was new (or revived).
func (d *DB) UpsertStaff(ctx context.Context, s *bellhop.Staff) (bool, error) {
	var deleted bool
	err := d.queryRow(ctx, `SELECT deleted FROM staff WHERE property_id = ? AND id = ?`, s.PropertyID, s.ID).Scan(&deleted)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = d.exec(ctx, `INSERT INTO staff (`+staffCols+`, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			s.PropertyID, s.ID, s.Name, s.Email, s.Active, micros(s.CreatedAt), micros(s.UpdatedAt), false)
		if err != nil {
			return false, fmt.Errorf("create staff %q: %w", s.ID, err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("read staff %q: %w", s.ID, err)
	}
	if deleted {
		_, err = d.exec(ctx, `UPDATE staff SET name = ?, email = ?, active = ?, deleted = ?, created_at = ?, updated_at = ? WHERE property_id = ? AND id = ?`,
			s.Name, s.Email, s.Active, false, micros(s.CreatedAt), micros(s.UpdatedAt), s.PropertyID, s.ID)
	} else {
		_, err = d.exec(ctx, `UPDATE staff SET name = ?, email = ?, active = ?, updated_at = ? WHERE property_id = ? AND id = ?`,
			s.Name, s.Email, s.Active, micros(s.UpdatedAt), s.PropertyID, s.ID)
	}
	if err != nil {
		return false, fmt.Errorf("update staff %q: %w", s.ID, err)
	}
	return deleted, nil
}

// GetStaff reads a staff member of a property; deleted ones are not found.
func (d *DB) GetStaff(ctx context.Context, pid, sid string) (*bellhop.Staff, error) {
	s, err := scanStaff(d.queryRow(ctx, `SELECT `+staffCols+` FROM staff WHERE property_id = ? AND id = ? AND deleted = ?`, pid, sid, false))
	if err != nil {
		return nil, notFound(err, "Staff member %q not found.", sid)
	}
	return s, nil
}

// ListStaff lists a property's staff by name, then id.
func (d *DB) ListStaff(ctx context.Context, pid string, activeOnly bool) ([]*bellhop.Staff, error) {
	query := `SELECT ` + staffCols + ` FROM staff WHERE property_id = ? AND deleted = ?`
	args := []any{pid, false}
	if activeOnly {
		query += ` AND active = ?`
		args = append(args, true)
	}
	rows, err := d.db.QueryContext(ctx, d.q(query+` ORDER BY name, id`), args...)
	if err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	defer rows.Close()
	var out []*bellhop.Staff
	for rows.Next() {
		s, err := scanStaff(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// DeleteStaff removes a staff member (kept for history, gone from reads).
func (d *DB) DeleteStaff(ctx context.Context, pid, sid string) error {
	res, err := d.exec(ctx, `UPDATE staff SET deleted = ?, active = ? WHERE property_id = ? AND id = ? AND deleted = ?`, true, false, pid, sid, false)
	if err != nil {
		return fmt.Errorf("delete staff %q: %w", sid, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return bellhop.Errorf(bellhop.ENotFound, "Staff member %q not found.", sid)
	}
	return nil
}

// CreateToken stores a token's hash.
func (d *DB) CreateToken(ctx context.Context, t *bellhop.Token) error {
	_, err := d.exec(ctx, `INSERT INTO tokens (id, hash, property_id, role, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.ID, t.Hash, t.PropertyID, string(t.Role), micros(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

// TokenByHash finds a token by the hash of its secret.
func (d *DB) TokenByHash(ctx context.Context, hash []byte) (*bellhop.Token, error) {
	var t bellhop.Token
	var role string
	var c int64
	err := d.queryRow(ctx, `SELECT id, hash, property_id, role, created_at FROM tokens WHERE hash = ?`, hash).
		Scan(&t.ID, &t.Hash, &t.PropertyID, &role, &c)
	if err != nil {
		return nil, notFound(err, "token not found")
	}
	t.Role, t.CreatedAt = bellhop.Role(role), fromMicros(c)
	return &t, nil
}

const integrationCols = `property_id, provider, sealed_key, key_hint, base_url, status, status_reason, organization_id,
	organization_name, sender_id, sender_type, sender_name, sender_phone, active, sealed_webhook_secret, checked_at,
	activated_at, created_at, updated_at`

// GetIntegration reads a property's integration of one provider kind.
func (d *DB) GetIntegration(ctx context.Context, pid, provider string) (*bellhop.Integration, error) {
	var in bellhop.Integration
	var status string
	var sid, stype, sname, sphone sql.NullString
	var checked, activated sql.NullInt64
	var c, u int64
	err := d.queryRow(ctx, `SELECT `+integrationCols+` FROM integrations WHERE property_id = ? AND provider = ?`, pid, provider).Scan(
		&in.PropertyID, &in.Provider, &in.SealedKey, &in.KeyHint, &in.BaseURL, &status, &in.StatusReason, &in.OrganizationID,
		&in.OrganizationName, &sid, &stype, &sname, &sphone, &in.Active, &in.SealedWebhookSecret, &checked, &activated, &c, &u)
	if err != nil {
		return nil, notFound(err, "integration %s of property %q not found", provider, pid)
	}
	in.Status = bellhop.IntegrationStatus(status)
	if sid.Valid {
		in.Sender = &bellhop.Sender{ID: sid.String, Type: stype.String, Name: sname.String, Phone: sphone.String}
	}
	in.CheckedAt, in.ActivatedAt = timePtr(checked), timePtr(activated)
	in.CreatedAt, in.UpdatedAt = fromMicros(c), fromMicros(u)
	return &in, nil
}

// SaveIntegration creates or replaces an integration.
func (d *DB) SaveIntegration(ctx context.Context, in *bellhop.Integration) error {
	var sid, stype, sname, sphone sql.NullString
	if in.Sender != nil {
		sid = sql.NullString{String: in.Sender.ID, Valid: true}
		stype = sql.NullString{String: in.Sender.Type, Valid: true}
		sname = sql.NullString{String: in.Sender.Name, Valid: true}
		sphone = sql.NullString{String: in.Sender.Phone, Valid: true}
	}
	created := in.CreatedAt
	if created.IsZero() {
		created = in.UpdatedAt
	}
	_, err := d.exec(ctx, `INSERT INTO integrations (`+integrationCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (property_id, provider) DO UPDATE SET sealed_key = excluded.sealed_key, key_hint = excluded.key_hint,
		base_url = excluded.base_url, status = excluded.status, status_reason = excluded.status_reason,
		organization_id = excluded.organization_id, organization_name = excluded.organization_name,
		sender_id = excluded.sender_id, sender_type = excluded.sender_type, sender_name = excluded.sender_name,
		sender_phone = excluded.sender_phone, active = excluded.active, sealed_webhook_secret = excluded.sealed_webhook_secret,
		checked_at = excluded.checked_at, activated_at = excluded.activated_at, updated_at = excluded.updated_at`,
		in.PropertyID, in.Provider, in.SealedKey, in.KeyHint, in.BaseURL, string(in.Status), in.StatusReason, in.OrganizationID,
		in.OrganizationName, sid, stype, sname, sphone, in.Active, in.SealedWebhookSecret, microsPtr(in.CheckedAt),
		microsPtr(in.ActivatedAt), micros(created), micros(in.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save integration %s of property %q: %w", in.Provider, in.PropertyID, err)
	}
	return nil
}
