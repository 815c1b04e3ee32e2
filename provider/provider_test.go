package provider

import "testing"

func TestTemplateParamsAndFill(t *testing.T) {
	for _, c := range []struct {
		body   string
		values []string
		takes  int
		want   string
	}{
		{"Hello {{1}}! See you at {{2}} on {{3}}.", []string{"Anna", "Aurora", "3 December"}, 3, "Hello Anna! See you at Aurora on 3 December."},
		{"Hello {{1}}! See you at {{2}} on {{3}}.", []string{"Anna"}, 3, "Hello Anna! See you at {{2}} on {{3}}."},
		{"{{2}} and {{ 1 }}", []string{"a", "b"}, 2, "b and a"},
		{"No parameters.", []string{"x"}, 0, "No parameters."},
		{"{{0}} is not one", nil, 0, "{{0}} is not one"},
	} {
		if got := TemplateParams(c.body); got != c.takes {
			t.Errorf("TemplateParams(%q) = %d, want %d", c.body, got, c.takes)
		}
		if got := FillTemplate(c.body, c.values); got != c.want {
			t.Errorf("FillTemplate(%q, %q) = %q, want %q", c.body, c.values, got, c.want)
		}
	}
}
