package connector

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// sealVersion prefixes every sealed value so the scheme can change without guessing.
const sealVersion byte = 1

// Sealer seals secrets at rest with AES-256-GCM. The additional data binds a sealed value to
// its row (e.g. "prop-1/intellectdialog/api_key"), so a value copied to another row won't open.
type Sealer struct {
	aead cipher.AEAD
}

// ParseSecretKey decodes BELLHOP_SECRET_KEY: 32 bytes, base64 (standard) or hex.
func ParseSecretKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("BELLHOP_SECRET_KEY is not set: it must be 32 random bytes, base64 or hex encoded (e.g. `openssl rand -base64 32`)")
	}
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("BELLHOP_SECRET_KEY is neither base64 nor hex: it must be 32 random bytes, base64 or hex encoded")
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("BELLHOP_SECRET_KEY decodes to %d bytes, want 32 (e.g. `openssl rand -base64 32`)", len(b))
	}
	return b, nil
}

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("create cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("create GCM: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext bound to ad: version byte, nonce, ciphertext.
func (s *Sealer) Seal(plaintext, ad []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: read nonce: %w", err)
	}
	out := make([]byte, 0, 1+len(nonce)+len(plaintext)+s.aead.Overhead())
	out = append(out, sealVersion)
	out = append(out, nonce...)
	return s.aead.Seal(out, nonce, plaintext, ad), nil
}

// Open decrypts a value made by Seal with the same ad.
func (s *Sealer) Open(sealed, ad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, errors.New("open sealed value: malformed")
	}
	pt, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], ad)
	if err != nil {
		return nil, fmt.Errorf("open sealed value (wrong BELLHOP_SECRET_KEY?): %w", err)
	}
	return pt, nil
}
