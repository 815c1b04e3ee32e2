package bellhop_test

import (
	"errors"
	"testing"

	"github.com/bellhop/bellhop"
)

func TestStopContact(t *testing.T) {
	good := map[string]string{
		"+7 912 345-67-89":        "79123456789",
		"79123456789":             "79123456789",
		"+44 (20) 7946.0958":      "442079460958",
		" Anna@Example.COM ":      "anna@example.com",
		"a.b+tag@sub.example.org": "a.b+tag@sub.example.org",
	}
	for in, want := range good {
		got, err := bellhop.StopContact(in)
		if err != nil || got != want {
			t.Errorf("StopContact(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "12345", "+1234567890123456", "0123456789", "7 912 +345", "call me",
		"anna@", "@example.com", "Anna <anna@example.com>", "an na@example.com", "anna\x00@example.com", "\xff@example.com"} {
		_, err := bellhop.StopContact(in)
		var e *bellhop.Error
		if !errors.As(err, &e) || bellhop.ErrorCode(err) != bellhop.EInvalid || len(e.Fields) == 0 || e.Fields[0].Field != "contact" {
			t.Errorf("StopContact(%q) = %v, want invalid_input naming contact", in, err)
		}
	}
}
