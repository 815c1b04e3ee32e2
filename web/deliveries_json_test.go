package web

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
)

// The ledger list's hand-written answer is byte for byte what writeJSON writes, for rows with
// every field set, empty or absent, and strings of every kind.
func TestDeliveriesJSON(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	strs := []string{"", "plain", "Анна Петрова", `quote " and \ back`, "ctl \x00\x01\x1f\x7f \b\f\n\r\t",
		"html <b>&amp;</b>", "bad \xff\xfe utf8 \xe2\x82", "sep \u2028 \u2029 end", "emoji 😀", "+7 912 345-67-89"}
	str := func() string { return strs[rnd.IntN(len(strs))] }
	zones := []*time.Location{time.UTC, time.FixedZone("MSK", 3*3600), time.FixedZone("X", -(9*3600 + 30*60)),
		time.FixedZone("odd", 5*3600+45*60+17), time.FixedZone("far", 25*3600)}
	tm := func() time.Time {
		t := time.Date(2000+rnd.IntN(40), time.Month(1+rnd.IntN(12)), 1+rnd.IntN(28), rnd.IntN(24), rnd.IntN(60), rnd.IntN(60), 0, time.UTC)
		switch rnd.IntN(4) {
		case 0:
			t = t.Add(time.Duration(rnd.IntN(1e9)))
		case 1:
			t = t.Add(time.Duration(rnd.IntN(1e6)) * time.Microsecond)
		case 2:
			t = time.Time{}
		}
		if rnd.IntN(8) == 0 {
			t = t.AddDate(10000, 0, 0) // a year MarshalJSON refuses
		}
		return t.In(zones[rnd.IntN(len(zones))])
	}
	ptm := func() *time.Time {
		if rnd.IntN(2) == 0 {
			return nil
		}
		t := tm()
		return &t
	}
	num := func() int { return []int{0, 1, 2, -3, 1 << 40}[rnd.IntN(5)] }
	delivery := func() *bellhop.Delivery {
		d := &bellhop.Delivery{ID: str(), PropertyID: str(), BookingID: str(), Kind: bellhop.MailingKind(str()), StayKey: str(),
			Phone: str(), Language: str(), PlannedAt: tm(), Status: bellhop.DeliveryStatus(str()), Reason: str(),
			ProviderMessageID: str(), SenderID: str(), Provider: str(), DueAt: tm(), Version: num(), Attempts: num(),
			Channel: str(), SentAt: ptm(), ClaimedAt: ptm(), CheckedAt: ptm(), CreatedAt: tm(), UpdatedAt: tm(),
			ErasedAt: ptm(), Queued: rnd.IntN(2) == 0}
		switch rnd.IntN(3) {
		case 0:
			d.ChannelsDone = []string{}
		case 1:
			d.ChannelsDone = []string{str(), str()}
		}
		switch rnd.IntN(3) {
		case 0:
			d.AttemptLog = []bellhop.DeliveryAttempt{}
		case 1:
			for range 1 + rnd.IntN(3) {
				d.AttemptLog = append(d.AttemptLog, bellhop.DeliveryAttempt{DeliveryID: str(), Attempt: num(), Channel: str(),
					SenderID: str(), Status: bellhop.DeliveryStatus(str()), Reason: str(), MessageID: str(), At: tm(), UpdatedAt: tm()})
			}
		}
		return d
	}
	// Every field of a row is written: a field added to Delivery or DeliveryAttempt must be
	// added here (and to appendDelivery).
	if n := reflect.TypeFor[bellhop.Delivery]().NumField(); n != 26 {
		t.Errorf("Delivery has %d fields; appendDelivery knows 26 (Queued is never written)", n)
	}
	if n := reflect.TypeFor[bellhop.DeliveryAttempt]().NumField(); n != 9 {
		t.Errorf("DeliveryAttempt has %d fields; appendAttempt writes 9", n)
	}
	fellBack := 0
	for i := range 3000 {
		var list []*bellhop.Delivery
		if i > 0 {
			list = []*bellhop.Delivery{}
			for range rnd.IntN(4) {
				list = append(list, delivery())
			}
		}
		if i%500 == 7 {
			list = append(list, nil)
		}
		want := httptest.NewRecorder()
		writeJSON(want, 200, map[string]any{"deliveries": list})
		got := httptest.NewRecorder()
		writeDeliveries(got, list)
		if !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) || got.Code != want.Code ||
			got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
			t.Fatalf("list %d:\ngot  %d %q\nwant %d %q", i, got.Code, got.Body.String(), want.Code, want.Body.String())
		}
		if _, ok := appendDeliveriesAnswer(nil, list); !ok {
			fellBack++
		} else if !json.Valid(got.Body.Bytes()) {
			t.Fatalf("list %d: invalid JSON %q", i, got.Body.String())
		}
	}
	if fellBack == 0 || fellBack > 2500 {
		t.Errorf("%d of 3000 lists fell back to encoding/json; want some, not most", fellBack)
	}
}

// A page of 50 rows as the API bench reads it, written both ways.
func BenchmarkDeliveriesJSON(b *testing.B) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 123456000, time.UTC)
	list := make([]*bellhop.Delivery, 50)
	for i := range list {
		list[i] = &bellhop.Delivery{ID: "dl_0123456789abcdef01234567", PropertyID: "bench-api", BookingID: "API-0000123",
			Kind: bellhop.Welcome, StayKey: "welcome|79161234567|2026-12-01", Phone: "+79161234567", Language: "ru",
			PlannedAt: at, Status: bellhop.DeliveryScheduled, DueAt: at, Version: 1, AttemptLog: []bellhop.DeliveryAttempt{},
			Channel: "intellectdialog", CreatedAt: at, UpdatedAt: at}
	}
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			writeJSON(httptest.NewRecorder(), 200, map[string]any{"deliveries": list})
		}
	})
	b.Run("by hand", func(b *testing.B) {
		for b.Loop() {
			writeDeliveries(httptest.NewRecorder(), list)
		}
	})
}
