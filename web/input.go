package web

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bellhop/bellhop"
)

// How large a JSON body may be. Most are a few hundred bytes; a mailing's templates, one per
// language, are the only large ones.
const (
	maxJSONBody    = 64 << 10
	maxBookingBody = 64 << 10
	maxMailingBody = 1 << 20
)

// intParam reads a whole-number query parameter that must lie in [lo, hi]; absent is def.
func intParam(q url.Values, name string, lo, hi, def int) (int, error) {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, bellhop.Invalid(name, "must be a whole number from %d to %d", lo, hi)
	}
	return n, nil
}

// checkRequestText refuses an API request whose path or query holds a NUL character or bytes
// that are not UTF-8: no id or filter can hold them, and the database refuses them.
func checkRequestText(r *http.Request) error {
	if bellhop.CheckString("path", r.URL.Path) != nil {
		return bellhop.Errorf(bellhop.EInvalid, "The path must be UTF-8 text without NUL characters.")
	}
	q := r.URL.Query() // what the handlers will see; malformed pairs are dropped as they are there
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(q)) {
		if bellhop.CheckString("name", name) != nil {
			return bellhop.Errorf(bellhop.EInvalid, "The query's parameter names must be UTF-8 text without NUL characters.")
		}
		for _, v := range q[name] {
			if err := bellhop.CheckString(bellhop.Excerpt(name), v); err != nil {
				errs = append(errs, err)
				break
			}
		}
	}
	return bellhop.JoinInvalid(errs...)
}

// notUTF8 is the error for a body that is not UTF-8, naming the field whose text holds the
// first stray byte when the body is JSON enough to tell; nil when the body is UTF-8.
func notUTF8(body []byte) error {
	at := 0
	for at < len(body) {
		r, size := utf8.DecodeRune(body[at:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		at += size
	}
	if at == len(body) {
		return nil
	}
	field, key := jsonPathAt(body, int64(at))
	switch {
	case key:
		return bellhop.Invalid(cmp.Or(field, "body"), "has a member name that is not UTF-8 text")
	case field == "":
		return bellhop.Errorf(bellhop.EInvalid, "The body is not valid UTF-8 text; send it UTF-8 encoded.")
	}
	return bellhop.Invalid(field, "must be UTF-8 text; it holds bytes that are not")
}

// jsonPathAt returns the JSON path (guest.name, templates.en, list[2]) of the token of body
// that holds byte offset at; key is true when that token is a member's name, path then being
// the object's. It returns "" when body is not JSON up to there.
func jsonPathAt(body []byte, at int64) (path string, key bool) {
	type frame struct {
		object, wantKey bool
		name            string
		index           int
	}
	var stack []*frame
	pathOf := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.object {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(bellhop.Excerpt(f.name))
			} else {
				fmt.Fprintf(&b, "[%d]", f.index)
			}
		}
		return b.String()
	}
	// valueDone moves the enclosing container past the value just read.
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		if top := stack[len(stack)-1]; top.object {
			top.wantKey = true
		} else {
			top.index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		end := dec.InputOffset()
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		if top != nil && top.object && top.wantKey {
			name, _ := tok.(string)
			if end > at {
				stack = stack[:len(stack)-1]
				return pathOf(), true
			}
			top.name, top.wantKey = name, false
			continue
		}
		if end > at {
			return pathOf(), false
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		default:
			valueDone()
		}
	}
}

// failingField finds the member of body that does not decode into a t, for errors that
// encoding/json does not place (a time.Time's own parse error): its JSON path and Go type.
func failingField(body []byte, t reflect.Type) (string, reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return "", nil
	}
	fails := func(raw json.RawMessage, ft reflect.Type) bool {
		return json.Unmarshal(raw, reflect.New(ft).Interface()) != nil
	}
	deeper := func(name string, raw json.RawMessage, ft reflect.Type) (string, reflect.Type) {
		if sub, st := failingField(raw, ft); sub != "" {
			return name + "." + sub, st
		}
		return name, ft
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				// An embedded struct's fields are the object's own members.
				if sub, st := failingField(body, f.Type); sub != "" {
					return sub, st
				}
				continue
			}
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			raw, ok := member(obj, name)
			if ok && fails(raw, f.Type) {
				return deeper(name, raw, f.Type)
			}
		}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return "", nil
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if fails(obj[k], t.Elem()) {
				return deeper(bellhop.Excerpt(k), obj[k], t.Elem())
			}
		}
	}
	return "", nil
}

// member finds an object's member as encoding/json does: the exact name, else any case.
func member(obj map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if raw, ok := obj[name]; ok {
		return raw, true
	}
	for k, raw := range obj {
		if strings.EqualFold(k, name) {
			return raw, true
		}
	}
	return nil, false
}

// invalidAs says what a field of Go type t must be, in the caller's words.
func invalidAs(field string, t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[bellhop.Date]():
		return bellhop.Invalid(field, "must be a date such as 2026-12-03")
	case reflect.TypeFor[time.Time]():
		return bellhop.Invalid(field, "must be a time such as 2026-11-21T10:00:00Z")
	case nil:
		return bellhop.Invalid(field, "is not valid")
	}
	return bellhop.Invalid(field, "must be a %s", jsonKind(t.Kind().String()))
}
