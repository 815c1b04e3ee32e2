package web

import (
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bellhop/bellhop"
)

// The ledger's list is the API's largest answer and one of its most asked for (a page of 50
// or 100 rows, each with its attempts). encoding/json spends most of its time there on
// reflection and on each time's MarshalJSON, whose output it then validates and compacts
// again: about a quarter of a millisecond a page. The list's answer is written here directly,
// byte for byte as writeJSON writes it (TestDeliveriesJSON compares the two on rows with every
// field set, empty or absent, and strings of every kind).

// writeDeliveries answers {"deliveries": list} as writeJSON would.
func writeDeliveries(w http.ResponseWriter, list []*bellhop.Delivery) {
	bp := answerBuffers.Get().(*[]byte)
	b, ok := appendDeliveriesAnswer((*bp)[:0], list)
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"deliveries": list})
	} else {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
	}
	if cap(b) <= 1<<20 { // a rare huge page is not kept
		*bp = b
		answerBuffers.Put(bp)
	}
}

var answerBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// appendDeliveriesAnswer appends the JSON of {"deliveries": list} and a newline, as
// encoding/json's Encoder without HTML escaping writes it; ok is false for what it does not
// write the same way (a nil row, a time whose year is outside 0–9999), for writeJSON to answer.
func appendDeliveriesAnswer(b []byte, list []*bellhop.Delivery) (_ []byte, ok bool) {
	b = append(b, `{"deliveries":`...)
	if list == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, d := range list {
			if d == nil {
				return b, false
			}
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendDelivery(b, d); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	return append(b, "}\n"...), true
}

// appendDelivery appends d as encoding/json writes a bellhop.Delivery: its fields in order,
// those tagged omitempty left out when empty.
func appendDelivery(b []byte, d *bellhop.Delivery) (_ []byte, ok bool) {
	for _, t := range []*time.Time{&d.PlannedAt, &d.DueAt, d.SentAt, d.ClaimedAt, d.CheckedAt, &d.CreatedAt, &d.UpdatedAt, d.ErasedAt} {
		if t != nil && !jsonTime(*t) {
			return b, false
		}
	}
	b = appendField(b, `{"id":`, d.ID)
	b = appendField(b, `,"property_id":`, d.PropertyID)
	b = appendField(b, `,"booking_id":`, d.BookingID)
	b = appendField(b, `,"kind":`, string(d.Kind))
	if d.StayKey != "" {
		b = appendField(b, `,"stay_key":`, d.StayKey)
	}
	b = appendField(b, `,"phone":`, d.Phone)
	if d.Language != "" {
		b = appendField(b, `,"language":`, d.Language)
	}
	b = appendTime(append(b, `,"planned_at":`...), d.PlannedAt)
	b = appendField(b, `,"status":`, string(d.Status))
	if d.Reason != "" {
		b = appendField(b, `,"reason":`, d.Reason)
	}
	if d.ProviderMessageID != "" {
		b = appendField(b, `,"provider_message_id":`, d.ProviderMessageID)
	}
	if d.SenderID != "" {
		b = appendField(b, `,"sender_id":`, d.SenderID)
	}
	if d.Provider != "" {
		b = appendField(b, `,"provider":`, d.Provider)
	}
	b = appendTime(append(b, `,"due_at":`...), d.DueAt)
	b = strconv.AppendInt(append(b, `,"version":`...), int64(d.Version), 10)
	b = strconv.AppendInt(append(b, `,"attempt_count":`...), int64(d.Attempts), 10)
	b = append(b, `,"attempts":`...)
	if d.AttemptLog == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range d.AttemptLog {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendAttempt(b, &d.AttemptLog[i]); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	b = appendField(b, `,"channel":`, d.Channel)
	if len(d.ChannelsDone) > 0 {
		b = append(b, `,"channels_done":[`...)
		for i, c := range d.ChannelsDone {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, c)
		}
		b = append(b, ']')
	}
	if d.SentAt != nil {
		b = appendTime(append(b, `,"sent_at":`...), *d.SentAt)
	}
	if d.ClaimedAt != nil {
		b = appendTime(append(b, `,"claimed_at":`...), *d.ClaimedAt)
	}
	if d.CheckedAt != nil {
		b = appendTime(append(b, `,"checked_at":`...), *d.CheckedAt)
	}
	b = appendTime(append(b, `,"created_at":`...), d.CreatedAt)
	b = appendTime(append(b, `,"updated_at":`...), d.UpdatedAt)
	if d.ErasedAt != nil {
		b = appendTime(append(b, `,"erased_at":`...), *d.ErasedAt)
	}
	return append(b, '}'), true
}

func appendAttempt(b []byte, a *bellhop.DeliveryAttempt) (_ []byte, ok bool) {
	if !jsonTime(a.At) || !jsonTime(a.UpdatedAt) {
		return b, false
	}
	b = append(b, '{')
	if a.Attempt != 0 {
		b = strconv.AppendInt(append(b, `"attempt":`...), int64(a.Attempt), 10)
		b = append(b, ',')
	}
	b = appendField(b, `"channel":`, a.Channel)
	if a.SenderID != "" {
		b = appendField(b, `,"sender_id":`, a.SenderID)
	}
	b = appendField(b, `,"status":`, string(a.Status))
	if a.Reason != "" {
		b = appendField(b, `,"reason":`, a.Reason)
	}
	if a.MessageID != "" {
		b = appendField(b, `,"message_id":`, a.MessageID)
	}
	b = appendTime(append(b, `,"at":`...), a.At)
	b = appendTime(append(b, `,"updated_at":`...), a.UpdatedAt)
	return append(b, '}'), true
}

func appendField(b []byte, key, s string) []byte {
	return appendString(append(b, key...), s)
}

// jsonTime reports whether time.Time's MarshalJSON writes t (RFC 3339 knows years 0–9999 only).
func jsonTime(t time.Time) bool {
	y := t.Year()
	if y < 0 || y > 9999 {
		return false
	}
	// MarshalJSON refuses a zone offset of 24 hours or more; one with seconds is left to it.
	_, off := t.Zone()
	return off%60 == 0 && off > -24*3600 && off < 24*3600
}

// appendTime appends t as time.Time's MarshalJSON writes it.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s quoted as encoding/json writes a string without HTML escaping:
// quotes, backslashes and control characters escaped, invalid UTF-8 as U+FFFD, and U+2028
// and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
