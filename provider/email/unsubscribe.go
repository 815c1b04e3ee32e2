package email

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
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
