package mailings_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/mailings"
)

func TestNormalizePhoneVectors(t *testing.T) {
	for _, row := range readTSV(t, "testdata/phones.tsv") {
		t.Run(row["input"]+"/"+row["country"], func(t *testing.T) {
			got, err := mailings.NormalizePhone(row["input"], row["country"])
			if row["expected"] == "invalid" {
				assertInvalidField(t, err, "guest.phone")
				if got != "" {
					t.Errorf("%s: got %q alongside the error", row["line"], got)
				}
				return
			}
			if err != nil || got != row["expected"] {
				t.Errorf("%s: NormalizePhone(%q, %q) = %q, %v; want %s", row["line"], row["input"], row["country"], got, err, row["expected"])
			}
		})
	}
}

func TestNormalizePhoneExplains(t *testing.T) {
	tests := []struct{ raw, country, says string }{
		{"", "RU", "required"},
		{"0151 23456789", "", "country code"},
		{"12", "", "too short"},
		{"+7 000 000 00 00", "", "not a valid phone number"},
		{"call the desk", "", "not a phone number"},
	}
	for _, tt := range tests {
		_, err := mailings.NormalizePhone(tt.raw, tt.country)
		if err == nil || !strings.Contains(bellhop.ErrorMessage(err), tt.says) {
			t.Errorf("NormalizePhone(%q, %q) = %v, want a message saying %q", tt.raw, tt.country, err, tt.says)
		}
	}
}

// assertInvalidField fails unless err is invalid_input naming field.
func assertInvalidField(t *testing.T, err error, field string) *bellhop.Error {
	t.Helper()
	var e *bellhop.Error
	if !errors.As(err, &e) || e.Code != bellhop.EInvalid {
		t.Fatalf("err = %v, want invalid_input naming %s", err, field)
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return e
		}
	}
	t.Fatalf("err fields = %+v, want %s", e.Fields, field)
	return nil
}

// A remembered answer belongs to the number and the country together: the same national
// number is refused without a country and taken with one, in either order, every time.
func TestNormalizePhoneRemembersPerCountry(t *testing.T) {
	const national = "8 912 345-67-89"
	for range 2 {
		if _, err := mailings.NormalizePhone(national, ""); err == nil {
			t.Fatalf("%q without a country was taken", national)
		}
		got, err := mailings.NormalizePhone(national, "RU")
		if err != nil || got != "+79123456789" {
			t.Fatalf("%q in RU = %q, %v; want +79123456789", national, got, err)
		}
	}
}

// A refused number is refused again with its own words each time (errors are not remembered).
func TestNormalizePhoneRefusesAgain(t *testing.T) {
	for range 2 {
		if _, err := mailings.NormalizePhone("12", "RU"); err == nil || !strings.Contains(err.Error(), "too short") {
			t.Fatalf("\"12\" gave %v, want a too-short refusal", err)
		}
	}
}
