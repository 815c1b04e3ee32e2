package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/store"
	"github.com/bellhop/bellhop/store/storetest"
)

// The one suite below runs unchanged on both databases.

func TestSQLite(t *testing.T) {
	runSuite(t, store.DialectSQLite, func(t *testing.T) *store.DB {
		return open(t, filepath.Join(t.TempDir(), "bellhop.db"))
	})
}

// TestPostgres gives each test a fresh schema of its own on the server at
// BELLHOP_TEST_POSTGRES_URL. A server that does not answer skips the test, or fails it when
// CI=true.
func TestPostgres(t *testing.T) {
	pg := requirePostgres(t)
	runSuite(t, store.DialectPostgres, func(t *testing.T) *store.DB {
		return open(t, pg.freshSchema(t))
	})
}

// Several processes starting at once all migrate; they take turns, and none fails.
func TestPostgresConcurrentMigrate(t *testing.T) {
	pg := requirePostgres(t)
	dsn := pg.freshSchema(t)
	const starters = 3
	applied := make(chan int, starters)
	var wg sync.WaitGroup
	for range starters {
		db := open(t, dsn)
		wg.Add(1)
		go func() {
			defer wg.Done()
			names, err := db.Migrate(context.Background())
			if err != nil {
				t.Errorf("concurrent Migrate: %v", err)
			}
			applied <- len(names)
		}()
	}
	wg.Wait()
	close(applied)
	var counts []int
	for n := range applied {
		counts = append(counts, n)
	}
	slices.Sort(counts)
	if counts[0] != 0 || counts[1] != 0 || counts[2] == 0 {
		t.Errorf("migrations applied per starter = %v, want all by one and none by the others", counts)
	}
}

type postgres struct {
	admin *sql.DB
	base  string
}

func requirePostgres(t *testing.T) postgres {
	t.Helper()
	base := os.Getenv("BELLHOP_TEST_POSTGRES_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("BELLHOP_TEST_POSTGRES_URL: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		msg := fmt.Sprintf("PostgreSQL at %s does not answer: %v (start it or set BELLHOP_TEST_POSTGRES_URL)", redacted(base), err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return postgres{admin: admin, base: base}
}

// freshSchema creates a schema dropped when the test ends and returns a URL that uses it.
func (pg postgres) freshSchema(t *testing.T) string {
	t.Helper()
	return storetest.PostgresSchema(t)
}

func redacted(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}

// open opens a database that is not migrated yet, closed when the test ends.
func open(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db
}

// at has microseconds and is not UTC: round trips must give back exactly at.UTC().
var at = time.Date(2026, 11, 21, 13, 0, 0, 123456000, time.FixedZone("MSK", 3*3600))

func property(id string) *bellhop.Property {
	return &bellhop.Property{ID: id, Name: "Hotel " + id, TimeZone: "Europe/Moscow", Country: "RU", Language: "ru",
		ContactCenter: true, CreatedAt: at, UpdatedAt: at}
}

func runSuite(t *testing.T, dialect string, open func(t *testing.T) *store.DB) {
	ctx := context.Background()
	// newDB opens a migrated database with properties "a" and "b".
	newDB := func(t *testing.T) *store.DB {
		t.Helper()
		db := open(t)
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"a", "b"} {
			if err := db.CreateProperty(ctx, property(id)); err != nil {
				t.Fatal(err)
			}
		}
		return db
	}

	t.Run("migrate", func(t *testing.T) {
		t.Parallel()
		db := open(t)
		if got := db.Dialect(); got != dialect {
			t.Errorf("Dialect() = %q, want %q", got, dialect)
		}
		applied, err := db.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) == 0 || applied[0] != "00001_foundation.sql" {
			t.Errorf("first Migrate applied %q, want 00001_foundation.sql first", applied)
		}
		again, err := db.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Errorf("second Migrate = %q, %v; want nothing applied", again, err)
		}
		if err := db.Ping(ctx); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})

	t.Run("properties", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		p := property("p1")
		p.Country = ""
		p.CreatedAt = at.Add(789 * time.Nanosecond) // below the microsecond: dropped
		if err := db.CreateProperty(ctx, p); err != nil {
			t.Fatal(err)
		}
		want := *property("p1")
		want.Country, want.CreatedAt, want.UpdatedAt = "", at.UTC(), at.UTC()
		if !reflect.DeepEqual(*p, want) {
			t.Errorf("CreateProperty left %+v, want %+v", p, want)
		}
		got, err := db.GetProperty(ctx, "p1")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("GetProperty = %+v, want %+v", got, want)
		}

		again := property("p1")
		again.Name = "Other"
		if err := db.CreateProperty(ctx, again); bellhop.ErrorCode(err) != bellhop.EConflict {
			t.Errorf("CreateProperty of an existing id = %v, want conflict", err)
		}

		got.Name, got.TimeZone, got.Country, got.Language, got.ContactCenter = "Neva", "Asia/Tokyo", "JP", "ja", false
		got.UpdatedAt = at.Add(time.Hour)
		if err := db.UpdateProperty(ctx, got); err != nil {
			t.Fatal(err)
		}
		want = *got
		want.UpdatedAt = at.Add(time.Hour).UTC()
		if got, err := db.GetProperty(ctx, "p1"); err != nil || !reflect.DeepEqual(*got, want) {
			t.Errorf("after UpdateProperty: GetProperty = %+v, %v; want %+v", got, err, want)
		}

		if _, err := db.GetProperty(ctx, "nope"); !bellhop.IsNotFound(err) {
			t.Errorf("GetProperty(nope) = %v, want not found", err)
		}
		if err := db.UpdateProperty(ctx, property("nope")); !bellhop.IsNotFound(err) {
			t.Errorf("UpdateProperty(nope) = %v, want not found", err)
		}

		list, err := db.ListProperties(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range list {
			ids = append(ids, p.ID)
		}
		if !reflect.DeepEqual(ids, []string{"a", "b", "p1"}) {
			t.Errorf("ListProperties ids = %q, want a b p1", ids)
		}
	})

	t.Run("staff", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		upsert := func(pid, sid, name string, active bool, when time.Time) bool {
			t.Helper()
			s := &bellhop.Staff{ID: sid, PropertyID: pid, Name: name, Email: sid + "@hotel.example", Active: active, CreatedAt: when, UpdatedAt: when}
			created, err := db.UpsertStaff(ctx, s)
			if err != nil {
				t.Fatalf("UpsertStaff(%s, %s): %v", pid, sid, err)
			}
			return created
		}
		ids := func(list []*bellhop.Staff) []string {
			var out []string
			for _, s := range list {
				out = append(out, s.ID)
			}
			return out
		}
		list := func(pid string, activeOnly bool) []string {
			t.Helper()
			l, err := db.ListStaff(ctx, pid, activeOnly)
			if err != nil {
				t.Fatalf("ListStaff(%s, %v): %v", pid, activeOnly, err)
			}
			return ids(l)
		}

		if !upsert("a", "s3", "Zoe", true, at) || !upsert("a", "s2", "Adam", true, at) || !upsert("a", "s1", "Adam", false, at) {
			t.Fatal("UpsertStaff of new staff reported created = false")
		}
		if !upsert("b", "s9", "Bob", true, at) {
			t.Fatal("UpsertStaff of new staff reported created = false")
		}
		if got := list("a", false); !reflect.DeepEqual(got, []string{"s1", "s2", "s3"}) {
			t.Errorf("ListStaff(a) = %q, want by name then id: s1 s2 s3", got)
		}
		if got := list("a", true); !reflect.DeepEqual(got, []string{"s2", "s3"}) {
			t.Errorf("ListStaff(a, activeOnly) = %q, want s2 s3", got)
		}

		later := at.Add(time.Hour)
		if upsert("a", "s1", "Adam Smith", true, later) {
			t.Error("UpsertStaff of existing staff reported created = true")
		}
		got, err := db.GetStaff(ctx, "a", "s1")
		if err != nil {
			t.Fatal(err)
		}
		want := bellhop.Staff{ID: "s1", PropertyID: "a", Name: "Adam Smith", Email: "s1@hotel.example", Active: true, CreatedAt: at.UTC(), UpdatedAt: later.UTC()}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("GetStaff after update = %+v, want %+v (creation time kept)", got, want)
		}

		// Ids of another property are not found, and cannot be deleted through it.
		if _, err := db.GetStaff(ctx, "b", "s1"); !bellhop.IsNotFound(err) {
			t.Errorf("GetStaff(b, a's s1) = %v, want not found", err)
		}
		if err := db.DeleteStaff(ctx, "b", "s1"); !bellhop.IsNotFound(err) {
			t.Errorf("DeleteStaff(b, a's s1) = %v, want not found", err)
		}
		if got := list("b", false); !reflect.DeepEqual(got, []string{"s9"}) {
			t.Errorf("ListStaff(b) = %q, want s9 only", got)
		}

		if err := db.DeleteStaff(ctx, "a", "s3"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetStaff(ctx, "a", "s3"); !bellhop.IsNotFound(err) {
			t.Errorf("GetStaff of deleted staff = %v, want not found", err)
		}
		if got := list("a", false); !reflect.DeepEqual(got, []string{"s2", "s1"}) {
			t.Errorf("ListStaff after delete = %q, want s2 (Adam) s1 (Adam Smith)", got)
		}
		if err := db.DeleteStaff(ctx, "a", "s3"); !bellhop.IsNotFound(err) {
			t.Errorf("second DeleteStaff = %v, want not found", err)
		}
		if err := db.DeleteStaff(ctx, "a", "nope"); !bellhop.IsNotFound(err) {
			t.Errorf("DeleteStaff(nope) = %v, want not found", err)
		}

		if !upsert("a", "s3", "Zoe Revived", true, later) {
			t.Error("UpsertStaff of deleted staff reported created = false, want a revival to count as created")
		}
		got, err = db.GetStaff(ctx, "a", "s3")
		if err != nil || got.Name != "Zoe Revived" || !got.CreatedAt.Equal(later) {
			t.Errorf("revived staff = %+v, %v", got, err)
		}

		if _, err := db.UpsertStaff(ctx, &bellhop.Staff{ID: "s1", PropertyID: "nope", Name: "X", CreatedAt: at, UpdatedAt: at}); !bellhop.IsNotFound(err) {
			t.Errorf("UpsertStaff for a missing property = %v, want not found", err)
		}
	})

	t.Run("tokens", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		for _, tok := range []*bellhop.Token{
			{ID: "t1", Hash: []byte{1, 2, 3}, PropertyID: "a", Role: bellhop.RoleAdmin, CreatedAt: at},
			{ID: "t2", Hash: []byte{0, 255}, PropertyID: bellhop.AllProperties, Role: bellhop.RoleService, CreatedAt: at},
		} {
			if err := db.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			got, err := db.TokenByHash(ctx, tok.Hash)
			if err != nil {
				t.Fatal(err)
			}
			want := *tok
			want.CreatedAt = at.UTC()
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("TokenByHash = %+v, want %+v", got, want)
			}
		}
		if _, err := db.TokenByHash(ctx, []byte{9, 9}); !bellhop.IsNotFound(err) {
			t.Errorf("TokenByHash(unknown) = %v, want not found", err)
		}
		// The token and the path's property in one statement: the property whatever the
		// token's scope (the caller decides), nil when there is none, the same token.
		for _, c := range []struct {
			hash         []byte
			pid, wantPID string
		}{{[]byte{1, 2, 3}, "a", "a"}, {[]byte{1, 2, 3}, "b", "b"}, {[]byte{0, 255}, "nope", ""}, {[]byte{0, 255}, "a", "a"}} {
			tok, p, err := db.TokenAndProperty(ctx, c.hash, c.pid)
			byHash, _ := db.TokenByHash(ctx, c.hash)
			if err != nil || !reflect.DeepEqual(tok, byHash) {
				t.Errorf("TokenAndProperty(%v, %s) token = %+v, %v; want %+v", c.hash, c.pid, tok, err, byHash)
			}
			var want *bellhop.Property
			if c.wantPID != "" {
				if want, err = db.GetProperty(ctx, c.wantPID); err != nil {
					t.Fatal(err)
				}
			}
			if !reflect.DeepEqual(p, want) {
				t.Errorf("TokenAndProperty(%v, %s) property = %+v, want %+v", c.hash, c.pid, p, want)
			}
		}
		if _, _, err := db.TokenAndProperty(ctx, []byte{9, 9}, "a"); !bellhop.IsNotFound(err) {
			t.Errorf("TokenAndProperty(unknown token) = %v, want not found", err)
		}
		if err := db.CreateToken(ctx, &bellhop.Token{ID: "t3", Hash: []byte{1, 2, 3}, PropertyID: "a", Role: bellhop.RoleAdmin, CreatedAt: at}); bellhop.ErrorCode(err) != bellhop.EConflict {
			t.Errorf("CreateToken with a used hash = %v, want conflict", err)
		}
		if err := db.CreateToken(ctx, &bellhop.Token{ID: "t4", Hash: []byte{4}, PropertyID: "nope", Role: bellhop.RoleAdmin, CreatedAt: at}); !bellhop.IsNotFound(err) {
			t.Errorf("CreateToken for a missing property = %v, want not found", err)
		}
	})

	t.Run("sign-in links", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		expires := at.Add(15 * time.Minute)
		if err := db.CreateSignInLink(ctx, []byte("link-1"), "a", bellhop.RoleAdmin, expires); err != nil {
			t.Fatal(err)
		}
		pid, role, err := db.UseSignInLink(ctx, []byte("link-1"), expires.Add(-time.Microsecond))
		if err != nil || pid != "a" || role != bellhop.RoleAdmin {
			t.Errorf("UseSignInLink = %q, %q, %v; want a, admin", pid, role, err)
		}
		if _, _, err := db.UseSignInLink(ctx, []byte("link-1"), at); !bellhop.IsNotFound(err) {
			t.Errorf("second UseSignInLink = %v, want not found", err)
		}

		if err := db.CreateSignInLink(ctx, []byte("link-2"), bellhop.AllProperties, bellhop.RoleService, expires); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.UseSignInLink(ctx, []byte("link-2"), expires); !bellhop.IsNotFound(err) {
			t.Errorf("UseSignInLink at expiry = %v, want not found", err)
		}
		if pid, role, err := db.UseSignInLink(ctx, []byte("link-2"), at); err != nil || pid != bellhop.AllProperties || role != bellhop.RoleService {
			t.Errorf("UseSignInLink('*' link) = %q, %q, %v; want *, service", pid, role, err)
		}

		if _, _, err := db.UseSignInLink(ctx, []byte("unknown"), at); !bellhop.IsNotFound(err) {
			t.Errorf("UseSignInLink(unknown) = %v, want not found", err)
		}
		if err := db.CreateSignInLink(ctx, []byte("link-3"), "nope", bellhop.RoleAdmin, expires); !bellhop.IsNotFound(err) {
			t.Errorf("CreateSignInLink for a missing property = %v, want not found", err)
		}

		// Many browsers racing with one link: exactly one signs in.
		if err := db.CreateSignInLink(ctx, []byte("link-4"), "b", bellhop.RoleAdmin, expires); err != nil {
			t.Fatal(err)
		}
		const racers = 8
		var wg sync.WaitGroup
		errs := make(chan error, racers)
		for range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := db.UseSignInLink(ctx, []byte("link-4"), at)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			switch {
			case err == nil:
				won++
			case !bellhop.IsNotFound(err):
				t.Errorf("racing UseSignInLink: %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d of %d racing UseSignInLink calls signed in, want exactly 1", won, racers)
		}
	})

	t.Run("integrations", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		if _, err := db.GetIntegration(ctx, "a", "intellectdialog"); !bellhop.IsNotFound(err) {
			t.Errorf("GetIntegration before any save = %v, want not found", err)
		}

		in := &bellhop.Integration{PropertyID: "a", Provider: "intellectdialog", SealedKey: []byte{0, 1, 2, 255},
			KeyHint: "…9f3a", BaseURL: "https://api.intellectdialog.com/v2/", Status: bellhop.StatusUnverified,
			CreatedAt: at, UpdatedAt: at}
		if err := db.SaveIntegration(ctx, in); err != nil {
			t.Fatal(err)
		}
		want := *in
		want.CreatedAt, want.UpdatedAt = at.UTC(), at.UTC()
		got, err := db.GetIntegration(ctx, "a", "intellectdialog")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("GetIntegration (no sender) =\n %+v\nwant\n %+v", got, want)
		}

		checked, activated := at.Add(time.Minute), at.Add(2*time.Minute)
		got.Status, got.StatusReason = bellhop.StatusVerified, "ok"
		got.OrganizationID, got.OrganizationName = "42", "Sandbox Hotels"
		got.Sender = &bellhop.Sender{ID: "1", Type: "whatsapp", Name: "Reception", Phone: "+79990000001"}
		got.Active, got.SealedWebhookSecret = true, []byte("sealed secret")
		got.OrganizationZone, got.WebhookMode, got.SealedPreviousWebhook = "Europe/Moscow", bellhop.WebhookForward, []byte("sealed previous")
		got.CheckedAt, got.ActivatedAt = &checked, &activated
		got.Settings = map[string]string{"host": "smtp.example.com", "port": "587"} // another kind's fields
		got.SealedCredentials = []byte("sealed credentials")
		got.CreatedAt, got.UpdatedAt = at.Add(time.Hour), at.Add(3*time.Minute) // a later CreatedAt is ignored
		if err := db.SaveIntegration(ctx, got); err != nil {
			t.Fatal(err)
		}
		want = *got
		want.CreatedAt, want.UpdatedAt = at.UTC(), at.Add(3*time.Minute).UTC()
		c, a := checked.UTC(), activated.UTC()
		want.CheckedAt, want.ActivatedAt = &c, &a
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("SaveIntegration left\n %+v\nwant\n %+v", got, want)
		}
		again, err := db.GetIntegration(ctx, "a", "intellectdialog")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*again, want) {
			t.Errorf("GetIntegration (sender, times) =\n %+v\nwant\n %+v", again, want)
		}

		// The relay's failures and an unreadable callback have their own writes, which a save
		// of the integration leaves alone.
		failedAt := at.Add(4 * time.Minute)
		for _, failed := range []bool{true, true, false} {
			if err := db.NoteForwardResult(ctx, "a", "intellectdialog", failed, map[bool]string{true: "HTTP 502", false: ""}[failed], failedAt); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.NoteUnreadableCallback(ctx, "a", "intellectdialog", `{"odd":1}`, failedAt); err != nil {
			t.Fatal(err)
		}
		if err := db.SaveIntegration(ctx, again); err != nil {
			t.Fatal(err)
		}
		noted, err := db.GetIntegration(ctx, "a", "intellectdialog")
		if err != nil {
			t.Fatal(err)
		}
		if noted.ForwardFailures != 2 || noted.ForwardLastError != "" || noted.ForwardLastFailedAt == nil || !noted.ForwardLastFailedAt.Equal(failedAt) ||
			noted.UnreadableCallback != `{"odd":1}` || noted.UnreadableCallbackAt == nil {
			t.Errorf("after relay failures and an unreadable callback: %+v", noted)
		}
		again = noted

		// Clearing the sender, the secret and the times clears them.
		again.Sender, again.SealedWebhookSecret, again.CheckedAt, again.ActivatedAt, again.Active = nil, nil, nil, nil, false
		again.WebhookMode, again.SealedPreviousWebhook = "", nil
		again.Status = bellhop.StatusInvalid
		if err := db.SaveIntegration(ctx, again); err != nil {
			t.Fatal(err)
		}
		cleared, err := db.GetIntegration(ctx, "a", "intellectdialog")
		if err != nil || !reflect.DeepEqual(cleared, again) {
			t.Errorf("after clearing: GetIntegration = %+v, %v; want %+v", cleared, err, again)
		}

		other := &bellhop.Integration{PropertyID: "a", Provider: "another", BaseURL: "http://x/v2/", Status: bellhop.StatusUnverified, UpdatedAt: at}
		if err := db.SaveIntegration(ctx, other); err != nil {
			t.Fatal(err)
		}
		if !other.CreatedAt.Equal(at) {
			t.Errorf("SaveIntegration without CreatedAt set it to %v, want UpdatedAt %v", other.CreatedAt, at)
		}
		list, err := db.ListIntegrations(ctx, "a")
		if err != nil || len(list) != 2 || list[0].Provider != "another" || list[1].Provider != "intellectdialog" {
			t.Errorf("ListIntegrations(a) = %+v, %v; want another, intellectdialog", list, err)
		}
		if list, err := db.ListIntegrations(ctx, "b"); err != nil || len(list) != 0 {
			t.Errorf("ListIntegrations(b) = %+v, %v; want none", list, err)
		}
		if _, err := db.GetIntegration(ctx, "b", "intellectdialog"); !bellhop.IsNotFound(err) {
			t.Errorf("GetIntegration(b, a's provider) = %v, want not found", err)
		}
		if err := db.SaveIntegration(ctx, &bellhop.Integration{PropertyID: "nope", Provider: "x", Status: bellhop.StatusUnverified, UpdatedAt: at}); !bellhop.IsNotFound(err) {
			t.Errorf("SaveIntegration for a missing property = %v, want not found", err)
		}
	})

	t.Run("transactions", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		boom := errors.New("boom")
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.CreateProperty(ctx, property("rolled-back")); err != nil {
				return err
			}
			if _, err := tx.UpsertStaff(ctx, &bellhop.Staff{ID: "s", PropertyID: "rolled-back", Name: "S", CreatedAt: at, UpdatedAt: at}); err != nil {
				return err
			}
			if _, err := tx.GetStaff(ctx, "rolled-back", "s"); err != nil {
				return fmt.Errorf("a transaction does not read its own write: %w", err)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("WithTx = %v, want fn's error", err)
		}
		if _, err := db.GetProperty(ctx, "rolled-back"); !bellhop.IsNotFound(err) {
			t.Errorf("property of a rolled back transaction: %v, want not found", err)
		}

		err = db.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.CreateProperty(ctx, property("committed")); err != nil {
				return err
			}
			_, err := tx.UpsertStaff(ctx, &bellhop.Staff{ID: "s", PropertyID: "committed", Name: "S", CreatedAt: at, UpdatedAt: at})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetStaff(ctx, "committed", "s"); err != nil {
			t.Errorf("staff of a committed transaction: %v", err)
		}
	})

	t.Run("concurrent staff upserts", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		const writers = 6
		var wg sync.WaitGroup
		created := make(chan bool, writers)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := db.UpsertStaff(ctx, &bellhop.Staff{ID: "s", PropertyID: "a", Name: fmt.Sprint("writer ", i), Active: true, CreatedAt: at, UpdatedAt: at})
				if err != nil {
					t.Errorf("UpsertStaff: %v", err)
				}
				created <- c
			}()
		}
		wg.Wait()
		close(created)
		n := 0
		for c := range created {
			if c {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d of %d concurrent UpsertStaff calls reported created, want exactly 1", n, writers)
		}
	})

	t.Run("mapping", func(t *testing.T) {
		t.Parallel()
		mappingSuite(t, newDB(t))
	})

	t.Run("ledger", func(t *testing.T) {
		t.Parallel()
		ledgerSuite(t, newDB(t))
	})

	t.Run("fallback", func(t *testing.T) {
		t.Parallel()
		fallbackSuite(t, newDB(t))
	})

	t.Run("pacer", func(t *testing.T) {
		t.Parallel()
		pacerSuite(t, newDB(t))
	})

	t.Run("horizon", func(t *testing.T) {
		t.Parallel()
		horizonSuite(t, newDB(t))
	})

	t.Run("retention", func(t *testing.T) {
		t.Parallel()
		retentionSuite(t, newDB(t))
	})

	t.Run("batch", func(t *testing.T) {
		t.Parallel()
		batchSuite(t, newDB(t))
	})

	t.Run("intake reads", func(t *testing.T) {
		t.Parallel()
		intakeSuite(t, newDB(t))
	})
}

func TestOpenMemory(t *testing.T) {
	ctx := context.Background()
	db := open(t, ":memory:")
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Every statement must see the one in-memory database the migrations built.
	for i := range 5 {
		if err := db.CreateProperty(ctx, property(fmt.Sprint("p", i))); err != nil {
			t.Fatal(err)
		}
	}
	if list, err := db.ListProperties(ctx); err != nil || len(list) != 5 {
		t.Errorf("ListProperties = %d properties, %v; want 5", len(list), err)
	}
}

func TestOpenFileURI(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bellhop.db")
	db := open(t, "file:"+path+"?cache=private")
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateProperty(ctx, property("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at %s: %v", path, err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()

	missing := filepath.Join(t.TempDir(), "no-such-dir", "bellhop.db")
	_, err := store.Open(ctx, missing)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "SQLite") {
		t.Errorf("Open(%s) = %v, want an error naming SQLite and the path", missing, err)
	}

	if _, err := store.Open(ctx, ""); err == nil {
		t.Error("Open(\"\") succeeded")
	}

	// Port 1 refuses connections: the error must say where, but never the password.
	for _, dsn := range []string{
		"postgres://bob:s3cret-pw@127.0.0.1:1/bellhop?sslmode=disable",
		"postgresql://bob@127.0.0.1:1/bellhop?sslmode=disable&password=s3cret-pw",
	} {
		_, err := store.Open(ctx, dsn)
		if err == nil {
			t.Fatalf("Open(%s) succeeded", dsn)
		}
		msg := err.Error()
		if strings.Contains(msg, "s3cret-pw") {
			t.Errorf("Open error shows the password: %s", msg)
		}
		if !strings.Contains(msg, "PostgreSQL") || !strings.Contains(msg, "127.0.0.1:1") {
			t.Errorf("Open error = %q, want it to name PostgreSQL and the host", msg)
		}
	}
}
