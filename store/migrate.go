package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path/filepath"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Each database has its own migrations, so that each uses its natural types. A new migration
// is a pair of files with the next number, one in each directory: 00002_bookings.sql.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// Migrate applies the migrations the database lacks and returns their file names in the
// order applied; none when the database is up to date. It then prepares every named query,
// so that a query the schema does not support fails here, at start, rather than on first use.
// Concurrent Migrate calls on one PostgreSQL schema (several processes starting at once) take
// turns under an advisory lock.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	fsys, err := fs.Sub(migrations, "migrations/"+db.dialect)
	if err != nil {
		return nil, fmt.Errorf("read %s migrations: %w", db.dialect, err)
	}
	dialect := goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if db.dialect == DialectPostgres {
		dialect = goose.DialectPostgres
		locker, err := db.migrationLocker(ctx)
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.sql, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("load %s migrations: %w", db.dialect, err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate %s database: %w", db.dialect, err)
	}
	applied := make([]string, 0, len(results))
	for _, r := range results {
		applied = append(applied, filepath.Base(r.Source.Path))
	}
	if err := db.prepareAll(ctx); err != nil {
		return applied, err
	}
	return applied, nil
}

// migrationLocker returns a session lock for this database's schema. The lock id comes from
// the schema's name so that separate schemas of one server (tests, tenants) do not wait for
// each other. A locker counts its retries, so each Migrate needs a new one.
func (db *DB) migrationLocker(ctx context.Context) (lock.SessionLocker, error) {
	var schema sql.NullString
	if err := db.sql.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, fmt.Errorf("read the current schema: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte("bellhop migrations " + schema.String))
	// Retry every second for up to five minutes: long enough for another process's migrations.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64())), lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	return locker, nil
}

// prepareAll prepares, then discards, every named query.
func (db *DB) prepareAll(ctx context.Context) error {
	for _, name := range sortedNames(db.queries) {
		stmt, err := db.sql.PrepareContext(ctx, db.queries[name])
		if err != nil {
			return fmt.Errorf("prepare query %q of queries.sql on %s: %w", name, db.dialect, err)
		}
		stmt.Close()
	}
	return nil
}
