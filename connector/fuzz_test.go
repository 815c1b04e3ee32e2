package connector_test

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/connector"
)

// FuzzCredentialsInput: any body either decodes to text values or is refused as invalid
// input naming what it can; it never panics and never yields a value that is not text.
func FuzzCredentialsInput(f *testing.F) {
	for _, s := range []string{`{"api_key":"k"}`, `{"port":587,"security":"tls"}`, `{"x":null,"y":true}`, `{"a":[1]}`, `[]`, `{"a":"\u0000"}`, `{"a":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c connector.CredentialsInput
		err := json.Unmarshal(b, &c)
		if err != nil {
			if code := bellhop.ErrorCode(err); code != bellhop.EInvalid && code != bellhop.EInternal {
				t.Fatalf("error code %s", code)
			}
			return
		}
		for name, v := range c {
			if !utf8.ValidString(name) || !utf8.ValidString(v) {
				t.Fatalf("%q: %q is not text", name, v)
			}
		}
	})
}
