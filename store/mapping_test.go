package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/store"
)

// mappingSuite runs on a migrated database with properties "a" and "b".
func mappingSuite(t *testing.T, db *store.DB) {
	ctx := context.Background()
	put := func(pid, sid, name string, active bool) {
		t.Helper()
		if _, err := db.UpsertStaff(ctx, &bellhop.Staff{ID: sid, PropertyID: pid, Name: name, Active: active, CreatedAt: at, UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	put("a", "anna", "Anna", true)
	put("a", "ivan", "Ivan", true)
	put("a", "olga", "Olga", false)
	put("b", "boris", "Boris", true)

	link := func(pid, sid, op, opName, actor string, when time.Time) (*bellhop.MappingChange, error) {
		return db.SetMapping(ctx, &bellhop.Mapping{PropertyID: pid, StaffID: sid, Provider: "intellectdialog",
			OperatorID: op, OperatorName: opName, UpdatedAt: when, UpdatedBy: actor})
	}
	listed := func() map[string]string {
		t.Helper()
		l, err := db.ListMapping(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, sm := range l {
			out[sm.Staff.ID] = "-"
			if sm.Mapping != nil {
				out[sm.Staff.ID] = sm.Mapping.OperatorID
			}
		}
		return out
	}

	if got := fmt.Sprint(listed()); got != "map[anna:- ivan:-]" {
		t.Errorf("before linking, ListMapping = %s, want every active member unlinked", got)
	}

	c, err := link("a", "anna", "1", "Operator One", "token:t1", at)
	if err != nil {
		t.Fatal(err)
	}
	if c == nil || c.Old != nil || c.New == nil || c.New.ID != "1" || c.Actor != "token:t1" || !c.At.Equal(at) {
		t.Errorf("first link change = %+v, want none → 1 by token:t1 at %v", c, at)
	}
	// Two staff may share one operator.
	if _, err := link("a", "ivan", "1", "Operator One", "token:t1", at); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(listed()); got != "map[anna:1 ivan:1]" {
		t.Errorf("ListMapping = %s, want both on operator 1", got)
	}
	// Linking again to the same operator is not a change.
	if c, err := link("a", "anna", "1", "Operator One", "token:t2", at.Add(time.Minute)); err != nil || c != nil {
		t.Errorf("relink to the same operator = %+v, %v; want no change", c, err)
	}
	later := at.Add(time.Hour)
	c, err = link("a", "anna", "2", "Operator Two", "token:t2", later)
	if err != nil {
		t.Fatal(err)
	}
	if c == nil || c.Old == nil || c.Old.ID != "1" || c.Old.Name != "Operator One" || c.New.ID != "2" {
		t.Errorf("relink change = %+v, want 1 → 2", c)
	}
	m, err := db.GetMapping(ctx, "a", "anna")
	if err != nil || m == nil || m.OperatorID != "2" || m.UpdatedBy != "token:t2" || !m.UpdatedAt.Equal(later) {
		t.Errorf("GetMapping(anna) = %+v, %v; want operator 2 by token:t2 at %v", m, err, later)
	}

	// Inactive, unknown and other properties' staff cannot be linked.
	for _, tc := range []struct{ pid, sid string }{{"a", "olga"}, {"a", "nobody"}, {"a", "boris"}, {"b", "anna"}} {
		if _, err := link(tc.pid, tc.sid, "1", "Operator One", "token:t1", at); !bellhop.IsNotFound(err) {
			t.Errorf("link %s/%s: err = %v, want not found", tc.pid, tc.sid, err)
		}
	}

	// Unlinking records old → none; unlinking again changes nothing.
	c, err = db.DeleteMapping(ctx, "a", "ivan", "token:t3", later)
	if err != nil || c == nil || c.Old == nil || c.Old.ID != "1" || c.New != nil {
		t.Errorf("DeleteMapping(ivan) = %+v, %v; want 1 → none", c, err)
	}
	if c, err := db.DeleteMapping(ctx, "a", "ivan", "token:t3", later); err != nil || c != nil {
		t.Errorf("second DeleteMapping(ivan) = %+v, %v; want nothing", c, err)
	}
	if _, err := db.DeleteMapping(ctx, "b", "anna", "token:t3", later); !bellhop.IsNotFound(err) {
		t.Errorf("DeleteMapping of another property's member: %v, want not found", err)
	}

	// A deactivated or deleted member leaves the list.
	put("a", "ivan", "Ivan", false)
	if got := fmt.Sprint(listed()); got != "map[anna:2]" {
		t.Errorf("after deactivating ivan, ListMapping = %s", got)
	}
	if err := db.DeleteStaff(ctx, "a", "anna"); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(listed()); got != "map[]" {
		t.Errorf("after deleting anna, ListMapping = %s", got)
	}

	all, err := db.ListMappingChanges(ctx, "a", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, c := range all {
		from, to := "none", "none"
		if c.Old != nil {
			from = c.Old.ID
		}
		if c.New != nil {
			to = c.New.ID
		}
		trail = append(trail, fmt.Sprintf("%s:%s→%s", c.StaffID, from, to))
	}
	if got, want := fmt.Sprint(trail), "[ivan:1→none anna:1→2 ivan:none→1 anna:none→1]"; got != want {
		t.Errorf("audit trail = %s, want %s (newest first)", got, want)
	}
	annas, err := db.ListMappingChanges(ctx, "a", "anna", 1)
	if err != nil || len(annas) != 1 || annas[0].New.ID != "2" {
		t.Errorf("ListMappingChanges(anna, limit 1) = %+v, %v; want the 1 → 2 change", annas, err)
	}
	if others, err := db.ListMappingChanges(ctx, "b", "", 100); err != nil || len(others) != 0 {
		t.Errorf("property b's trail = %+v, %v; want empty", others, err)
	}

	// Concurrent relinks of one member: the trail is a chain where each change starts from
	// the previous one's end.
	put("a", "petr", "Petr", true)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			op := fmt.Sprint(i + 1)
			if _, err := link("a", "petr", op, "Operator "+op, "token:t", at); err != nil {
				t.Errorf("concurrent link: %v", err)
			}
		}()
	}
	wg.Wait()
	chain, err := db.ListMappingChanges(ctx, "a", "petr", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 6 {
		t.Fatalf("concurrent relinks recorded %d changes, want 6", len(chain))
	}
	for i := len(chain) - 1; i > 0; i-- {
		if chain[i-1].Old == nil || chain[i-1].Old.ID != chain[i].New.ID {
			t.Errorf("change %d starts from %+v, but the one before it ended at %+v", chain[i-1].ID, chain[i-1].Old, chain[i].New)
		}
	}
}
