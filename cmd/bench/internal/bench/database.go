package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/bellhop/bellhop/store"
)

// benchDB is a fresh, migrated database of the bench's own: a SQLite file in a temporary
// directory, or a schema of its own on the PostgreSQL server; close removes it.
type benchDB struct {
	*store.DB
	dsn   string // for filling it in bulk
	close func()
}

// openDB opens a fresh database of dialect. PostgreSQL that does not answer is an error the
// caller may report as "not measured".
func (b *bench) openDB(ctx context.Context, dialect string) (*benchDB, error) {
	switch dialect {
	case store.DialectSQLite:
		dir, err := os.MkdirTemp("", "bellhop-bench-")
		if err != nil {
			return nil, err
		}
		db, err := migrated(ctx, filepath.Join(dir, "bench.db"))
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		return &benchDB{DB: db, dsn: filepath.Join(dir, "bench.db"), close: func() { db.Close(); os.RemoveAll(dir) }}, nil
	case store.DialectPostgres:
		admin, err := sql.Open("pgx", b.o.PostgresURL)
		if err != nil {
			return nil, fmt.Errorf("PostgreSQL: %w", err)
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := admin.PingContext(pctx); err != nil {
			admin.Close()
			return nil, fmt.Errorf("PostgreSQL does not answer (-postgres): %w", err)
		}
		raw := make([]byte, 6)
		_, _ = rand.Read(raw)
		schema := "bellhop_bench_" + hex.EncodeToString(raw)
		if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			admin.Close()
			return nil, fmt.Errorf("PostgreSQL: create schema: %w", err)
		}
		drop := func() {
			_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
			admin.Close()
		}
		u, err := url.Parse(b.o.PostgresURL)
		if err != nil {
			drop()
			return nil, fmt.Errorf("PostgreSQL URL: %w", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		db, err := migrated(ctx, u.String())
		if err != nil {
			drop()
			return nil, err
		}
		return &benchDB{DB: db, dsn: u.String(), close: func() { db.Close(); drop() }}, nil
	}
	return nil, fmt.Errorf("no database %q", dialect)
}

func migrated(ctx context.Context, dsn string) (*store.DB, error) {
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
