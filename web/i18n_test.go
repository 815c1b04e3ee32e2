package web

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
)

func TestPageAcceptLanguage(t *testing.T) {
	for _, c := range []struct{ header, want string }{
		{"", "en"},
		{"ru", "ru"},
		{"ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"},
		{"en-US,en;q=0.9,ru;q=0.8", "en"},
		{"de-DE,de;q=0.9,ru;q=0.5", "ru"},
		{"de, fr", "en"},
		{"ru;q=0, en;q=0.1", "en"},
		{"RU-ru", "ru"},
	} {
		if got := acceptLanguage(c.header); got != c.want {
			t.Errorf("acceptLanguage(%q) = %q, want %q", c.header, got, c.want)
		}
	}
}

// Every text the pages show exists in every language: the keys the templates name, and the
// ones they build from statuses and kinds.
func TestPageCatalogComplete(t *testing.T) {
	en := slices.Sorted(maps.Keys(catalog["en"]))
	for _, lang := range pageLangs {
		if got := slices.Sorted(maps.Keys(catalog[lang])); !slices.Equal(got, en) {
			for _, k := range en {
				if _, ok := catalog[lang][k]; !ok {
					t.Errorf("%s lacks %q", lang, k)
				}
			}
			for _, k := range got {
				if _, ok := catalog["en"][k]; !ok {
					t.Errorf("%s has %q, which English lacks", lang, k)
				}
			}
		}
	}
	keys := map[string]bool{}
	used := regexp.MustCompile(`\bt \$?\.? ?"([a-z_.]+)"`)
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, path)
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 50 {
		t.Fatalf("found only %d keys in the templates; is the pattern right?", len(keys))
	}
	for _, s := range []bellhop.IntegrationStatus{bellhop.StatusUnverified, bellhop.StatusVerified, bellhop.StatusInvalid} {
		keys["status."+string(s)] = true
	}
	for _, k := range bellhop.Kinds() {
		keys["kind."+string(k)], keys["kind."+string(k)+".about"] = true, true
		keys["schedule.late_until_day."+string(k)] = true
	}
	for _, s := range bellhop.DeliveryStatuses() {
		keys["delivery."+string(s)] = true
	}
	keys["missing.verified_key"], keys["missing.sender"] = true, true
	for k := range keys {
		if _, ok := catalog["en"][k]; !ok {
			t.Errorf("the pages use %q, which the catalog lacks", k)
		}
	}
}

// Every key the Go code of the pages translates exists: a missing one would show its key.
func TestPageCatalogHasCodeKeys(t *testing.T) {
	used := regexp.MustCompile(`\btr\([^,()]+, "([a-z_.]+)"[,)]`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			n++
			if _, ok := catalog["en"][m[1]]; !ok {
				t.Errorf("%s translates %q, which the catalog lacks", f, m[1])
			}
		}
	}
	if n < 20 {
		t.Fatalf("found only %d keys in the code; is the pattern right?", n)
	}
}

func TestDurationWords(t *testing.T) {
	for _, c := range []struct {
		lang string
		d    time.Duration
		want string
	}{
		{"en", 300 * time.Second, "5\u00a0min"},
		{"ru", 300 * time.Second, "5\u00a0мин"},
		{"en", 12500 * time.Microsecond, "12.5\u00a0ms"},
		{"ru", 12500 * time.Microsecond, "12,5\u00a0мс"},
		{"en", 6 * time.Second, "6\u00a0s"},
		{"en", 90 * time.Second, "90\u00a0s"},
		{"en", 2 * time.Hour, "2\u00a0h"},
	} {
		if got := durationWords(c.lang, c.d); got != c.want {
			t.Errorf("durationWords(%s, %s) = %q, want %q", c.lang, c.d, got, c.want)
		}
	}
}
