package email

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
)

// Unsubscribe tokens go in the List-Unsubscribe URL of each message: the link itself says which
// property's mail the guest leaves and for which address, signed so that nobody can unsubscribe
// someone else. They do not expire: an unsubscribe link in an old email must keep working
// (RFC 8058 asks the sender to honour it). They are not secret: the address is only encoded,
// and the link goes to that address alone.
//
// A token is base64url(payload) "." base64url(HMAC-SHA256(secret, label || payload)), where the
// payload is a version byte, the property id's length (uvarint), the property id and the email.

const (
	tokenVersion = 1
	tokenLabel   = "bellhop email unsubscribe\x00"
	// MinSecret is the shortest secret the tokens accept (BELLHOP_SECRET_KEY is 32 bytes).
	MinSecret = 16
	maxToken  = 2048
)

// Strict: one token, one spelling (no second form that differs in unused bits).
var b64url = base64.RawURLEncoding.Strict()

// UnsubscribeToken returns the URL-safe token for email at property propertyID, signed with
// secret. It returns "" when secret is shorter than MinSecret (no token is better than a
// guessable one) or the email is empty.
func UnsubscribeToken(secret []byte, propertyID, email string) string {
	if len(secret) < MinSecret || email == "" {
		return ""
	}
	payload := make([]byte, 0, 1+binary.MaxVarintLen64+len(propertyID)+len(email))
	payload = append(payload, tokenVersion)
	payload = binary.AppendUvarint(payload, uint64(len(propertyID)))
	payload = append(payload, propertyID...)
	payload = append(payload, email...)
	return b64url.EncodeToString(payload) + "." + b64url.EncodeToString(tokenMAC(secret, payload))
}

// VerifyUnsubscribe checks a token from UnsubscribeToken and returns what it names. ok is false
// for a token that was changed, signed with another secret, or is not one.
func VerifyUnsubscribe(secret []byte, token string) (propertyID, email string, ok bool) {
	if len(secret) < MinSecret || len(token) > maxToken {
		return "", "", false
	}
	encPayload, encMAC, found := strings.Cut(token, ".")
	if !found {
		return "", "", false
	}
	payload, err1 := b64url.DecodeString(encPayload)
	mac, err2 := b64url.DecodeString(encMAC)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, tokenMAC(secret, payload)) {
		return "", "", false
	}
	// Signed by us: the payload has our shape unless the version changed.
	if len(payload) < 2 || payload[0] != tokenVersion {
		return "", "", false
	}
	n, w := binary.Uvarint(payload[1:])
	rest := payload[1:]
	if w <= 0 || n > uint64(len(rest)-w) {
		return "", "", false
	}
	rest = rest[w:]
	propertyID, email = string(rest[:n]), string(rest[n:])
	if email == "" {
		return "", "", false
	}
	return propertyID, email, true
}

func tokenMAC(secret, payload []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(tokenLabel))
	h.Write(payload)
	return h.Sum(nil)
}

// Links makes and reads the unsubscribe links of one Bellhop: its public URL and a key of its
// own, derived from BELLHOP_SECRET_KEY with HKDF, so the tokens' key is not the key that
// seals secrets at rest. The key is never logged.
type Links struct {
	base string
	key  []byte
}

// linksInfo names the HKDF derivation: another use of the secret key derives another key.
const linksInfo = "bellhop email unsubscribe links v1"

// NewLinks returns the links for the public URL (BELLHOP_PUBLIC_URL, e.g.
// https://bellhop.example.com) and the 32-byte secret key.
func NewLinks(publicURL string, secretKey []byte) (*Links, error) {
	if len(secretKey) < MinSecret {
		return nil, fmt.Errorf("unsubscribe links: the secret key is %d bytes, want at least %d", len(secretKey), MinSecret)
	}
	u, err := url.Parse(strings.TrimSpace(publicURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("unsubscribe links: %q is not an http(s) URL such as https://bellhop.example.com", publicURL)
	}
	key, err := hkdf.Key(sha256.New, secretKey, nil, linksInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("unsubscribe links: derive the key: %w", err)
	}
	return &Links{base: strings.TrimRight(u.String(), "/"), key: key}, nil
}

// URL is the one-click unsubscribe link (RFC 8058) for address at property pid. lang, when
// set, is the guest's language for the page ("en", "ru"): a hint outside the signature, since
// showing the page in another language harms nobody.
func (l *Links) URL(pid, address, lang string) string {
	tok := UnsubscribeToken(l.key, pid, strings.ToLower(strings.TrimSpace(address)))
	if tok == "" {
		return ""
	}
	u := l.base + "/unsubscribe/" + tok
	if lang = strings.TrimSpace(lang); lang != "" {
		u += "?lang=" + url.QueryEscape(lang)
	}
	return u
}

// Verify reads a token from a link made by URL: ok is false for one changed or not ours.
func (l *Links) Verify(token string) (pid, address string, ok bool) {
	return VerifyUnsubscribe(l.key, token)
}
