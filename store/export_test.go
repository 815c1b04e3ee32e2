package store

import (
	"context"
	"database/sql/driver"
)

// OpenWrapped is Open with the driver's connector wrapped: tests inject faults under the store.
func OpenWrapped(ctx context.Context, dsn string, wrap func(driver.Connector) driver.Connector) (*DB, error) {
	return open(ctx, dsn, wrap)
}
