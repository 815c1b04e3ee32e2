package bellhop

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"
)

// CheckText refuses text that storage cannot hold or a person cannot read: a NUL character
// (PostgreSQL refuses it in text) or bytes that are not UTF-8, in any string v holds (struct
// fields, pointers, maps, lists). Each bad field is named by its JSON path, e.g. guest.name or
// templates.en, in one invalid_input error; nil means the text is fine.
func CheckText(v any) error {
	var errs []error
	checkText(reflect.ValueOf(v), "", &errs, 0)
	return JoinInvalid(errs...)
}

// CheckString is CheckText for one string: an invalid_input error naming field, or nil.
func CheckString(field, s string) error {
	if msg := textProblem(s); msg != "" {
		return Invalid(field, "%s", msg)
	}
	return nil
}

// textDepth bounds the walk: input types nest a few levels, never more.
const textDepth = 16

func checkText(v reflect.Value, path string, errs *[]error, depth int) {
	if !v.IsValid() || depth > textDepth {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			checkText(v.Elem(), path, errs, depth+1)
		}
	case reflect.String:
		if msg := textProblem(v.String()); msg != "" {
			*errs = append(*errs, Invalid(fieldName(path), "%s", msg))
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := jsonName(f)
			switch {
			case name == "-":
				continue
			case f.Anonymous && name == "":
				checkText(v.Field(i), path, errs, depth+1) // embedded: its fields are the parent's
				continue
			case name == "":
				name = f.Name
			}
			checkText(v.Field(i), join(path, name), errs, depth+1)
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			key := k.String()
			if msg := textProblem(key); msg != "" {
				*errs = append(*errs, Invalid(fieldName(path), "has a key that %s", strings.TrimPrefix(msg, "must ")))
				continue
			}
			checkText(v.MapIndex(k), join(path, key), errs, depth+1)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			checkText(v.Index(i), fmt.Sprintf("%s[%d]", path, i), errs, depth+1)
		}
	}
}

// textProblem says what is wrong with s for storage, or "".
func textProblem(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "must be UTF-8 text"
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain the NUL character (\\u0000)"
	}
	return ""
}

// jsonName is the name a struct field travels under in JSON: "" when its tag gives none,
// "-" when it never travels.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + Excerpt(name)
}

func fieldName(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// excerptLen is how much of a caller's input an answer or a log line repeats.
const excerptLen = 60

// Excerpt shortens a caller's input for repeating it in an answer or a log line: at most
// about 60 characters, cut with "…", with control characters and bytes that are not UTF-8
// replaced, so a huge or odd value is never echoed whole.
func Excerpt(s string) string {
	if len(s) <= excerptLen && utf8.ValidString(s) && !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if n == excerptLen {
			b.WriteString("…")
			break
		}
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			r = ' '
		case isControl(r):
			r = '\uFFFD'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }
