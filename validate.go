package bellhop

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
	"golang.org/x/text/language"
)

var (
	validateOnce sync.Once
	validate     *validator.Validate
	identRE      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)
)

func validatorInstance() *validator.Validate {
	validateOnce.Do(func() {
		v := validator.New(validator.WithRequiredStructEnabled())
		// Field names in messages are the JSON names the caller sent.
		v.RegisterTagNameFunc(func(f reflect.StructField) string {
			name := strings.SplitN(f.Tag.Get("json"), ",", 2)[0]
			if name == "-" {
				return ""
			}
			if name == "" {
				return f.Name
			}
			return name
		})
		_ = v.RegisterValidation("ident", func(fl validator.FieldLevel) bool {
			return identRE.MatchString(fl.Field().String())
		})
		_ = v.RegisterValidation("language", func(fl validator.FieldLevel) bool {
			s := fl.Field().String()
			if len(s) < 2 || len(s) > 35 {
				return false
			}
			_, err := language.Parse(s)
			return err == nil
		})
		validate = v
	})
	return validate
}

// Validate checks v's `validate` struct tags and its text (CheckText) and returns an
// invalid_input *Error whose fields say, in plain words, what is wrong with each bad field.
func Validate(v any) error {
	textErr := CheckText(v)
	err := validatorInstance().Struct(v)
	if err == nil {
		return textErr
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return fmt.Errorf("validate %T: %w", v, err)
	}
	out := &Error{Code: EInvalid}
	var msgs []string
	if e, ok := textErr.(*Error); ok {
		out.Fields = append(out.Fields, e.Fields...)
		msgs = append(msgs, e.Message)
	}
	for _, fe := range verrs {
		field := fieldPath(fe)
		if slices.ContainsFunc(out.Fields, func(f FieldError) bool { return f.Field == field }) {
			continue // a NUL or a stray byte is what to fix first, and says it better
		}
		m := fieldMessage(fe)
		out.Fields = append(out.Fields, FieldError{Field: field, Message: m})
		msgs = append(msgs, field+": "+m)
	}
	out.Message = strings.Join(msgs, "; ")
	return out
}

// fieldPath drops the struct name from "Property.time_zone".
func fieldPath(fe validator.FieldError) string {
	ns := fe.Namespace()
	if i := strings.Index(ns, "."); i >= 0 {
		return ns[i+1:]
	}
	return ns
}

func fieldMessage(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "max":
		return fmt.Sprintf("must be at most %s characters", fe.Param())
	case "min":
		return fmt.Sprintf("must be at least %s characters", fe.Param())
	case "timezone":
		return "must be an IANA time zone such as Europe/Moscow"
	case "iso3166_1_alpha2":
		return "must be a two-letter country code such as RU"
	case "language":
		return "must be a language code such as en or ru"
	case "ident":
		return "may hold only letters, digits and . _ : - and must start with a letter or digit"
	case "email":
		return "must be an email address"
	case "url", "http_url":
		return "must be an http(s) URL"
	case "oneof":
		return "must be one of: " + fe.Param()
	default:
		return "is not valid (" + fe.Tag() + ")"
	}
}
