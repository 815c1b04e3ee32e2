package bellhop_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bellhop/bellhop"
)

func TestCheckTextNamesTheJSONPath(t *testing.T) {
	type guest struct {
		Name string `json:"name"`
	}
	type input struct {
		Guest     guest             `json:"guest"`
		Note      *string           `json:"note,omitempty"`
		Templates map[string]string `json:"templates"`
		Tags      []string          `json:"tags"`
		Hidden    string            `json:"-"`
	}
	nul := "x\x00"
	in := input{
		Guest: guest{Name: "a\x00b"}, Note: &nul,
		Templates: map[string]string{"en": "ok", "ru": "\xff", "d\x00e": "ok"},
		Tags:      []string{"fine", "\xc3"}, Hidden: "\x00",
	}
	var e *bellhop.Error
	if err := bellhop.CheckText(&in); !errors.As(err, &e) || e.Code != bellhop.EInvalid {
		t.Fatalf("CheckText = %v, want invalid_input", err)
	}
	var got []string
	for _, f := range e.Fields {
		got = append(got, f.Field)
	}
	if want := "guest.name note templates templates.ru tags[1]"; strings.Join(got, " ") != want {
		t.Errorf("fields = %v, want %s (%s)", got, want, e.Message)
	}
	if err := bellhop.CheckText(input{Guest: guest{Name: "Анна 😀\t"}}); err != nil {
		t.Errorf("good text refused: %v", err)
	}
}

func TestExcerptKeepsEchoesShort(t *testing.T) {
	if got := bellhop.Excerpt("short"); got != "short" {
		t.Errorf("Excerpt(short) = %q", got)
	}
	long := strings.Repeat("я", 900_000)
	got := bellhop.Excerpt(long)
	if utf8.RuneCountInString(got) != 61 || !strings.HasSuffix(got, "…") {
		t.Errorf("Excerpt(900k runes) = %d runes %q", utf8.RuneCountInString(got), got)
	}
	if got := bellhop.Excerpt("a\x00b\xffc\nd"); got != "a\uFFFDb\uFFFDc d" {
		t.Errorf("Excerpt(control and stray bytes) = %q", got)
	}
}
