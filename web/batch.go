package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
)

// maxBatchBody bounds a bulk intake's body: MaxBatch bookings of a few hundred bytes each
// with room to spare. One booking (one line) keeps the single PUT's limit.
const maxBatchBody = 32 << 20

// batchBooking is one booking of a bulk intake: its id and the single PUT's fields.
type batchBooking struct {
	ID string `json:"id"`
	mailings.BookingInput
}

// BookingLines reads bookings as NDJSON — one JSON object a line, blank lines skipped — from
// r, and hands them to each in batches of at most size, numbered by their line. A line that is
// not a booking (not JSON, an unknown field, a bad date, longer than a single PUT's body) is
// passed on with its error, to be refused on its own. It returns each's error, or r's.
func BookingLines(r io.Reader, size int, each func([]mailings.BatchLine) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	batch := make([]mailings.BatchLine, 0, size)
	var (
		line    []byte
		tooLong bool
		err     error
	)
	for n := 1; ; n++ {
		line, tooLong, err = readLine(br, line[:0], maxBookingBody)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if text := bytes.TrimSpace(line); len(text) > 0 || tooLong {
			l := mailings.BatchLine{Line: n}
			if tooLong {
				l.Err = bellhop.Errorf(bellhop.EInvalid, "The line is longer than %s, the most one booking takes.", sizeWords(maxBookingBody))
			} else {
				l = bookingLine(n, text)
			}
			batch = append(batch, l)
		}
		if len(batch) == size || (errors.Is(err, io.EOF) && len(batch) > 0) {
			if err := each(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// readLine appends the next line of br to buf, without its line end, keeping at most max
// bytes: tooLong says the rest was skipped. err is io.EOF at the end of the input.
func readLine(br *bufio.Reader, buf []byte, max int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > max+2 { // room for "\r\n"
				tooLong, buf = true, buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == nil:
			return bytes.TrimRight(buf, "\r\n"), tooLong, nil
		case errors.Is(err, io.EOF) && len(buf) == 0 && !tooLong && len(chunk) == 0:
			return nil, false, io.EOF
		case errors.Is(err, io.EOF):
			return bytes.TrimRight(buf, "\r\n"), tooLong, io.EOF
		default:
			return nil, false, err
		}
	}
}

// bookingLine decodes one booking as the single PUT decodes its body; a line that does not
// decode keeps the id it seems to have, for the caller's report.
func bookingLine(n int, text []byte) mailings.BatchLine {
	var in batchBooking
	if err := decodeJSON(text, &in); err != nil {
		return mailings.BatchLine{Line: n, ID: bellhop.Excerpt(idOf(text)), Err: unembedded(err)}
	}
	return mailings.BatchLine{Line: n, ID: bellhop.Excerpt(in.ID), Booking: in.Booking(in.ID)}
}

// idOf finds the "id" of a line that does not decode, as far as it reads, so that a report
// can say which booking the line was: {"id":"b8","arrival": is b8.
func idOf(text []byte) string {
	dec := json.NewDecoder(bytes.NewReader(text))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return ""
		}
		if key == "id" {
			v, _ := dec.Token()
			s, _ := v.(string)
			return s
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}

// unembedded names a field as the line has it: encoding/json puts the embedded struct's Go
// name in front ("BookingInput.arrival").
func unembedded(err error) error {
	const prefix = "BookingInput."
	var e *bellhop.Error
	if !errors.As(err, &e) || !strings.Contains(e.Message, prefix) {
		return err
	}
	c := *e
	c.Message = strings.ReplaceAll(c.Message, prefix, "")
	c.Fields = slices.Clone(c.Fields)
	for i := range c.Fields {
		c.Fields[i].Field = strings.TrimPrefix(c.Fields[i].Field, prefix)
	}
	return &c
}

// batchAnswer is what a bulk intake answers: every line's outcome and their counts.
type batchAnswer struct {
	Counts  map[mailings.LineStatus]int `json:"counts"`
	Results []mailings.LineResult       `json:"results"`
}

// handleBatchBookings is the bulk intake: NDJSON (application/x-ndjson) or a JSON array of
// bookings, each with its id, taken as the single PUT takes one.
func (s *Server) handleBatchBookings(w http.ResponseWriter, r *http.Request) {
	p, err := s.property(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	br := bufio.NewReaderSize(http.MaxBytesReader(w, r.Body, maxBatchBody), 64<<10)
	ndjson, err := batchFormat(r, br)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body io.Reader = br
	if !ndjson {
		array := arrayAsLines(br)
		defer array.Close() // ends its reading when the lines stop early
		body = array
	}
	var lines []mailings.BatchLine
	err = BookingLines(body, mailings.MaxBatch+1, func(batch []mailings.BatchLine) error {
		if len(lines)+len(batch) > mailings.MaxBatch {
			return bellhop.Errorf(bellhop.ETooLarge, "At most %d bookings go in one request; split the rest into further requests.", mailings.MaxBatch)
		}
		lines = append(lines, batch...)
		return nil
	})
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		err = bellhop.Errorf(bellhop.ETooLarge, "The body is too large: one request takes at most %s; split it.", sizeWords(tooBig.Limit))
	case err == nil && len(lines) == 0:
		err = bellhop.Errorf(bellhop.EInvalid, "The body holds no bookings: send one JSON object a line (NDJSON) or a JSON array of them.")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.cfg.Mailings.PutBookings(r.Context(), p.ID, lines)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, batchAnswer{Counts: mailings.Tally(res), Results: res})
}

// batchFormat says whether the body is NDJSON (else a JSON array) by its Content-Type, or
// without one by its first character (startsNDJSON).
func batchFormat(r *http.Request, body *bufio.Reader) (ndjson bool, err error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return startsNDJSON(body), nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
	case mt == "application/x-ndjson" || mt == "application/ndjson" || mt == "application/jsonl":
		return true, nil
	case mt == "application/json":
		return false, nil
	}
	return false, bellhop.Errorf(bellhop.EInvalid, "The body must be NDJSON (Content-Type: application/x-ndjson) or a JSON array (application/json), not %s.", bellhop.Excerpt(ct))
}

// startsNDJSON reports whether a body sent without a Content-Type is NDJSON: its first
// character other than white space is not the "[" of a JSON array.
func startsNDJSON(br *bufio.Reader) bool {
	for n := 1; ; n++ {
		b, err := br.Peek(n)
		if err != nil || n > 4096 {
			return true
		}
		switch b[n-1] {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b[n-1] != '['
	}
}

// arrayAsLines reads a JSON array of objects and writes its items as NDJSON, one a line, so
// that both forms are read by BookingLines and numbered alike (an item's "line" is its place
// in the array, from 1). What is not a JSON array ends the body with an error.
func arrayAsLines(r io.Reader) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		dec := json.NewDecoder(r)
		fail := func(err error) {
			var syn *json.SyntaxError
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
			case errors.As(err, &syn):
				err = bellhop.Errorf(bellhop.EInvalid, "The body is not a valid JSON array (at byte %d).", syn.Offset)
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				err = bellhop.Errorf(bellhop.EInvalid, "The body is not a valid JSON array (it ends too early).")
			}
			pw.CloseWithError(err)
		}
		if tok, err := dec.Token(); err != nil {
			fail(err)
			return
		} else if tok != json.Delim('[') {
			pw.CloseWithError(bellhop.Errorf(bellhop.EInvalid, "The body must be a JSON array of bookings (or NDJSON with Content-Type: application/x-ndjson)."))
			return
		}
		w := bufio.NewWriter(pw)
		for dec.More() {
			var item json.RawMessage
			if err := dec.Decode(&item); err != nil {
				fail(err)
				return
			}
			// One item, one line: compact it (a string's newlines are escaped in JSON already).
			var c bytes.Buffer
			if err := json.Compact(&c, item); err != nil {
				fail(err)
				return
			}
			c.WriteByte('\n')
			if _, err := w.Write(c.Bytes()); err != nil {
				return // the reader gave up
			}
		}
		if _, err := dec.Token(); err != nil {
			fail(err)
			return
		}
		if _, err := dec.Token(); err != io.EOF {
			pw.CloseWithError(bellhop.Errorf(bellhop.EInvalid, "The body must hold one JSON array only."))
			return
		}
		_ = w.Flush()
		pw.Close()
	}()
	return pr
}
