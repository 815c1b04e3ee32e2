package mailings

import (
	"errors"
	"strings"
	"unicode"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/memo"
	"github.com/nyaruka/phonenumbers"
)

// phoneField is where a guest's phone sits in a booking as the PMS sends it.
const phoneField = "guest.phone"

// minDigits: below it a phone is surely incomplete, whatever its country.
const minDigits = 5

// NormalizePhone returns raw as E.164 ("+79123456789"). country is the property's ISO 3166
// country, the region assumed for numbers written without a country code ("8 912 …" in RU);
// it may be empty. The number must be a valid one for its country, not merely well formed:
// a message to it would otherwise fail, or reach a stranger. Errors are invalid_input naming
// guest.phone.
func NormalizePhone(raw, country string) (string, error) {
	var err error
	e164 := phones.Get(phoneKey{raw, country}, func(k phoneKey) (string, bool) {
		var e164 string
		e164, err = normalizePhone(k.raw, k.country)
		return e164, err == nil
	})
	return e164, err
}

// phones remembers NormalizePhone's valid numbers: parsing one is most of a booking push's own
// work (phonenumbers' patterns), and a PMS pushes each stay again with every change.
var phones = memo.Map[phoneKey, string]{Limit: 20_000}

type phoneKey struct{ raw, country string }

func normalizePhone(raw, country string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", bellhop.Invalid(phoneField, "is required: the guest's mobile number, e.g. +7 912 345-67-89")
	}
	if len(s) > 64 {
		return "", bellhop.Invalid(phoneField, "is too long to be a phone number")
	}
	digits := 0
	for _, r := range s {
		if unicode.IsDigit(r) {
			digits++
		}
	}
	switch {
	case digits == 0:
		return "", bellhop.Invalid(phoneField, "%q is not a phone number", s)
	case digits < minDigits:
		return "", bellhop.Invalid(phoneField, "%q is too short to be a phone number", s)
	}
	region := strings.ToUpper(strings.TrimSpace(country))
	if region == "" {
		region = "ZZ" // no default: the number must carry its own country code
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		switch {
		case errors.Is(err, phonenumbers.ErrInvalidCountryCode) && !strings.HasPrefix(s, "+") && region == "ZZ":
			return "", bellhop.Invalid(phoneField, "%q has no country code; write it as +<country code> <number> (the property has no country to assume)", s)
		case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
			return "", bellhop.Invalid(phoneField, "%q does not start with a known country code", s)
		default:
			return "", bellhop.Invalid(phoneField, "%q is not a phone number", s)
		}
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", bellhop.Invalid(phoneField, "%q is not a valid phone number for its country; check the digits and the country code", s)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}
