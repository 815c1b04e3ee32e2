package bellhop_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/bellhop/bellhop"
)

func validSchedule() bellhop.Schedule {
	return bellhop.Schedule{DayOffset: -1, SendTime: "12:00", QuietStart: "21:00", QuietEnd: "09:00"}
}

func TestMailingValidateNamesFields(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(m *bellhop.Mailing)
		field string
	}{
		{"unknown kind", func(m *bellhop.Mailing) { m.Kind = "birthday" }, "kind"},
		{"no sending method", func(m *bellhop.Mailing) { m.SendingMethod, m.SendingMethods = "", nil }, "sending_methods"},
		{"a sending method twice", func(m *bellhop.Mailing) { m.SendingMethods = []string{"intellectdialog", "intellectdialog"} }, "sending_methods"},
		{"send time 24:00", func(m *bellhop.Mailing) { m.Schedule.SendTime = "24:00" }, "schedule.send_time"},
		{"send time 9:00", func(m *bellhop.Mailing) { m.Schedule.SendTime = "9:00" }, "schedule.send_time"},
		{"quiet start empty", func(m *bellhop.Mailing) { m.Schedule.QuietStart = "" }, "schedule.quiet_start"},
		{"quiet end noon-ish", func(m *bellhop.Mailing) { m.Schedule.QuietEnd = "12.00" }, "schedule.quiet_end"},
		{"negative delay", func(m *bellhop.Mailing) { m.Schedule.DelayMinutes = -5 }, "schedule.delay_minutes"},
		{"a year before arrival", func(m *bellhop.Mailing) { m.Schedule.DayOffset = -365 }, "schedule.day_offset"},
		{"late window before the send day", func(m *bellhop.Mailing) { m.Schedule.DayOffset = 2 }, "schedule.late_until_day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := bellhop.Mailing{PropertyID: "1042", Kind: bellhop.Welcome, SendingMethod: "intellectdialog", Schedule: validSchedule()}
			if err := m.Validate(); err != nil {
				t.Fatalf("valid mailing refused: %v", err)
			}
			tt.edit(&m)
			err := m.Validate()
			var e *bellhop.Error
			if !errors.As(err, &e) || e.Code != bellhop.EInvalid {
				t.Fatalf("Validate = %v, want invalid_input", err)
			}
			if !slices.ContainsFunc(e.Fields, func(f bellhop.FieldError) bool { return f.Field == tt.field }) {
				t.Errorf("fields = %+v, want %s", e.Fields, tt.field)
			}
		})
	}
}

func TestKinds(t *testing.T) {
	want := []bellhop.MailingKind{"welcome", "feedback", "non_guaranteed"}
	if got := bellhop.Kinds(); !slices.Equal(got, want) {
		t.Errorf("Kinds = %v, want %v", got, want)
	}
	for _, k := range want {
		if !k.Valid() {
			t.Errorf("%s not valid", k)
		}
	}
}

func TestDeliveryStatusOnlyMovesForward(t *testing.T) {
	tests := []struct {
		from, to bellhop.DeliveryStatus
		ok       bool
	}{
		{bellhop.DeliveryScheduled, bellhop.DeliverySending, true},
		{bellhop.DeliveryScheduled, bellhop.DeliveryCancelled, true},
		{bellhop.DeliveryScheduled, bellhop.DeliverySkipped, true},
		{bellhop.DeliverySending, bellhop.DeliverySent, true},
		{bellhop.DeliverySending, bellhop.DeliveryScheduled, true},
		{bellhop.DeliverySending, bellhop.DeliveryRead, true},
		{bellhop.DeliverySent, bellhop.DeliveryDelivered, true},
		{bellhop.DeliverySent, bellhop.DeliveryRead, true},
		{bellhop.DeliverySent, bellhop.DeliveryFailed, true},
		{bellhop.DeliveryDelivered, bellhop.DeliveryRead, true},
		{bellhop.DeliveryRead, bellhop.DeliveryDelivered, false},
		{bellhop.DeliveryDelivered, bellhop.DeliverySent, false},
		{bellhop.DeliveryDelivered, bellhop.DeliveryFailed, false},
		{bellhop.DeliverySent, bellhop.DeliveryScheduled, false},
		{bellhop.DeliverySkipped, bellhop.DeliveryScheduled, false},
		{bellhop.DeliveryCancelled, bellhop.DeliverySending, false},
		{bellhop.DeliveryScheduled, bellhop.DeliveryRead, false},
		{bellhop.DeliverySent, bellhop.DeliverySent, false},
		{bellhop.DeliveryScheduled, "lost", false},
	}
	for _, tt := range tests {
		if got := tt.from.CanBecome(tt.to); got != tt.ok {
			t.Errorf("%s → %s = %v, want %v", tt.from, tt.to, got, tt.ok)
		}
	}
	for _, s := range bellhop.DeliveryStatuses() {
		if s.Pending() == s.Final() {
			t.Errorf("%s: pending and final must differ", s)
		}
	}
}
