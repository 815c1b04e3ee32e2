package web

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
)

const lineOK = `{"id":"b1","arrival":"2026-12-03","departure":"2026-12-05","updated_at":"2026-11-21T10:00:00Z","guest":{"name":"Анна","phone":"+79123456789"}}`

func readAll(t *testing.T, r io.Reader, size int) ([]mailings.BatchLine, []int, error) {
	t.Helper()
	var all []mailings.BatchLine
	var sizes []int
	err := BookingLines(r, size, func(b []mailings.BatchLine) error {
		sizes = append(sizes, len(b))
		all = append(all, b...)
		return nil
	})
	return all, sizes, err
}

// TestBookingLinesRefuseBadLinesAlone: every kind of bad line is refused on its own, naming
// what is wrong, and keeps its line number; good lines around it are read.
func TestBookingLinesRefuseBadLinesAlone(t *testing.T) {
	long := `{"id":"b9","guest":{"name":"` + strings.Repeat("x", maxBookingBody) + `"}}`
	input := strings.Join([]string{
		lineOK,            // 1
		"",                // 2: blank, skipped
		"not json at all", // 3
		strings.Replace(lineOK, `"id":"b1"`, `"id":"b4","colour":"red"`, 1), // 4
		strings.Replace(lineOK, `"id":"b1"`, `"id":"b5"`, 1) + "\r",         // 5: CRLF
		strings.Replace(lineOK, "2026-12-03", "2026-13-03", 1),              // 6
		strings.Replace(lineOK, "2026-11-21T10:00:00Z", "yesterday", 1),     // 7
		strings.Replace(lineOK, "Анна", "An\\u0000na", 1),                   // 8
		strings.Replace(lineOK, "Анна", "An\xffna", 1),                      // 9
		long,               // 10
		`[` + lineOK + `]`, // 11
		`{"id":42}`,        // 12
		"   \t ",           // 13: blank
		strings.Replace(lineOK, `"id":"b1"`, `"id":"b14"`, 1), // 14, no line end
	}, "\n")
	got, _, err := readAll(t, strings.NewReader(input), 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		line  int
		id    string
		field string // "" for a good line; "-" for an error without a field
	}{
		{1, "b1", ""}, {3, "", "-"}, {4, "b4", "colour"}, {5, "b5", ""}, {6, "b1", "arrival"},
		{7, "b1", "updated_at"}, {8, "b1", "guest.name"}, {9, "b1", "guest.name"}, {10, "", "-"},
		{11, "", "-"}, {12, "", "id"}, {14, "b14", ""},
	}
	if len(got) != len(want) {
		for _, g := range got {
			t.Logf("line %d id %q err %v", g.Line, g.ID, g.Err)
		}
		t.Fatalf("%d lines read, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Line != w.line || g.ID != w.id {
			t.Errorf("line %d: got line %d id %q", w.line, g.Line, g.ID)
		}
		switch {
		case w.field == "" && (g.Err != nil || g.Booking == nil || g.Booking.ID != w.id):
			t.Errorf("line %d: a good booking was refused: %v", w.line, g.Err)
		case w.field == "-" && (g.Err == nil || bellhop.ErrorCode(g.Err) != bellhop.EInvalid):
			t.Errorf("line %d: error %v, want invalid_input", w.line, g.Err)
		case w.field != "" && w.field != "-" && !names(g.Err, w.field):
			t.Errorf("line %d: error %v does not name %s", w.line, g.Err, w.field)
		}
		if g.Err != nil && len(bellhop.ErrorMessage(g.Err)) > 300 {
			t.Errorf("line %d: the error repeats the input: %d bytes", w.line, len(bellhop.ErrorMessage(g.Err)))
		}
	}
}

func names(err error, field string) bool {
	var e *bellhop.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// TestBookingLinesBatches: lines are handed on in batches of the size asked, the last short.
func TestBookingLinesBatches(t *testing.T) {
	input := strings.Repeat(lineOK+"\n", 5)
	got, sizes, err := readAll(t, strings.NewReader(input), 2)
	if err != nil || len(got) != 5 || len(sizes) != 3 || sizes[0] != 2 || sizes[2] != 1 {
		t.Fatalf("got %d lines in batches %v (%v)", len(got), sizes, err)
	}
	stop := errors.New("stop")
	calls := 0
	err = BookingLines(strings.NewReader(input), 2, func([]mailings.BatchLine) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("an error from each did not stop the reading: %v after %d calls", err, calls)
	}
}

// TestArrayAsLines: a JSON array's items, however laid out, are numbered from 1 like lines;
// what is not an array is an error for the whole body.
func TestArrayAsLines(t *testing.T) {
	pretty := "[\n  " + strings.ReplaceAll(lineOK, `,"`, ",\n    \"") + ",\n  {\"id\": 7},\n" + strings.Replace(lineOK, "b1", "b3", 1) + "\n]\n"
	r := arrayAsLines(strings.NewReader(pretty))
	defer r.Close()
	got, _, err := readAll(t, r, 10)
	if err != nil || len(got) != 3 {
		t.Fatalf("%d items (%v)", len(got), err)
	}
	if got[0].Err != nil || got[1].Line != 2 || !names(got[1].Err, "id") || got[2].Booking == nil || got[2].Booking.ID != "b3" {
		t.Errorf("items = %+v", got)
	}
	for _, bad := range []string{`{"id":"b1"}`, `[` + lineOK, `[` + lineOK + `,]`, `[] []`, `"text"`} {
		r := arrayAsLines(strings.NewReader(bad))
		_, _, err := readAll(t, r, 10)
		r.Close()
		if bellhop.ErrorCode(err) != bellhop.EInvalid {
			t.Errorf("%q: error %v, want invalid_input for the body", bad, err)
		}
	}
}

// TestIDOfABrokenLine: a line that does not decode still says which booking it was.
func TestIDOfABrokenLine(t *testing.T) {
	for text, want := range map[string]string{
		`{"id":"b8","arrival":`: "b8", `{"name":"id","x":{"id":"no"},"id":"b9"`: "b9", `{"id":42}`: "", `[{"id":"a"}]`: "", `{"x":[1,`: "",
	} {
		if got := idOf([]byte(text)); got != want {
			t.Errorf("idOf(%s) = %q, want %q", text, got, want)
		}
	}
}

// TestStartsNDJSON: without a Content-Type, a body that opens with "[" is a JSON array.
func TestStartsNDJSON(t *testing.T) {
	for body, want := range map[string]bool{lineOK: true, " \n [" + lineOK + "]": false, "": true, "x": true} {
		if got := startsNDJSON(bufio.NewReader(strings.NewReader(body))); got != want {
			t.Errorf("startsNDJSON(%.20q) = %v", body, got)
		}
	}
}

// FuzzBookingLines: any input is read without a panic, each line at most once, in order.
func FuzzBookingLines(f *testing.F) {
	for _, s := range []string{lineOK, lineOK + "\n\n" + lineOK, "{\n}", "\r\n\r\n", `{"id":"` + "\x00" + `"}`, "[1,2]\n{", "\xff\xfe"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, _, err := readAll(t, bytes.NewReader(in), 3)
		if err != nil {
			t.Fatal(err)
		}
		last := 0
		for _, l := range got {
			if l.Line <= last || (l.Err == nil) == (l.Booking == nil) {
				t.Fatalf("line %+v after %d", l, last)
			}
			last = l.Line
		}
		if last > bytes.Count(in, []byte("\n"))+1 {
			t.Fatalf("line %d of %d lines", last, bytes.Count(in, []byte("\n"))+1)
		}
	})
}
