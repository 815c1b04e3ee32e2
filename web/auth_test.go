package web

import "testing"

func TestBearerScheme(t *testing.T) {
	tests := []struct {
		header, token string
		ok            bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true}, // RFC 7235: the scheme is case-insensitive
		{"BEARER abc", "abc", true},
		{"Bearer   abc  ", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic abc", "", false},
		{"Bearerabc", "", false},
		{"abc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		tok, ok := bearer(tt.header)
		if tok != tt.token || ok != tt.ok {
			t.Errorf("bearer(%q) = %q, %t; want %q, %t", tt.header, tok, ok, tt.token, tt.ok)
		}
	}
}
