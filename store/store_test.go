package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
)

// The one suite runs unchanged on SQLite and PostgreSQL.
func TestSQLite(t *testing.T) {
	runSuite(t, func(t *testing.T) *DB { return openTest(t, t.TempDir()+"/bellhop.db") })
}

func TestPostgres(t *testing.T) {
	base := os.Getenv("BELLHOP_TEST_POSTGRES_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	admin, err := sql.Open("pgx", base)
	if err == nil {
		err = admin.Ping()
	}
	if err != nil {
		msg := fmt.Sprintf("PostgreSQL at %s does not answer (set BELLHOP_TEST_POSTGRES_URL): %v", redact(base), err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	defer admin.Close()
	runSuite(t, func(t *testing.T) *DB {
		schema := fmt.Sprintf("store_test_%d", time.Now().UnixNano())
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE") })
		u, _ := url.Parse(base)
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return openTest(t, u.String())
	})
}

func openTest(t *testing.T, dsn string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func runSuite(t *testing.T, open func(t *testing.T) *DB) {
	ctx := context.Background()
	// A time with microseconds, not UTC, to prove exact round trips.
	at := time.Date(2026, 11, 21, 10, 0, 0, 123456000, time.FixedZone("MSK", 3*3600))

	t.Run("migrate twice is a no-op", func(t *testing.T) {
		db := open(t)
		applied, err := db.Migrate(ctx)
		if err != nil || len(applied) != 0 {
			t.Fatalf("second Migrate applied %v, %v", applied, err)
		}
	})

	t.Run("properties", func(t *testing.T) {
		db := open(t)
		p := &bellhop.Property{ID: "p1", Name: "Hotel", TimeZone: "Europe/Moscow", Country: "RU", Language: "ru", ContactCenter: true, CreatedAt: at, UpdatedAt: at}
		if err := db.CreateProperty(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateProperty(ctx, p); bellhop.ErrorCode(err) != bellhop.EConflict {
			t.Fatalf("second create = %v, want conflict", err)
		}
		got, err := db.GetProperty(ctx, "p1")
		if err != nil || got.Name != "Hotel" || !got.ContactCenter || !got.CreatedAt.Equal(at) || got.CreatedAt.Location() != time.UTC {
			t.Fatalf("GetProperty = %+v, %v", got, err)
		}
		got.Name, got.ContactCenter = "Hotel 2", false
		if err := db.UpdateProperty(ctx, got); err != nil {
			t.Fatal(err)
		}
		if got, _ = db.GetProperty(ctx, "p1"); got.Name != "Hotel 2" || got.ContactCenter {
			t.Fatalf("after update = %+v", got)
		}
		if _, err := db.GetProperty(ctx, "nope"); !bellhop.IsNotFound(err) {
			t.Fatalf("missing property = %v", err)
		}
		if err := db.UpdateProperty(ctx, &bellhop.Property{ID: "nope"}); !bellhop.IsNotFound(err) {
			t.Fatalf("update missing property = %v", err)
		}
		list, err := db.ListProperties(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("ListProperties = %v, %v", list, err)
		}
	})

	t.Run("staff", func(t *testing.T) {
		db := open(t)
		for _, id := range []string{"a", "b"} {
			_ = db.CreateProperty(ctx, &bellhop.Property{ID: id, Name: id, TimeZone: "UTC", Language: "en", CreatedAt: at, UpdatedAt: at})
		}
		put := func(pid, sid, name string, active bool) bool {
			created, err := db.UpsertStaff(ctx, &bellhop.Staff{ID: sid, PropertyID: pid, Name: name, Active: active, CreatedAt: at, UpdatedAt: at})
			if err != nil {
				t.Fatal(err)
			}
			return created
		}
		if !put("a", "s2", "Zoe", true) || !put("a", "s1", "Adam", false) || put("a", "s1", "Adam", true) {
			t.Fatal("UpsertStaff created flags wrong")
		}
		list, _ := db.ListStaff(ctx, "a", false)
		if len(list) != 2 || list[0].Name != "Adam" || list[1].Name != "Zoe" {
			t.Fatalf("ListStaff order = %+v", list)
		}
		put("a", "s1", "Adam", false)
		if list, _ := db.ListStaff(ctx, "a", true); len(list) != 1 || list[0].ID != "s2" {
			t.Fatalf("active staff = %+v", list)
		}
		if _, err := db.GetStaff(ctx, "b", "s1"); !bellhop.IsNotFound(err) {
			t.Fatalf("property b reads a's staff: %v", err)
		}
		if err := db.DeleteStaff(ctx, "b", "s1"); !bellhop.IsNotFound(err) {
			t.Fatalf("property b deletes a's staff: %v", err)
		}
		if err := db.DeleteStaff(ctx, "a", "s2"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetStaff(ctx, "a", "s2"); !bellhop.IsNotFound(err) {
			t.Fatalf("deleted staff still read: %v", err)
		}
		if err := db.DeleteStaff(ctx, "a", "s2"); !bellhop.IsNotFound(err) {
			t.Fatalf("second delete = %v", err)
		}
		if !put("a", "s2", "Zoe", true) {
			t.Fatal("reviving deleted staff should count as created")
		}
	})

	t.Run("tokens", func(t *testing.T) {
		db := open(t)
		tok := &bellhop.Token{ID: "t1", Hash: []byte{1, 2, 3}, PropertyID: "*", Role: bellhop.RoleService, CreatedAt: at}
		if err := db.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		got, err := db.TokenByHash(ctx, []byte{1, 2, 3})
		if err != nil || got.ID != "t1" || got.Role != bellhop.RoleService || got.PropertyID != "*" {
			t.Fatalf("TokenByHash = %+v, %v", got, err)
		}
		if _, err := db.TokenByHash(ctx, []byte{9}); !bellhop.IsNotFound(err) {
			t.Fatalf("unknown hash = %v", err)
		}
	})

	t.Run("integrations", func(t *testing.T) {
		db := open(t)
		for _, id := range []string{"a", "b"} {
			_ = db.CreateProperty(ctx, &bellhop.Property{ID: id, Name: id, TimeZone: "UTC", Language: "en", CreatedAt: at, UpdatedAt: at})
		}
		in := &bellhop.Integration{PropertyID: "a", Provider: "intellectdialog", SealedKey: []byte{0, 1, 2, 255}, KeyHint: "…9f3a",
			BaseURL: "http://x/v2/", Status: bellhop.StatusUnverified, CreatedAt: at, UpdatedAt: at}
		if err := db.SaveIntegration(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetIntegration(ctx, "a", "intellectdialog")
		if err != nil || got.Sender != nil || got.CheckedAt != nil || !bytes.Equal(got.SealedKey, in.SealedKey) || got.Status != bellhop.StatusUnverified {
			t.Fatalf("GetIntegration = %+v, %v", got, err)
		}
		checked := at.Add(time.Minute)
		got.Status, got.Sender, got.CheckedAt, got.Active = bellhop.StatusVerified, &bellhop.Sender{ID: "1", Type: "whatsapp", Name: "Reception", Phone: "+79990000001"}, &checked, true
		got.SealedWebhookSecret = []byte("sealed")
		if err := db.SaveIntegration(ctx, got); err != nil {
			t.Fatal(err)
		}
		again, _ := db.GetIntegration(ctx, "a", "intellectdialog")
		if again.Sender == nil || *again.Sender != *got.Sender || !again.CheckedAt.Equal(checked) || !again.Active || again.Status != bellhop.StatusVerified || string(again.SealedWebhookSecret) != "sealed" {
			t.Fatalf("after save = %+v", again)
		}
		if _, err := db.GetIntegration(ctx, "b", "intellectdialog"); !bellhop.IsNotFound(err) {
			t.Fatalf("property b reads a's integration: %v", err)
		}
	})
}
