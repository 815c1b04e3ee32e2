package mailings_test

import (
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
)

func TestIntake(t *testing.T) {
	p := property("Europe/Moscow")
	now := utc("2026-11-21T10:00:05Z")

	b := booking("2026-12-03", "2026-12-05")
	b.Guest.Phone, b.Guarantee = "8 (912) 345-67-89", bellhop.NonGuaranteed
	pmsSays := utc("2020-01-01T00:00:00Z")
	b.SeenNonGuaranteedAt = &pmsSays // not the PMS's to say
	if err := mailings.Intake(nil, &b, p, now); err != nil {
		t.Fatalf("Intake: %v", err)
	}
	if b.Guest.Phone != "+79123456789" {
		t.Errorf("phone = %q, want E.164", b.Guest.Phone)
	}
	if b.SeenNonGuaranteedAt == nil || !b.SeenNonGuaranteedAt.Equal(now) {
		t.Errorf("seen non-guaranteed at %v, want %v", b.SeenNonGuaranteedAt, now)
	}

	// A later push, guaranteed then non-guaranteed again, keeps the first sighting: the
	// reminder goes once.
	next := b
	next.Guarantee = bellhop.Guaranteed
	if err := mailings.Intake(&b, &next, p, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	again := next
	again.Guarantee = bellhop.NonGuaranteed
	if err := mailings.Intake(&next, &again, p, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if again.SeenNonGuaranteedAt == nil || !again.SeenNonGuaranteedAt.Equal(now) {
		t.Errorf("seen non-guaranteed at %v, want the first sighting %v", again.SeenNonGuaranteedAt, now)
	}

	guaranteed := booking("2026-12-03", "2026-12-05")
	if err := mailings.Intake(nil, &guaranteed, p, now); err != nil || guaranteed.SeenNonGuaranteedAt != nil {
		t.Errorf("guaranteed booking: %v, seen %v", err, guaranteed.SeenNonGuaranteedAt)
	}
}

func TestIntakeNamesEveryBadField(t *testing.T) {
	b := booking("2026-12-03", "2026-12-01")
	b.Guest.Phone = "+7 000 000 00 00"
	err := mailings.Intake(nil, &b, property("Europe/Moscow"), utc("2026-11-21T10:00:00Z"))
	e := assertInvalidField(t, err, "guest.phone")
	assertInvalidField(t, e, "departure")
	if len(e.Fields) != 2 {
		t.Errorf("fields = %+v, want guest.phone and departure once each", e.Fields)
	}

	b = booking("2026-12-03", "2026-12-05")
	b.Guest.Phone = ""
	e = assertInvalidField(t, mailings.Intake(nil, &b, property("Europe/Moscow"), utc("2026-11-21T10:00:00Z")), "guest.phone")
	if len(e.Fields) != 1 {
		t.Errorf("a missing phone is reported once, got %+v", e.Fields)
	}
}

func TestStale(t *testing.T) {
	stored := booking("2026-12-03", "2026-12-05")
	older, same, newer := stored, stored, stored
	older.UpdatedAt = stored.UpdatedAt.Add(-time.Hour)
	newer.UpdatedAt = stored.UpdatedAt.Add(time.Hour)
	if !mailings.Stale(&stored, older) || !mailings.Stale(&stored, same) || mailings.Stale(&stored, newer) || mailings.Stale(nil, older) {
		t.Error("the newest updated_at must win")
	}
}
