package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
)

// OpenWrapped is Open with the driver's connector wrapped: tests inject faults under the store.
func OpenWrapped(ctx context.Context, dsn string, wrap func(driver.Connector) driver.Connector) (*DB, error) {
	return open(ctx, dsn, wrap)
}

// SetBeforeCommit has hook run just before each transaction of db commits (after its
// statements): tests cut the connection there.
func SetBeforeCommit(db *DB, hook func()) { db.beforeCommit = hook }

// PoolStats is the statistics of db's pool of writing connections.
func PoolStats(db *DB) sql.DBStats { return db.sql.Stats() }
