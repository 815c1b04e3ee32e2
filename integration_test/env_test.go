// Package integration_test runs Bellhop end to end: the real Main on port 0 against real Redis,
// a real database (SQLite and PostgreSQL) and the sandbox provider over HTTP.
package integration_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/ory/dockertest/v3"
	"github.com/redis/go-redis/v9"
)

// Addresses of the services the tests use, resolved once in TestMain.
var (
	redisAddr   string
	postgresURL string
	setupErr    error
)

func TestMain(m *testing.M) {
	cleanup, err := setupServices()
	setupErr = err
	code := m.Run()
	cleanup()
	if builtDir != "" {
		_ = os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// setupServices finds Redis and PostgreSQL: the addresses in the environment; else containers
// started with dockertest when a Docker engine answers; else the machine's default ports.
func setupServices() (func(), error) {
	redisAddr = os.Getenv("REDIS_ADDR")
	postgresURL = os.Getenv("BELLHOP_TEST_POSTGRES_URL")
	var closers []func()
	cleanup := func() {
		for _, c := range closers {
			c()
		}
	}
	if redisAddr == "" || postgresURL == "" {
		if pool, err := dockertest.NewPool(""); err == nil && pool.Client.Ping() == nil {
			pool.MaxWait = 60 * time.Second
			if redisAddr == "" {
				res, err := pool.Run("redis", "7-alpine", nil)
				if err != nil {
					return cleanup, fmt.Errorf("start Redis container: %w", err)
				}
				closers = append(closers, func() { _ = pool.Purge(res) })
				redisAddr = "127.0.0.1:" + res.GetPort("6379/tcp")
				if err := pool.Retry(func() error { return pingRedis(redisAddr) }); err != nil {
					return cleanup, fmt.Errorf("Redis container does not answer: %w", err)
				}
			}
			if postgresURL == "" {
				res, err := pool.Run("postgres", "15-alpine", []string{"POSTGRES_HOST_AUTH_METHOD=trust", "POSTGRES_DB=test"})
				if err != nil {
					return cleanup, fmt.Errorf("start PostgreSQL container: %w", err)
				}
				closers = append(closers, func() { _ = pool.Purge(res) })
				postgresURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%s/test?sslmode=disable", res.GetPort("5432/tcp"))
				if err := pool.Retry(func() error { return pingPostgres(postgresURL) }); err != nil {
					return cleanup, fmt.Errorf("PostgreSQL container does not answer: %w", err)
				}
			}
		}
	}
	if redisAddr == "" {
		redisAddr = "127.0.0.1:6379"
	}
	if postgresURL == "" {
		postgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	return cleanup, nil
}

func pingRedis(addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 2 * time.Second})
	defer c.Close()
	return c.Ping(context.Background()).Err()
}

func pingPostgres(u string) error {
	db, err := sql.Open("pgx", u)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// need fails the test (under CI=true) or skips it when a service is missing.
func need(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("%s is not available: %v. Start it, set its address (REDIS_ADDR, BELLHOP_TEST_POSTGRES_URL) or run a Docker engine.", what, err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// requireRedis returns a Redis address and a DB number of its own for this test.
func requireRedis(t *testing.T) string {
	t.Helper()
	need(t, "service setup", setupErr)
	need(t, "Redis at "+redisAddr, pingRedis(redisAddr))
	return redisAddr
}

// requirePostgres returns a URL to a fresh schema of its own, dropped after the test.
func requirePostgres(t *testing.T) string {
	t.Helper()
	need(t, "service setup", setupErr)
	need(t, "PostgreSQL at "+redactURL(postgresURL), pingPostgres(postgresURL))
	db, err := sql.Open("pgx", postgresURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	schema := fmt.Sprintf("it_%d", time.Now().UnixNano())
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", postgresURL)
		if err == nil {
			_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	u, _ := url.Parse(postgresURL)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// databases are the two stores every end-to-end flow runs on.
func databases(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return t.TempDir() + "/bellhop.db" },
		"postgres": requirePostgres,
	}
}
