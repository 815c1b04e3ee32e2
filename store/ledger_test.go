package store_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/store"
)

// ledgerSuite runs on a migrated database with properties "a" and "b": bookings, mailings and
// the delivery ledger. Subtests that need the due sweep or stay claims to themselves use
// properties of their own, so that no subtest sees another's rows.
func ledgerSuite(t *testing.T, db *store.DB) {
	ctx := context.Background()
	addProperty := func(t *testing.T, ids ...string) {
		t.Helper()
		for _, id := range ids {
			if err := db.CreateProperty(ctx, property(id)); err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("bookings", func(t *testing.T) {
		if _, err := db.GetBooking(ctx, "a", "r1"); !bellhop.IsNotFound(err) {
			t.Errorf("GetBooking before any push = %v, want not found", err)
		}

		// Times come back in UTC, to the microsecond.
		deadline, seen := at.Add(48*time.Hour+789), at.Add(time.Hour+789)
		b := booking("a", "r1", "2026-12-03", "2026-12-05", at.Add(time.Minute+789))
		b.CreatedAt = at.Add(-time.Hour + 789)
		b.Guarantee, b.GuaranteeDeadline, b.SeenNonGuaranteedAt = bellhop.NonGuaranteed, &deadline, &seen
		if stored, err := db.SaveBooking(ctx, b, at); err != nil || !stored {
			t.Fatalf("SaveBooking of a new booking = %v, %v; want stored", stored, err)
		}
		want := *booking("a", "r1", "2026-12-03", "2026-12-05", at.Add(time.Minute).UTC())
		wantDeadline, wantSeen := at.Add(48*time.Hour).UTC(), at.Add(time.Hour).UTC()
		want.CreatedAt = at.Add(-time.Hour).UTC()
		want.Guarantee, want.GuaranteeDeadline, want.SeenNonGuaranteedAt = bellhop.NonGuaranteed, &wantDeadline, &wantSeen
		want.Revision = 1
		if !reflect.DeepEqual(*b, want) {
			t.Errorf("SaveBooking left\n %+v\nwant\n %+v", *b, want)
		}
		if got, err := db.GetBooking(ctx, "a", "r1"); err != nil || !reflect.DeepEqual(*got, want) {
			t.Errorf("GetBooking =\n %+v, %v\nwant\n %+v", got, err, want)
		}

		// Property b may have a booking with the same id; each property sees its own.
		other := booking("b", "r1", "2026-12-10", "2026-12-12", at)
		other.Guest.Name = "Boris"
		if stored, err := db.SaveBooking(ctx, other, at); err != nil || !stored || other.Revision != 1 {
			t.Fatalf("SaveBooking(b, r1) = %v, %v, revision %d; want stored at revision 1", stored, err, other.Revision)
		}
		if got, err := db.GetBooking(ctx, "a", "r1"); err != nil || got.Guest.Name != want.Guest.Name || got.Revision != 1 {
			t.Errorf("a's r1 after b saved its own r1 = %+v, %v; want it unchanged", got, err)
		}
		if got, err := db.GetBooking(ctx, "b", "r1"); err != nil || got.Guest.Name != "Boris" {
			t.Errorf("GetBooking(b, r1) = %+v, %v; want b's own booking", got, err)
		}

		// Pushes of r2, in order: only a newer updated_at wins, and the first moment the
		// booking was seen non-guaranteed is kept whatever later pushes say.
		base := booking("a", "r2", "2026-12-03", "2026-12-05", at)
		if stored, err := db.SaveBooking(ctx, base, at); err != nil || !stored || base.SeenNonGuaranteedAt != nil {
			t.Fatalf("SaveBooking(r2) = %v, %v, seen %v; want stored, never seen non-guaranteed", stored, err, base.SeenNonGuaranteedAt)
		}
		seen1, seen2 := at.Add(time.Minute), at.Add(2*time.Minute)
		for _, tc := range []struct {
			name      string
			updated   time.Time
			guarantee bellhop.Guarantee
			seen      *time.Time
			guest     string
			stored    bool
			revision  int
			wantSeen  *time.Time
			wantGuest string
		}{
			{"becomes non-guaranteed", at.Add(time.Minute), bellhop.NonGuaranteed, &seen1, "Anna 1", true, 2, &seen1, "Anna 1"},
			{"seen again later", at.Add(2 * time.Minute), bellhop.NonGuaranteed, &seen2, "Anna 2", true, 3, &seen1, "Anna 2"},
			{"becomes guaranteed", at.Add(3 * time.Minute), bellhop.Guaranteed, nil, "Anna 3", true, 4, &seen1, "Anna 3"},
			{"same updated_at replayed", at.Add(3 * time.Minute), bellhop.Guaranteed, nil, "Replay", false, 4, &seen1, "Anna 3"},
			{"older push arrives late", at.Add(30 * time.Second), bellhop.NonGuaranteed, &seen2, "Late", false, 4, &seen1, "Anna 3"},
		} {
			b := booking("a", "r2", "2026-12-03", "2026-12-05", tc.updated)
			b.Guarantee, b.SeenNonGuaranteedAt, b.Guest.Name = tc.guarantee, tc.seen, tc.guest
			stored, err := db.SaveBooking(ctx, b, tc.updated)
			if err != nil || stored != tc.stored {
				t.Errorf("%s: SaveBooking = %v, %v; want stored = %v", tc.name, stored, err, tc.stored)
				continue
			}
			if stored && (b.Revision != tc.revision || !sameTime(b.SeenNonGuaranteedAt, tc.wantSeen)) {
				t.Errorf("%s: SaveBooking wrote back revision %d, seen %v; want %d, %v", tc.name, b.Revision, b.SeenNonGuaranteedAt, tc.revision, tc.wantSeen)
			}
			got, err := db.GetBooking(ctx, "a", "r2")
			if err != nil {
				t.Fatal(err)
			}
			if got.Revision != tc.revision || got.Guest.Name != tc.wantGuest || !sameTime(got.SeenNonGuaranteedAt, tc.wantSeen) {
				t.Errorf("%s: stored revision %d, guest %q, seen %v; want %d, %q, %v", tc.name, got.Revision, got.Guest.Name, got.SeenNonGuaranteedAt, tc.revision, tc.wantGuest, tc.wantSeen)
			}
		}

		// Cancelling counts as a change once; a replay of the last push does not revive it.
		if changed, err := db.CancelBooking(ctx, "a", "r2", at.Add(4*time.Minute)); err != nil || !changed {
			t.Errorf("CancelBooking(r2) = %v, %v; want changed", changed, err)
		}
		if changed, err := db.CancelBooking(ctx, "a", "r2", at.Add(5*time.Minute)); err != nil || changed {
			t.Errorf("second CancelBooking(r2) = %v, %v; want no change", changed, err)
		}
		replay := booking("a", "r2", "2026-12-03", "2026-12-05", at.Add(3*time.Minute))
		if stored, err := db.SaveBooking(ctx, replay, at.Add(6*time.Minute)); err != nil || stored {
			t.Errorf("replaying the push before cancellation = %v, %v; want ignored", stored, err)
		}
		if got, err := db.GetBooking(ctx, "a", "r2"); err != nil || !got.Cancelled() || got.Revision != 5 {
			t.Errorf("after CancelBooking: %+v, %v; want cancelled at revision 5", got, err)
		}
		for _, tc := range []struct{ pid, bid string }{{"a", "nope"}, {"b", "r2"}, {"nope", "r1"}} {
			if _, err := db.CancelBooking(ctx, tc.pid, tc.bid, at); !bellhop.IsNotFound(err) {
				t.Errorf("CancelBooking(%s, %s) = %v, want not found", tc.pid, tc.bid, err)
			}
		}
		if got, err := db.GetBooking(ctx, "b", "r1"); err != nil || got.Cancelled() {
			t.Errorf("b's r1 = %+v, %v; want untouched by a's cancellations", got, err)
		}

		if _, err := db.SaveBooking(ctx, booking("nope", "r1", "2026-12-03", "2026-12-05", at), at); !bellhop.IsNotFound(err) {
			t.Errorf("SaveBooking for a missing property = %v, want not found", err)
		}

		// Departing on or after a day, by arrival then id; cancelled ones included.
		for _, b := range []*bellhop.Booking{
			booking("a", "r3", "2026-12-01", "2026-12-04", at),
			booking("a", "r0", "2026-11-20", "2026-11-25", at),
		} {
			if _, err := db.SaveBooking(ctx, b, at); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			pid, day string
			want     []string
		}{
			{"a", "2026-11-01", []string{"r0", "r3", "r1", "r2"}},
			{"a", "2026-12-04", []string{"r3", "r1", "r2"}},
			{"a", "2026-12-05", []string{"r1", "r2"}},
			{"a", "2026-12-06", nil},
			{"b", "2026-11-01", []string{"r1"}},
		} {
			list, err := db.ListBookingsDeparting(ctx, tc.pid, day(tc.day))
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, b := range list {
				if b.PropertyID != tc.pid {
					t.Errorf("ListBookingsDeparting(%s) returned %s's booking %s", tc.pid, b.PropertyID, b.ID)
				}
				ids = append(ids, b.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("ListBookingsDeparting(%s, %s) = %q, want %q", tc.pid, tc.day, ids, tc.want)
			}
		}
		list, err := db.ListBookingsDeparting(ctx, "a", day("2026-12-05"))
		if err != nil || len(list) == 0 || !reflect.DeepEqual(*list[0], want) {
			t.Errorf("ListBookingsDeparting(a)[0] = %+v, %v; want the whole booking\n %+v", list, err, want)
		}
	})

	t.Run("mailings", func(t *testing.T) {
		if list, err := db.ListMailings(ctx, "a"); err != nil || len(list) != 0 {
			t.Errorf("ListMailings before any = %+v, %v; want none", list, err)
		}
		if _, err := db.GetMailing(ctx, "a", bellhop.Welcome); !bellhop.IsNotFound(err) {
			t.Errorf("GetMailing before any = %v, want not found", err)
		}

		// Created in reverse: the list still reads welcome, feedback, non_guaranteed.
		defaults := mailings.Defaults("a", "intellectdialog")
		slices.Reverse(defaults)
		for i := range defaults {
			defaults[i].CreatedAt, defaults[i].UpdatedAt = at.Add(789), at.Add(789)
		}
		if n, err := db.CreateMailings(ctx, defaults); err != nil || n != 3 {
			t.Fatalf("CreateMailings(defaults) = %d, %v; want 3 created", n, err)
		}
		want := mailings.Defaults("a", "intellectdialog")
		for i := range want {
			want[i].CreatedAt, want[i].UpdatedAt = at.UTC(), at.UTC()
		}
		list, err := db.ListMailings(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != len(want) {
			t.Fatalf("ListMailings(a) = %d mailings, want %d", len(list), len(want))
		}
		for i, m := range list {
			if !reflect.DeepEqual(*m, want[i]) {
				t.Errorf("ListMailings(a)[%d] =\n %+v\nwant\n %+v", i, *m, want[i])
			}
		}

		// Creating again never overwrites what the property has.
		again := mailings.Defaults("a", "other")
		again[0].Enabled, again[0].Templates = true, map[string]string{"en": "Overwritten"}
		for i := range again {
			again[i].CreatedAt, again[i].UpdatedAt = at.Add(time.Hour), at.Add(time.Hour)
		}
		if n, err := db.CreateMailings(ctx, again); err != nil || n != 0 {
			t.Errorf("CreateMailings over existing ones = %d, %v; want 0 created", n, err)
		}
		if got, err := db.GetMailing(ctx, "a", bellhop.Welcome); err != nil || !reflect.DeepEqual(*got, want[0]) {
			t.Errorf("GetMailing(welcome) after re-creating = %+v, %v; want it unchanged", got, err)
		}

		// Property b has none of a's; what it already has is kept, the rest created.
		if _, err := db.GetMailing(ctx, "b", bellhop.Welcome); !bellhop.IsNotFound(err) {
			t.Errorf("GetMailing(b, welcome) = %v, want not found", err)
		}
		own := bellhop.Mailing{PropertyID: "b", Kind: bellhop.Feedback, Enabled: true, SendingMethod: "intellectdialog",
			Templates: map[string]string{"de": "Wie war es, {guest_name}?"}, Schedule: mailings.DefaultSchedule(bellhop.Feedback),
			CreatedAt: at, UpdatedAt: at}
		if n, err := db.CreateMailings(ctx, []bellhop.Mailing{own}); err != nil || n != 1 {
			t.Fatalf("CreateMailings(b, feedback) = %d, %v; want 1", n, err)
		}
		if n, err := db.CreateMailings(ctx, mailings.Defaults("b", "intellectdialog")); err != nil || n != 2 {
			t.Errorf("CreateMailings(b, defaults) = %d, %v; want the 2 missing ones", n, err)
		}
		if got, err := db.GetMailing(ctx, "b", bellhop.Feedback); err != nil || !got.Enabled || got.Templates["de"] != own.Templates["de"] || len(got.Templates) != 1 {
			t.Errorf("b's feedback = %+v, %v; want its own, kept", got, err)
		}

		// Every setting round-trips, the creation time stays.
		m := *list[1] // feedback
		m.Enabled, m.SendingMethod, m.SendingMethods = true, "another", []string{"another", "email"}
		m.Templates = map[string]string{"en": "Thank you, {guest_name}!", "ru": "Спасибо, {guest_name}!"}
		m.WATemplates = map[string]bellhop.WATemplate{"ru": {Name: "feedback_ru", Language: "ru", Params: []string{"{guest_name}", "{hotel_name}"}}}
		m.Subjects = map[string]string{"en": "How was {hotel_name}?"}
		m.Schedule = bellhop.Schedule{DayOffset: 2, SendTime: "10:30", DelayMinutes: 15, QuietStart: "22:00", QuietEnd: "08:00", LateUntilDay: 5}
		m.UpdatedAt = at.Add(time.Hour + 789)
		if err := db.UpdateMailing(ctx, &m); err != nil {
			t.Fatal(err)
		}
		wantM := m
		wantM.CreatedAt, wantM.UpdatedAt = at.UTC(), at.Add(time.Hour).UTC()
		if got, err := db.GetMailing(ctx, "a", bellhop.Feedback); err != nil || !reflect.DeepEqual(*got, wantM) {
			t.Errorf("GetMailing after UpdateMailing =\n %+v, %v\nwant\n %+v", got, err, wantM)
		}
		// What a read returns is the caller's to change: the next read of the same mailing
		// (its decoded texts are kept) is as stored.
		if got, err := db.GetMailing(ctx, "a", bellhop.Feedback); err == nil {
			got.Templates["en"], got.Subjects["en"], got.SendingMethods[0] = "changed", "changed", "changed"
			got.WATemplates["ru"].Params[0] = "changed"
			got.Templates["de"], got.WATemplates["de"] = "added", bellhop.WATemplate{}
		}
		if got, err := db.GetMailing(ctx, "a", bellhop.Feedback); err != nil || !reflect.DeepEqual(*got, wantM) {
			t.Errorf("GetMailing after a caller changed an earlier read =\n %+v, %v\nwant\n %+v", got, err, wantM)
		}
		if got, err := db.GetMailing(ctx, "b", bellhop.Feedback); err != nil || got.SendingMethod != "intellectdialog" {
			t.Errorf("b's feedback after a's update = %+v, %v; want unchanged", got, err)
		}

		// No templates at all reads back as no templates.
		m.Templates = nil
		if err := db.UpdateMailing(ctx, &m); err != nil {
			t.Fatal(err)
		}
		if got, err := db.GetMailing(ctx, "a", bellhop.Feedback); err != nil || len(got.Templates) != 0 {
			t.Errorf("mailing saved without templates = %+v, %v; want none", got, err)
		}

		if err := db.UpdateMailing(ctx, &bellhop.Mailing{PropertyID: "nope", Kind: bellhop.Welcome, SendingMethod: "x", UpdatedAt: at}); !bellhop.IsNotFound(err) {
			t.Errorf("UpdateMailing of a missing mailing = %v, want not found", err)
		}
		if _, err := db.CreateMailings(ctx, mailings.Defaults("nope", "intellectdialog")); !bellhop.IsNotFound(err) {
			t.Errorf("CreateMailings for a missing property = %v, want not found", err)
		}
		if list, err := db.ListMailings(ctx, "b"); err != nil || len(list) != 3 || list[0].Kind != bellhop.Welcome || list[1].Kind != bellhop.Feedback || list[2].Kind != bellhop.NonGuaranteedReminder {
			t.Errorf("ListMailings(b) = %+v, %v; want b's welcome, feedback, non_guaranteed", list, err)
		}
	})

	t.Run("deliveries", func(t *testing.T) {
		if _, err := db.GetDelivery(ctx, "nope"); !bellhop.IsNotFound(err) {
			t.Errorf("GetDelivery(nope) = %v, want not found", err)
		}

		// A row round-trips whole, its times in UTC to the microsecond.
		d := delivery("a", "x1", bellhop.Welcome, at.Add(time.Hour+789))
		d.DueAt, d.CreatedAt, d.UpdatedAt = at.Add(2*time.Hour+789), at.Add(789), at.Add(789)
		sent := at.Add(3*time.Hour + 789)
		d.Status, d.Reason, d.Provider, d.ProviderMessageID, d.SenderID = bellhop.DeliverySent, "", "intellectdialog", "m-1", "1"
		d.Attempts, d.Version, d.SentAt = 2, 3, &sent
		if err := db.SaveDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
		want := *d
		wantSent := at.Add(3 * time.Hour).UTC()
		want.PlannedAt, want.DueAt, want.SentAt = at.Add(time.Hour).UTC(), at.Add(2*time.Hour).UTC(), &wantSent
		want.CreatedAt, want.UpdatedAt = at.UTC(), at.UTC()
		if !reflect.DeepEqual(*d, want) {
			t.Errorf("SaveDelivery left\n %+v\nwant\n %+v", *d, want)
		}
		if got, err := db.GetDelivery(ctx, d.ID); err != nil || !reflect.DeepEqual(*got, want) {
			t.Errorf("GetDelivery =\n %+v, %v\nwant\n %+v", got, err, want)
		}

		// Saving the same id replaces the row, but it keeps its creation time.
		re := want
		re.StayKey, re.Phone, re.Language = "other-stay", "+79000000000", "en"
		re.PlannedAt, re.DueAt = at.Add(5*time.Hour), at.Add(6*time.Hour)
		re.Status, re.Reason, re.ProviderMessageID, re.SenderID, re.Attempts, re.Version, re.SentAt = bellhop.DeliveryScheduled, "", "", "", 0, 4, nil
		re.CreatedAt, re.UpdatedAt = at.Add(time.Hour), at.Add(7*time.Hour)
		if err := db.SaveDelivery(ctx, &re); err != nil {
			t.Fatal(err)
		}
		want = re
		want.PlannedAt, want.DueAt = at.Add(5*time.Hour).UTC(), at.Add(6*time.Hour).UTC()
		want.CreatedAt, want.UpdatedAt = at.UTC(), at.Add(7*time.Hour).UTC()
		if got, err := db.GetDelivery(ctx, d.ID); err != nil || !reflect.DeepEqual(*got, want) {
			t.Errorf("GetDelivery after a second SaveDelivery =\n %+v, %v\nwant\n %+v", got, err, want)
		}

		// One row per property, booking and kind.
		dup := delivery("a", "x1", bellhop.Welcome, at)
		dup.ID = "another-id"
		if err := db.SaveDelivery(ctx, dup); err == nil {
			t.Error("SaveDelivery of a second row for the same booking and kind succeeded")
		}
		if err := db.SaveDelivery(ctx, delivery("nope", "x1", bellhop.Welcome, at)); !bellhop.IsNotFound(err) {
			t.Errorf("SaveDelivery for a missing property = %v, want not found", err)
		}

		// The ledger of a and of b, as the property manager filters it.
		h := func(n int) time.Time { return at.Add(time.Duration(n) * time.Hour) }
		rows := []*bellhop.Delivery{
			withStatus(delivery("a", "l1", bellhop.Welcome, h(1)), bellhop.DeliveryScheduled),
			withStatus(delivery("a", "l1", bellhop.Feedback, h(3)), bellhop.DeliveryScheduled),
			withStatus(delivery("a", "l2", bellhop.Welcome, h(2)), bellhop.DeliverySent),
			withStatus(delivery("a", "l2", bellhop.Feedback, h(4)), bellhop.DeliveryCancelled),
			withStatus(delivery("a", "l3", bellhop.Welcome, h(2)), bellhop.DeliveryScheduled),
			withStatus(delivery("a", "l1", bellhop.NonGuaranteedReminder, h(0)), bellhop.DeliverySkipped),
			withStatus(delivery("b", "l1", bellhop.Welcome, h(1)), bellhop.DeliveryScheduled),
			withStatus(delivery("b", "l1", bellhop.Feedback, h(3)), bellhop.DeliveryScheduled),
		}
		for _, d := range rows {
			if err := db.SaveDelivery(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		// Attempts on some rows: several on the rows a limit of 2 lists, one on b's.
		for _, l := range []struct {
			id      string
			attempt int
			channel string
		}{
			{"a/l2/feedback", 0, "whatsapp_cloud"}, {"a/x1/welcome", 1, "intellectdialog"}, {"a/l2/feedback", 1, "email"},
			{"b/l1/welcome", 1, "intellectdialog"}, {"a/l2/feedback", 2, "email"}, {"a/x1/welcome", 2, "intellectdialog"},
		} {
			pid, _, _ := strings.Cut(l.id, "/")
			if err := db.AddAttempt(ctx, pid, bellhop.DeliveryAttempt{DeliveryID: l.id, Attempt: l.attempt, Channel: l.channel,
				SenderID: "s-" + l.channel, Status: bellhop.DeliverySent, Reason: "r", MessageID: fmt.Sprint("m", l.attempt),
				At: h(l.attempt), UpdatedAt: h(l.attempt + 1)}); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			name string
			pid  string
			f    bellhop.DeliveryFilter
			want []string
		}{
			{"everything, newest planned first", "a", bellhop.DeliveryFilter{},
				[]string{"a/x1/welcome", "a/l2/feedback", "a/l1/feedback", "a/l2/welcome", "a/l3/welcome", "a/l1/welcome", "a/l1/non_guaranteed"}},
			{"by status", "a", bellhop.DeliveryFilter{Status: bellhop.DeliveryScheduled},
				[]string{"a/x1/welcome", "a/l1/feedback", "a/l3/welcome", "a/l1/welcome"}},
			{"by kind", "a", bellhop.DeliveryFilter{Kind: bellhop.Feedback}, []string{"a/l2/feedback", "a/l1/feedback"}},
			{"by booking", "a", bellhop.DeliveryFilter{BookingID: "l1"}, []string{"a/l1/feedback", "a/l1/welcome", "a/l1/non_guaranteed"}},
			{"by booking and kind", "a", bellhop.DeliveryFilter{BookingID: "l1", Kind: bellhop.Welcome}, []string{"a/l1/welcome"}},
			{"by status, kind and booking", "a", bellhop.DeliveryFilter{Status: bellhop.DeliverySent, Kind: bellhop.Welcome, BookingID: "l2"}, []string{"a/l2/welcome"}},
			{"nothing matches", "a", bellhop.DeliveryFilter{Status: bellhop.DeliveryRead}, nil},
			{"planned from (inclusive) to (exclusive)", "a", bellhop.DeliveryFilter{PlannedFrom: h(2), PlannedTo: h(4)},
				[]string{"a/l1/feedback", "a/l2/welcome", "a/l3/welcome"}},
			{"planned from only", "a", bellhop.DeliveryFilter{PlannedFrom: h(4)}, []string{"a/x1/welcome", "a/l2/feedback"}},
			{"planned to only", "a", bellhop.DeliveryFilter{PlannedTo: h(1)}, []string{"a/l1/non_guaranteed"}},
			{"a bound one microsecond past a row", "a", bellhop.DeliveryFilter{PlannedFrom: h(1).Add(time.Microsecond), PlannedTo: h(2).Add(time.Microsecond)},
				[]string{"a/l2/welcome", "a/l3/welcome"}},
			{"limit", "a", bellhop.DeliveryFilter{Limit: 2}, []string{"a/x1/welcome", "a/l2/feedback"}},
			{"limit with a filter", "a", bellhop.DeliveryFilter{Kind: bellhop.Welcome, Limit: 1}, []string{"a/x1/welcome"}},
			{"property b sees only its own", "b", bellhop.DeliveryFilter{}, []string{"b/l1/feedback", "b/l1/welcome"}},
			{"property b by a's booking", "b", bellhop.DeliveryFilter{BookingID: "l2"}, nil},
			{"a property with no ledger", "nope", bellhop.DeliveryFilter{}, nil},
		} {
			list, err := db.ListDeliveries(ctx, tc.pid, tc.f)
			if err != nil {
				t.Errorf("%s: ListDeliveries: %v", tc.name, err)
				continue
			}
			if got := deliveryIDs(list); !slices.Equal(got, tc.want) {
				t.Errorf("%s: ListDeliveries(%s, %+v) = %q, want %q", tc.name, tc.pid, tc.f, got, tc.want)
			}
			// With each row's attempts (read in the same statement): the same rows, the
			// limit counting rows, not attempts, and each row's attempts its own, oldest first.
			withLog, err := db.ListDeliveriesWithAttempts(ctx, tc.pid, tc.f)
			if err != nil {
				t.Errorf("%s: ListDeliveriesWithAttempts: %v", tc.name, err)
				continue
			}
			if got := deliveryIDs(withLog); !slices.Equal(got, tc.want) {
				t.Errorf("%s: ListDeliveriesWithAttempts(%s, %+v) = %q, want %q", tc.name, tc.pid, tc.f, got, tc.want)
			}
			for _, d := range withLog {
				want, err := db.DeliveryAttempts(ctx, d.ID)
				if err != nil {
					t.Fatal(err)
				}
				if d.AttemptLog == nil || !reflect.DeepEqual(d.AttemptLog, want) {
					t.Errorf("%s: %s's attempts = %+v, want %+v", tc.name, d.ID, d.AttemptLog, want)
				}
			}
		}

		// A booking's rows: each kind once, only the property's own.
		for _, tc := range []struct {
			pid, bid string
			want     []string
		}{
			{"a", "l1", []string{"a/l1/feedback", "a/l1/non_guaranteed", "a/l1/welcome"}},
			{"b", "l1", []string{"b/l1/feedback", "b/l1/welcome"}},
			{"b", "l2", nil},
		} {
			list, err := db.BookingDeliveries(ctx, tc.pid, tc.bid)
			if err != nil {
				t.Fatal(err)
			}
			got := deliveryIDs(list)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("BookingDeliveries(%s, %s) = %q, want %q", tc.pid, tc.bid, got, tc.want)
			}
		}
		list, err := db.BookingDeliveries(ctx, "a", "l2")
		if err != nil || len(list) != 2 || !reflect.DeepEqual(list, []*bellhop.Delivery{rows[3], rows[2]}) && !reflect.DeepEqual(list, []*bellhop.Delivery{rows[2], rows[3]}) {
			t.Errorf("BookingDeliveries(a, l2) = %+v, %v; want its two whole rows", list, err)
		}
	})

	t.Run("due sweep", func(t *testing.T) {
		addProperty(t, "sweep", "sweep-b")
		now := at.Add(24 * time.Hour)
		integration := func(pid, provider string, status bellhop.IntegrationStatus, active bool) {
			t.Helper()
			in := &bellhop.Integration{PropertyID: pid, Provider: provider, BaseURL: "http://sandbox/v2/", Status: status,
				Active: active, Sender: &bellhop.Sender{ID: "1", Type: "whatsapp", Phone: "+79990000001"}, UpdatedAt: at}
			if err := db.SaveIntegration(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		integration("sweep", "intellectdialog", bellhop.StatusVerified, true)
		integration("sweep", "backup", bellhop.StatusUnverified, true) // active, but its key is not verified
		integration("sweep-b", "intellectdialog", bellhop.StatusVerified, false)
		ms := mailings.Defaults("sweep", "intellectdialog")
		ms[1].SendingMethod, ms[1].SendingMethods = "backup", nil // feedback
		ms = append(ms, mailings.Defaults("sweep-b", "intellectdialog")...)
		if _, err := db.CreateMailings(ctx, ms); err != nil {
			t.Fatal(err)
		}
		for _, r := range []struct {
			pid, bid string
			kind     bellhop.MailingKind
			status   bellhop.DeliveryStatus
			due      time.Time
			version  int
		}{
			{"sweep", "due-scheduled", bellhop.Welcome, bellhop.DeliveryScheduled, now.Add(-2 * time.Hour), 1},
			{"sweep", "lease-expired", bellhop.Welcome, bellhop.DeliverySending, now.Add(-time.Hour), 3},
			{"sweep", "due-now", bellhop.NonGuaranteedReminder, bellhop.DeliveryScheduled, now, 2},
			{"sweep", "lease-live", bellhop.Welcome, bellhop.DeliverySending, now.Add(time.Minute), 1},
			{"sweep", "not-yet", bellhop.Welcome, bellhop.DeliveryScheduled, now.Add(time.Microsecond), 1},
			{"sweep", "sent", bellhop.Welcome, bellhop.DeliverySent, now.Add(-3 * time.Hour), 1},
			{"sweep", "failed", bellhop.Welcome, bellhop.DeliveryFailed, now.Add(-3 * time.Hour), 1},
			{"sweep", "cancelled", bellhop.Welcome, bellhop.DeliveryCancelled, now.Add(-3 * time.Hour), 1},
			{"sweep", "unverified", bellhop.Feedback, bellhop.DeliveryScheduled, now.Add(-3 * time.Hour), 1},
			{"sweep-b", "inactive", bellhop.Welcome, bellhop.DeliveryScheduled, now.Add(-3 * time.Hour), 1},
		} {
			d := withStatus(delivery(r.pid, r.bid, r.kind, r.due.Add(-time.Hour)), r.status)
			d.DueAt, d.Version = r.due, r.version
			if err := db.SaveDelivery(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		due := func(limit int) []store.DueDelivery {
			t.Helper()
			list, err := db.DueDeliveries(ctx, now, limit)
			if err != nil {
				t.Fatal(err)
			}
			for i, d := range list {
				if !d.Status.Pending() || d.DueAt.After(now) {
					t.Errorf("DueDeliveries listed %s %s due %v", d.ID, d.Status, d.DueAt)
				}
				list[i] = store.DueDelivery{ID: d.ID, Version: d.Version} // compared by id and version
			}
			return list
		}
		want := []store.DueDelivery{{ID: "sweep/due-scheduled/welcome", Version: 1}, {ID: "sweep/lease-expired/welcome", Version: 3}, {ID: "sweep/due-now/non_guaranteed", Version: 2}}
		if got := due(10); !slices.Equal(got, want) {
			t.Errorf("DueDeliveries = %v, want %v (oldest due first)", got, want)
		}
		if got := due(2); !slices.Equal(got, want[:2]) {
			t.Errorf("DueDeliveries(limit 2) = %v, want %v", got, want[:2])
		}

		// Activating b's integration makes b's row due; a's active integration never did.
		integration("sweep-b", "intellectdialog", bellhop.StatusVerified, true)
		wantB := append([]store.DueDelivery{{ID: "sweep-b/inactive/welcome", Version: 1}}, want...)
		if got := due(10); !slices.Equal(got, wantB) {
			t.Errorf("after activating b: DueDeliveries = %v, want %v", got, wantB)
		}
		// A key the provider rejected stops the sweep, even while the integration is on.
		integration("sweep", "intellectdialog", bellhop.StatusInvalid, true)
		if got := due(10); !slices.Equal(got, wantB[:1]) {
			t.Errorf("after a's key became invalid: DueDeliveries = %v, want %v", got, wantB[:1])
		}
		integration("sweep-b", "intellectdialog", bellhop.StatusVerified, false)
		if got := due(10); len(got) != 0 {
			t.Errorf("with no integration able to send: DueDeliveries = %v, want none", got)
		}

		// Before a channel is chosen any of the mailing's channels that can send will do: a
		// welcome whose first channel is off is still found through its second.
		addProperty(t, "sweep-c")
		integration("sweep-c", "off", bellhop.StatusVerified, false)
		integration("sweep-c", "intellectdialog", bellhop.StatusVerified, true)
		mc := mailings.Defaults("sweep-c", "off")
		mc[0].SendingMethods = []string{"off", "intellectdialog"} // welcome
		if _, err := db.CreateMailings(ctx, mc); err != nil {
			t.Fatal(err)
		}
		for _, kind := range []bellhop.MailingKind{bellhop.Welcome, bellhop.Feedback} {
			d := delivery("sweep-c", "second", kind, now.Add(-2*time.Hour))
			d.DueAt = now.Add(-time.Hour)
			if err := db.SaveDelivery(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		wantC := []store.DueDelivery{{ID: "sweep-c/second/welcome", Version: 1}}
		if got := due(10); !slices.Equal(got, wantC) {
			t.Errorf("a mailing whose first channel is off: DueDeliveries = %v, want %v (its feedback has no channel on)", got, wantC)
		}
		integration("sweep-c", "intellectdialog", bellhop.StatusVerified, false)
		if got := due(10); len(got) != 0 {
			t.Errorf("with neither channel on: DueDeliveries = %v, want none", got)
		}
	})

	// claim runs ClaimDelivery of d at version in a transaction of its own, as a send does.
	claim := func(d *bellhop.Delivery, version int, now time.Time) (attempt int, owner string, err error) {
		err = db.WithTx(ctx, func(tx *store.Tx) error {
			c := *d
			c.Version = version
			var err error
			attempt, owner, err = tx.ClaimDelivery(ctx, &c, "intellectdialog", "1", now.Add(5*time.Minute), now)
			return err
		})
		return attempt, owner, err
	}
	get := func(t *testing.T, id string) *bellhop.Delivery {
		t.Helper()
		d, err := db.GetDelivery(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	save := func(t *testing.T, ds ...*bellhop.Delivery) {
		t.Helper()
		for _, d := range ds {
			if err := db.SaveDelivery(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("claims", func(t *testing.T) {
		addProperty(t, "claims", "claims-b")
		now := at.Add(24*time.Hour + 789)
		stay := "claims|+79123456789|2026-12-03|2026-12-05|welcome"
		first := withStay(delivery("claims", "k1", bellhop.Welcome, at), stay)
		second := withStay(delivery("claims", "k2", bellhop.Welcome, at), stay)
		feedback := withStay(delivery("claims", "k1", bellhop.Feedback, at), "claims|+79123456789|2026-12-03|2026-12-05|feedback")
		elsewhere := withStay(delivery("claims-b", "k9", bellhop.Welcome, at), stay)
		gone := withStatus(withStay(delivery("claims", "k3", bellhop.Welcome, at), "stay-2"), bellhop.DeliveryCancelled)
		fresh := withStay(delivery("claims", "k4", bellhop.Welcome, at), "stay-2")
		save(t, first, second, feedback, elsewhere, gone, fresh)
		retry := *first
		retry.Attempts = 1 // what a run that found the first claim's row reads

		for _, tc := range []struct {
			name    string
			d       *bellhop.Delivery
			version int
			attempt int
			owner   string
			missing bool
		}{
			{"first claim of a stay sends", first, 1, 1, first.ID, false},
			{"another booking of the stay does not", second, 1, 0, first.ID, false},
			{"a retry of a sending row counts another attempt", &retry, 1, 2, first.ID, false},
			{"a run that read the row before that retry finds it moved on", &retry, 1, 0, "", true},
			{"a stale version is not found", first, 2, 0, "", true},
			{"another kind is another stay", feedback, 1, 1, feedback.ID, false},
			{"another property's stay is its own", elsewhere, 1, 1, elsewhere.ID, false},
			{"a cancelled row is not found", gone, 1, 0, "", true},
			{"a failed claim kept no hold on its stay", fresh, 1, 1, fresh.ID, false},
		} {
			attempt, owner, err := claim(tc.d, tc.version, now)
			if tc.missing {
				if !bellhop.IsNotFound(err) {
					t.Errorf("%s: ClaimDelivery = %d, %q, %v; want not found", tc.name, attempt, owner, err)
				}
				continue
			}
			if err != nil || attempt != tc.attempt || owner != tc.owner {
				t.Errorf("%s: ClaimDelivery = %d, %q, %v; want attempt %d, owner %q", tc.name, attempt, owner, err, tc.attempt, tc.owner)
			}
		}

		// The claimed row is sending, its lease is its due time; the loser is untouched.
		lease := now.Add(5 * time.Minute).UTC().Truncate(time.Microsecond)
		got := get(t, first.ID)
		wantFirst := *first
		wantFirst.PlannedAt, wantFirst.DueAt, wantFirst.CreatedAt = at.UTC(), lease, at.UTC()
		wantFirst.Status, wantFirst.Attempts, wantFirst.Provider, wantFirst.SenderID = bellhop.DeliverySending, 2, "intellectdialog", "1"
		wantFirst.Channel = "intellectdialog"
		wantFirst.UpdatedAt = now.UTC().Truncate(time.Microsecond)
		claimedAt := now.UTC().Truncate(time.Microsecond)
		wantFirst.ClaimedAt = &claimedAt
		if !reflect.DeepEqual(*got, wantFirst) {
			t.Errorf("claimed delivery =\n %+v\nwant\n %+v", *got, wantFirst)
		}
		if got := get(t, second.ID); got.Status != bellhop.DeliveryScheduled || got.Attempts != 0 || got.Provider != "" {
			t.Errorf("the stay's other delivery = %+v; want still scheduled, never attempted", got)
		}
		if got := get(t, gone.ID); got.Status != bellhop.DeliveryCancelled || got.Attempts != 0 {
			t.Errorf("cancelled delivery after a claim = %+v; want unchanged", got)
		}

		// Only the owner can release the stay; then the other booking's delivery may send.
		if err := db.ReleaseStay(ctx, second); err != nil {
			t.Fatal(err)
		}
		if attempt, owner, err := claim(second, 1, now); err != nil || attempt != 0 || owner != first.ID {
			t.Errorf("after a non-owner's ReleaseStay: ClaimDelivery = %d, %q, %v; want still owned by %s", attempt, owner, err, first.ID)
		}
		if err := db.ReleaseStay(ctx, first); err != nil {
			t.Fatal(err)
		}
		if attempt, owner, err := claim(second, 1, now); err != nil || attempt != 1 || owner != second.ID {
			t.Errorf("after the owner's ReleaseStay: ClaimDelivery = %d, %q, %v; want attempt 1 by %s", attempt, owner, err, second.ID)
		}
		if attempt, owner, err := claim(first, 1, now); err != nil || attempt != 0 || owner != second.ID {
			t.Errorf("the former owner claiming again = %d, %q, %v; want owner %s", attempt, owner, err, second.ID)
		}
		if got := get(t, elsewhere.ID); got.Attempts != 1 {
			t.Errorf("claims-b's delivery = %+v; want untouched by claims' stay", got)
		}
	})

	t.Run("unknown outcomes", func(t *testing.T) {
		// A retry keeps the round's first claim time (where the provider's listing is searched
		// from); a row the provider could not be asked about is held, never pending again;
		// sent rows without news are listed for the status reconciler.
		addProperty(t, "unknown")
		d := delivery("unknown", "b1", bellhop.Welcome, at)
		save(t, d)
		first := at.Add(time.Hour)
		if _, _, err := claim(d, 1, first); err != nil {
			t.Fatal(err)
		}
		if err := db.CheckedDelivery(ctx, d.ID, first.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := get(t, d.ID); got.CheckedAt == nil || !got.CheckedAt.Equal(first.Add(time.Minute)) {
			t.Fatalf("checked_at = %v; want %v", got.CheckedAt, first.Add(time.Minute))
		}
		d.Attempts = 1
		if _, _, err := claim(d, 1, first.Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		got := get(t, d.ID)
		if got.ClaimedAt == nil || !got.ClaimedAt.Equal(first) || got.Attempts != 2 {
			t.Fatalf("after a retry: claimed_at %v, attempts %d; want the first claim %v, 2 attempts", got.ClaimedAt, got.Attempts, first)
		}
		if ok, err := db.HoldDelivery(ctx, d.ID, 2, 2, bellhop.ReasonUnconfirmed, first.Add(time.Hour)); err != nil || ok {
			t.Fatalf("HoldDelivery of a stale version = %v, %v; want false", ok, err)
		}
		if ok, err := db.HoldDelivery(ctx, d.ID, 1, 1, bellhop.ReasonUnconfirmed, first.Add(time.Hour)); err != nil || ok {
			t.Fatalf("HoldDelivery of a claim that was followed by another = %v, %v; want false", ok, err)
		}
		if ok, err := db.HoldDelivery(ctx, d.ID, 1, 2, bellhop.ReasonUnconfirmed, first.Add(time.Hour)); err != nil || !ok {
			t.Fatalf("HoldDelivery = %v, %v; want true", ok, err)
		}
		got = get(t, d.ID)
		if got.Status != bellhop.DeliveryUnconfirmed || got.Reason != bellhop.ReasonUnconfirmed {
			t.Fatalf("held row = %s (%s); want unconfirmed", got.Status, got.Reason)
		}
		if _, _, err := claim(d, 1, first.Add(2*time.Hour)); !bellhop.IsNotFound(err) {
			t.Fatalf("claiming an unconfirmed row: %v; want not found (nothing sends it blind)", err)
		}
		due, err := db.DueDeliveries(ctx, first.Add(48*time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, dd := range due {
			if dd.ID == d.ID {
				t.Fatal("an unconfirmed row is swept as due")
			}
		}

		// A skip applies to the row as its caller read it: after another claim, not at all.
		sk := delivery("unknown", "b5", bellhop.Welcome, at)
		save(t, sk)
		if _, _, err := claim(sk, 1, first); err != nil {
			t.Fatal(err)
		}
		if ok, err := db.SkipDelivery(ctx, sk.ID, 1, 0, bellhop.ReasonDuplicatePhone, first); err != nil || ok {
			t.Fatalf("SkipDelivery of a row claimed since it was read = %v, %v; want false", ok, err)
		}
		if ok, err := db.SkipDelivery(ctx, sk.ID, 1, 1, bellhop.ReasonDuplicatePhone, first); err != nil || !ok {
			t.Fatalf("SkipDelivery = %v, %v; want true", ok, err)
		}
		if got := get(t, sk.ID); got.Status != bellhop.DeliverySkipped || got.Reason != bellhop.ReasonDuplicatePhone {
			t.Fatalf("skipped row = %s (%s); want skipped (%s)", got.Status, got.Reason, bellhop.ReasonDuplicatePhone)
		}

		// Sent rows: listed while unchecked since the cut-off and within the window.
		sent := withStatus(delivery("unknown", "b2", bellhop.Welcome, at), bellhop.DeliverySent)
		sentAt := at.Add(2 * time.Hour)
		sent.SentAt, sent.ProviderMessageID = &sentAt, "m-1"
		noID := withStatus(delivery("unknown", "b3", bellhop.Welcome, at), bellhop.DeliverySent)
		noID.SentAt = &sentAt
		read := withStatus(delivery("unknown", "b4", bellhop.Welcome, at), bellhop.DeliveryRead)
		read.SentAt, read.ProviderMessageID = &sentAt, "m-2"
		save(t, sent, noID, read)
		list, err := db.UnreportedDeliveries(ctx, sentAt.Add(-time.Hour), sentAt.Add(time.Hour), sentAt, 10)
		if err != nil {
			t.Fatal(err)
		}
		if ids := deliveryIDs(list); !slices.Equal(ids, []string{sent.ID}) {
			t.Fatalf("unreported = %v; want only %s", ids, sent.ID)
		}
		if err := db.CheckedDelivery(ctx, sent.ID, sentAt.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if list, _ := db.UnreportedDeliveries(ctx, sentAt.Add(-time.Hour), sentAt.Add(time.Hour), sentAt, 10); len(list) != 0 {
			t.Fatalf("a row checked after the cut-off is listed again: %v", deliveryIDs(list))
		}
		if list, _ := db.UnreportedDeliveries(ctx, sentAt.Add(time.Minute), sentAt.Add(time.Hour), sentAt.Add(time.Hour), 10); len(list) != 0 {
			t.Fatalf("a row sent before the window is listed: %v", deliveryIDs(list))
		}
	})

	t.Run("outcomes", func(t *testing.T) {
		addProperty(t, "outcomes")
		now := at.Add(24 * time.Hour)
		d := delivery("outcomes", "o1", bellhop.Welcome, at)
		save(t, d)
		utc := func(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
		sentAt := now.Add(2*time.Minute + 789)

		// want is what the ledger shows of the row; Sent is "" until it was sent.
		type want struct {
			Status   bellhop.DeliveryStatus
			Attempts int
			Due      time.Time
			Reason   string
			Message  string
			Sent     string
		}
		wantSent := utc(sentAt).Format(time.RFC3339Nano)
		for _, tc := range []struct {
			name string
			do   func() (bool, error)
			ok   bool
			want want
		}{
			{"defer a scheduled row", func() (bool, error) {
				return db.DeferDelivery(ctx, d.ID, 1, now.Add(10*time.Minute+789), now)
			}, true, want{bellhop.DeliveryScheduled, 0, utc(now.Add(10 * time.Minute)), "", "", ""}},
			{"defer a stale version", func() (bool, error) {
				return db.DeferDelivery(ctx, d.ID, 2, now.Add(time.Hour), now)
			}, false, want{bellhop.DeliveryScheduled, 0, utc(now.Add(10 * time.Minute)), "", "", ""}},
			{"claim", func() (bool, error) {
				a, _, err := claim(d, 1, now)
				return a == 1, err
			}, true, want{bellhop.DeliverySending, 1, utc(now.Add(5 * time.Minute)), "", "", ""}},
			{"defer a sending row (waits for its sender's slot)", func() (bool, error) {
				return db.DeferDelivery(ctx, d.ID, 1, now.Add(20*time.Minute), now)
			}, true, want{bellhop.DeliverySending, 1, utc(now.Add(20 * time.Minute)), "", "", ""}},
			{"finish a stale version", func() (bool, error) {
				return db.FinishDelivery(ctx, d.ID, 2, bellhop.DeliverySent, "", "m-stale", &sentAt, now, now)
			}, false, want{bellhop.DeliverySending, 1, utc(now.Add(20 * time.Minute)), "", "", ""}},
			{"back to scheduled for a retry", func() (bool, error) {
				return db.FinishDelivery(ctx, d.ID, 1, bellhop.DeliveryScheduled, "", "", nil, now.Add(time.Hour), now)
			}, true, want{bellhop.DeliveryScheduled, 1, utc(now.Add(time.Hour)), "", "", ""}},
			{"claim again: attempts go on counting", func() (bool, error) {
				again := *d
				again.Attempts = 1 // as the retry's run read the row
				a, _, err := claim(&again, 1, now)
				return a == 2, err
			}, true, want{bellhop.DeliverySending, 2, utc(now.Add(5 * time.Minute)), "", "", ""}},
			{"sent", func() (bool, error) {
				return db.FinishDelivery(ctx, d.ID, 1, bellhop.DeliverySent, "", "m-1", &sentAt, now, now)
			}, true, want{bellhop.DeliverySent, 2, utc(now), "", "m-1", wantSent}},
			{"finish again once sent", func() (bool, error) {
				return db.FinishDelivery(ctx, d.ID, 1, bellhop.DeliveryFailed, bellhop.ReasonProviderRejected, "", nil, now, now)
			}, false, want{bellhop.DeliverySent, 2, utc(now), "", "m-1", wantSent}},
			{"defer once sent", func() (bool, error) {
				return db.DeferDelivery(ctx, d.ID, 1, now.Add(time.Hour), now)
			}, false, want{bellhop.DeliverySent, 2, utc(now), "", "m-1", wantSent}},
			{"claim once sent", func() (bool, error) {
				_, _, err := claim(d, 1, now)
				return !bellhop.IsNotFound(err), nil
			}, false, want{bellhop.DeliverySent, 2, utc(now), "", "m-1", wantSent}},
			{"report from a status it is not in", func() (bool, error) {
				return db.ReportDelivery(ctx, d.ID, bellhop.DeliverySending, bellhop.DeliveryDelivered, "", "", now, now)
			}, false, want{bellhop.DeliverySent, 2, utc(now), "", "m-1", wantSent}},
			{"report delivered", func() (bool, error) {
				return db.ReportDelivery(ctx, d.ID, bellhop.DeliverySent, bellhop.DeliveryDelivered, "", "", now, now)
			}, true, want{bellhop.DeliveryDelivered, 2, utc(now), "", "m-1", wantSent}},
			{"a late report from sent", func() (bool, error) {
				return db.ReportDelivery(ctx, d.ID, bellhop.DeliverySent, bellhop.DeliveryFailed, "late", "", now, now)
			}, false, want{bellhop.DeliveryDelivered, 2, utc(now), "", "m-1", wantSent}},
			{"report read", func() (bool, error) {
				return db.ReportDelivery(ctx, d.ID, bellhop.DeliveryDelivered, bellhop.DeliveryRead, "", "", now, now.Add(time.Hour))
			}, true, want{bellhop.DeliveryRead, 2, utc(now), "", "m-1", wantSent}},
		} {
			ok, err := tc.do()
			if err != nil || ok != tc.ok {
				t.Errorf("%s: reported %v, %v; want %v", tc.name, ok, err, tc.ok)
			}
			got := get(t, d.ID)
			have := want{got.Status, got.Attempts, got.DueAt, got.Reason, got.ProviderMessageID, ""}
			if got.SentAt != nil {
				have.Sent = got.SentAt.Format(time.RFC3339Nano)
			}
			if !reflect.DeepEqual(have, tc.want) {
				t.Errorf("%s: row is %+v, want %+v", tc.name, have, tc.want)
			}
		}
		if got := get(t, d.ID); !got.UpdatedAt.Equal(now.Add(time.Hour)) || got.Version != 1 {
			t.Errorf("after the read report: updated %v, version %d; want %v, 1", got.UpdatedAt, got.Version, now.Add(time.Hour))
		}

		// A failure keeps its reason; a skip before sending too.
		for _, tc := range []struct {
			bid    string
			status bellhop.DeliveryStatus
			reason string
		}{
			{"o2", bellhop.DeliveryFailed, bellhop.ReasonProviderRejected},
			{"o3", bellhop.DeliverySkipped, bellhop.ReasonBookingCancelled},
		} {
			d := delivery("outcomes", tc.bid, bellhop.Welcome, at)
			save(t, d)
			if ok, err := db.FinishDelivery(ctx, d.ID, 1, tc.status, tc.reason, "", nil, now, now); err != nil || !ok {
				t.Errorf("FinishDelivery(%s, %s) = %v, %v; want done", tc.bid, tc.status, ok, err)
			}
			if got := get(t, d.ID); got.Status != tc.status || got.Reason != tc.reason || got.SentAt != nil {
				t.Errorf("%s after FinishDelivery = %+v; want %s (%s), never sent", tc.bid, got, tc.status, tc.reason)
			}
		}
		if ok, err := db.ReportDelivery(ctx, "nope", bellhop.DeliverySent, bellhop.DeliveryRead, "", "", now, now); err != nil || ok {
			t.Errorf("ReportDelivery(nope) = %v, %v; want false", ok, err)
		}
		if ok, err := db.FinishDelivery(ctx, "nope", 1, bellhop.DeliverySent, "", "", nil, now, now); err != nil || ok {
			t.Errorf("FinishDelivery(nope) = %v, %v; want false", ok, err)
		}
	})

	t.Run("concurrent claims", func(t *testing.T) {
		addProperty(t, "race")
		now := at.Add(24 * time.Hour)
		const workers = 8
		type result struct {
			attempt int
			owner   string
			err     error
		}
		race := func(ds []*bellhop.Delivery) []result {
			out := make([]result, len(ds))
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, d := range ds {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					a, o, err := claim(d, 1, now)
					out[i] = result{a, o, err}
				}()
			}
			close(start)
			wg.Wait()
			return out
		}

		// Several workers holding the same task, each having read the row unclaimed: exactly
		// one claims it; the others find it moved on (the provider keeps repeats: none of them
		// may send while the first may be inside its call).
		one := withStay(delivery("race", "one", bellhop.Welcome, at), "race|one")
		save(t, one)
		same := make([]*bellhop.Delivery, workers)
		for i := range same {
			same[i] = one
		}
		won := 0
		for _, r := range race(same) {
			switch {
			case r.err == nil && r.owner == one.ID && r.attempt == 1:
				won++
			case bellhop.IsNotFound(r.err):
			default:
				t.Errorf("concurrent ClaimDelivery of one version = %d, %q, %v; want a first claim by %s or not found", r.attempt, r.owner, r.err, one.ID)
			}
		}
		if won != 1 {
			t.Errorf("%d of %d concurrent claims won, want exactly 1", won, workers)
		}
		if got := get(t, one.ID); got.Status != bellhop.DeliverySending || got.Attempts != 1 {
			t.Errorf("after concurrent claims: %s with %d attempts, want sending with 1", got.Status, got.Attempts)
		}

		// Several rooms of one stay claimed at once: exactly one owner sends, every other
		// claimant is told who it is, and its row is left alone.
		rooms := make([]*bellhop.Delivery, workers)
		for i := range rooms {
			rooms[i] = withStay(delivery("race", fmt.Sprint("room", i), bellhop.Welcome, at), "race|stay")
		}
		save(t, rooms...)
		results := race(rooms)
		var winner string
		for i, r := range results {
			if r.err != nil {
				t.Fatalf("ClaimDelivery(%s): %v", rooms[i].ID, r.err)
			}
			if r.attempt == 1 && r.owner == rooms[i].ID {
				if winner != "" {
					t.Errorf("both %s and %s own the stay", winner, rooms[i].ID)
				}
				winner = rooms[i].ID
			}
		}
		if winner == "" {
			t.Fatalf("no concurrent claimant owns the stay: %+v", results)
		}
		for i, r := range results {
			if rooms[i].ID == winner {
				continue
			}
			if r.attempt != 0 || r.owner != winner {
				t.Errorf("%s's claim = %d, owner %q; want 0, owner %s", rooms[i].ID, r.attempt, r.owner, winner)
			}
			if got := get(t, rooms[i].ID); got.Status != bellhop.DeliveryScheduled || got.Attempts != 0 {
				t.Errorf("losing room %s is %s with %d attempts, want scheduled, never attempted", got.ID, got.Status, got.Attempts)
			}
		}
		if got := get(t, winner); got.Status != bellhop.DeliverySending || got.Attempts != 1 {
			t.Errorf("winning room %s is %s with %d attempts, want sending with 1", winner, got.Status, got.Attempts)
		}
	})
}

func day(s string) bellhop.Date {
	d, err := bellhop.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func booking(pid, id, arrival, departure string, updated time.Time) *bellhop.Booking {
	return &bellhop.Booking{ID: id, PropertyID: pid, Status: bellhop.BookingConfirmed, Guarantee: bellhop.Guaranteed,
		Arrival: day(arrival), Departure: day(departure), CreatedAt: updated, UpdatedAt: updated,
		Guest: bellhop.Guest{Name: "Анна Петрова", Phone: "+79123456789", Email: "anna@example.com", Language: "ru"}}
}

// delivery returns a scheduled, never attempted ledger row due when planned; its id is
// "property/booking/kind".
func delivery(pid, bid string, kind bellhop.MailingKind, planned time.Time) *bellhop.Delivery {
	return &bellhop.Delivery{ID: pid + "/" + bid + "/" + string(kind), PropertyID: pid, BookingID: bid, Kind: kind,
		StayKey: pid + "|" + bid + "|" + string(kind), Phone: "+79123456789", Language: "ru",
		PlannedAt: planned, DueAt: planned, Status: bellhop.DeliveryScheduled, Version: 1, CreatedAt: at, UpdatedAt: at}
}

func withStatus(d *bellhop.Delivery, s bellhop.DeliveryStatus) *bellhop.Delivery {
	d.Status = s
	return d
}

func withStay(d *bellhop.Delivery, key string) *bellhop.Delivery {
	d.StayKey = key
	return d
}

func deliveryIDs(list []*bellhop.Delivery) []string {
	var ids []string
	for _, d := range list {
		ids = append(ids, d.ID)
	}
	return ids
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
