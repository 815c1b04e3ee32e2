package connector

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestParseSecretKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xab}, 32)
	tests := []struct {
		name, in string
		wantErr  string
	}{
		{"base64", base64.StdEncoding.EncodeToString(raw), ""},
		{"hex", hex.EncodeToString(raw), ""},
		{"base64 with newline", base64.StdEncoding.EncodeToString(raw) + "\n", ""},
		{"empty", "", "not set"},
		{"short", base64.StdEncoding.EncodeToString(raw[:16]), "16 bytes, want 32"},
		{"garbage", "not a key!", "neither base64 nor hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParseSecretKey(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSecretKey(%q) error = %v, want it to mention %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(key, raw) {
				t.Fatalf("ParseSecretKey(%q) = %x, %v; want %x", tt.in, key, err, raw)
			}
		})
	}
}

func TestSealerRoundTripAndBinding(t *testing.T) {
	s, err := NewSealer(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("live-key-0123456789")
	sealed, err := s.Seal(secret, []byte("p1/intellectdialog/api_key"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value contains the plaintext")
	}
	again, _ := s.Seal(secret, []byte("p1/intellectdialog/api_key"))
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
	got, err := s.Open(sealed, []byte("p1/intellectdialog/api_key"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v; want %q", got, err, secret)
	}
	if _, err := s.Open(sealed, []byte("p2/intellectdialog/api_key")); err == nil {
		t.Fatal("a value sealed for p1 opened as p2's")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := s.Open(tampered, []byte("p1/intellectdialog/api_key")); err == nil {
		t.Fatal("a tampered value opened")
	}
	other, _ := NewSealer(bytes.Repeat([]byte{2}, 32))
	if _, err := other.Open(sealed, []byte("p1/intellectdialog/api_key")); err == nil {
		t.Fatal("a value opened under another key")
	}
	if _, err := s.Open([]byte{1, 2, 3}, nil); err == nil {
		t.Fatal("a malformed value opened")
	}
}

func TestHintShowsOnlyTheEnd(t *testing.T) {
	if h := hint("abcdefghijkl9f3a"); h != "…9f3a" {
		t.Fatalf("hint = %q, want …9f3a", h)
	}
	if h := hint("short-key"); h != "…" {
		t.Fatalf("hint of a short key = %q, want … alone", h)
	}
}
