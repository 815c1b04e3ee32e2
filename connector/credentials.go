package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
)

// How an integration keeps its kind's fields (provider.Kind.Fields):
//   - api_key, where the kind has one, sealed alone in SealedKey (as before there were other
//     kinds, so IntellectDialog rows read as they always did), with KeyHint;
//   - base_url in BaseURL;
//   - every other secret field in SealedCredentials, one sealed JSON object;
//   - every other field in Settings, in clear.
//
// Secrets are sealed with AES-GCM bound to the property, the kind and what they are.

// fieldAPIKey and fieldBaseURL are the fields with columns of their own.
const (
	fieldAPIKey  = "api_key"
	fieldBaseURL = "base_url"
)

// maxCredential bounds one field's value.
const maxCredential = 4096

// CredentialsInput is a PUT body: the kind's fields by name. Numbers and booleans are taken
// as their text (a port may come as 587 or "587").
type CredentialsInput map[string]string

// UnmarshalJSON reads a JSON object of strings, numbers, booleans and nulls (null: empty).
func (c *CredentialsInput) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return bellhop.Errorf(bellhop.EInvalid, "The body must be a JSON object of the channel's settings, e.g. {\"api_key\": \"…\"}.")
	}
	out := CredentialsInput{}
	var errs []error
	for name, v := range raw {
		v = bytes.TrimSpace(v)
		var s string
		switch {
		case len(v) == 0 || string(v) == "null":
		case v[0] == '"':
			if err := json.Unmarshal(v, &s); err != nil {
				errs = append(errs, bellhop.Invalid(name, "is not a valid JSON string"))
			}
		case string(v) == "true" || string(v) == "false":
			s = string(v)
		case json.Valid(v) && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')):
			s = string(v)
		default:
			errs = append(errs, bellhop.Invalid(name, "must be text or a number"))
		}
		out[name] = s
	}
	if err := bellhop.JoinInvalid(errs...); err != nil {
		return err
	}
	*c = out
	return nil
}

func keyAD(in *bellhop.Integration) []byte {
	return []byte(in.PropertyID + "/" + in.Provider + "/api_key")
}

func credentialsAD(in *bellhop.Integration) []byte {
	return []byte(in.PropertyID + "/" + in.Provider + "/credentials")
}

func webhookAD(in *bellhop.Integration) []byte {
	return []byte(in.PropertyID + "/" + in.Provider + "/webhook_secret")
}

// credentials returns the integration's stored fields, secrets unsealed (base_url apart).
func (s *Service) credentials(k *provider.Kind, in *bellhop.Integration) (provider.Credentials, error) {
	c := provider.Credentials{}
	maps.Copy(c, in.Settings)
	if len(in.SealedKey) > 0 {
		key, err := s.cfg.Sealer.Open(in.SealedKey, keyAD(in))
		if err != nil {
			return nil, fmt.Errorf("open API key of %s/%s: %w", in.PropertyID, in.Provider, err)
		}
		c[fieldAPIKey] = string(key)
	}
	if len(in.SealedCredentials) > 0 {
		b, err := s.cfg.Sealer.Open(in.SealedCredentials, credentialsAD(in))
		if err != nil {
			return nil, fmt.Errorf("open credentials of %s/%s: %w", in.PropertyID, in.Provider, err)
		}
		var secrets map[string]string
		if err := json.Unmarshal(b, &secrets); err != nil {
			return nil, fmt.Errorf("read credentials of %s/%s: %w", in.PropertyID, in.Provider, err)
		}
		maps.Copy(c, secrets)
	}
	// Only what the kind declares today: a field it dropped is not passed on.
	for name := range c {
		if _, ok := k.Field(name); !ok {
			delete(c, name)
		}
	}
	return c, nil
}

// store seals and keeps c on the integration.
func (s *Service) store(k *provider.Kind, in *bellhop.Integration, c provider.Credentials) error {
	settings := map[string]string{}
	secrets := map[string]string{}
	in.SealedKey, in.KeyHint = nil, ""
	for _, f := range k.Fields {
		v := c[f.Name]
		switch {
		case v == "" || f.Name == fieldBaseURL:
		case f.Name == fieldAPIKey && f.Secret:
			sealed, err := s.cfg.Sealer.Seal([]byte(v), keyAD(in))
			if err != nil {
				return err
			}
			in.SealedKey, in.KeyHint = sealed, hint(v)
		case f.Secret:
			secrets[f.Name] = v
			if in.KeyHint == "" {
				in.KeyHint = secretHint(v)
			}
		default:
			settings[f.Name] = v
		}
	}
	in.Settings, in.SealedCredentials = nil, nil
	if len(settings) > 0 {
		in.Settings = settings
	}
	if len(secrets) > 0 {
		b, err := json.Marshal(secrets)
		if err != nil {
			return err
		}
		if in.SealedCredentials, err = s.cfg.Sealer.Seal(b, credentialsAD(in)); err != nil {
			return err
		}
	}
	return nil
}

// hint shows the last four characters of a key, and nothing of a short one.
func hint(key string) string {
	if len(key) < 12 {
		return "…"
	}
	return "…" + key[len(key)-4:]
}

// secretHint is hint for any secret: the end of a long token, nothing of a password.
func secretHint(v string) string {
	if len(v) < 20 {
		return "…"
	}
	return hint(v)
}

// hints says which secret fields are set, with a hint of each (never a value).
func (s *Service) hints(k *provider.Kind, in *bellhop.Integration) map[string]string {
	out := map[string]string{}
	if len(in.SealedKey) > 0 {
		out[fieldAPIKey] = in.KeyHint
	}
	if len(in.SealedCredentials) > 0 {
		if c, err := s.credentials(k, in); err == nil {
			for _, f := range k.Fields {
				if f.Secret && f.Name != fieldAPIKey && c[f.Name] != "" {
					out[f.Name] = secretHint(c[f.Name])
				}
			}
		}
	}
	return out
}

// configured reports whether every required field of the kind is stored.
func configured(k *provider.Kind, in *bellhop.Integration) bool {
	any := false
	for _, f := range k.Fields {
		var set bool
		switch {
		case f.Name == fieldBaseURL:
			continue
		case f.Name == fieldAPIKey && f.Secret:
			set = len(in.SealedKey) > 0
		case f.Secret:
			set = len(in.SealedCredentials) > 0 // sealed only once every required one was given
		default:
			set = in.Settings[f.Name] != ""
		}
		if f.Required && !set {
			return false
		}
		any = any || set
	}
	return any
}

// primaryField is the credential a check proves first: the kind's first required secret
// field, else its first required one.
func primaryField(k *provider.Kind) provider.Field {
	for _, f := range k.Fields {
		if f.Secret && f.Required {
			return f
		}
	}
	for _, f := range k.Fields {
		if f.Required {
			return f
		}
	}
	return provider.Field{Name: fieldAPIKey, Label: "API key"}
}

// lowerLabel is a field's label inside a sentence ("access token"; "API key" stays).
func lowerLabel(f provider.Field) string {
	l := f.Label
	if l == "" {
		return f.Name
	}
	r, n := utf8.DecodeRuneInString(l)
	if len(l) > n {
		if r2, _ := utf8.DecodeRuneInString(l[n:]); unicode.IsUpper(r2) {
			return l // an acronym: API key, SMTP server
		}
	}
	return string(unicode.ToLower(r)) + l[n:]
}

// valueProblem says what is wrong with one field's value, or "".
func valueProblem(f provider.Field, v string) string {
	switch {
	case len(v) > maxCredential:
		return fmt.Sprintf("is longer than %d characters", maxCredential)
	case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
		return "is not valid text"
	case strings.ContainsFunc(v, unicode.IsControl):
		return "must not contain line breaks, tabs or other control characters"
	case f.Type == "number":
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			return "must be a whole number"
		}
	}
	return ""
}

// SetKey stores a new API key (and optionally base URL): SetCredentials with {api_key, base_url}.
func (s *Service) SetKey(ctx context.Context, pid, kindName string, input KeyInput) (*View, error) {
	c := CredentialsInput{fieldAPIKey: input.APIKey}
	if input.BaseURL != "" {
		c[fieldBaseURL] = input.BaseURL
	}
	return s.SetCredentials(ctx, pid, kindName, c)
}

// SetCredentials stores a kind's credentials and settings (its PUT body). Fields left out, and
// secrets sent empty, keep their stored values, so a manager who changes the sender's name
// need not type the password again. Unknown and missing fields are invalid_input naming each.
// A change makes the integration unverified and inactive until it is checked and activated
// again; the same values again change nothing.
func (s *Service) SetCredentials(ctx context.Context, pid, kindName string, input CredentialsInput) (*View, error) {
	k, in, err := s.loadOrEmpty(ctx, pid, kindName)
	if err != nil {
		return nil, err
	}
	given := provider.Credentials{}
	var errs []error
	for name, v := range input {
		v = strings.TrimSpace(v)
		given[name] = v
		f, known := k.Field(name)
		if !known || v == "" {
			continue
		}
		if msg := valueProblem(f, v); msg != "" {
			errs = append(errs, bellhop.Invalid(name, "%s", msg))
		}
		if name == fieldAPIKey {
			if err := bellhop.Validate(KeyInput{APIKey: v}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	current, err := s.credentials(k, in)
	if err != nil {
		return nil, err
	}
	merged := maps.Clone(current)
	for name, v := range given {
		if f, _ := k.Field(name); f.Secret && v == "" {
			continue // a secret left empty keeps its value
		}
		if _, ok := k.Field(name); ok && name == fieldBaseURL {
			continue // a column of its own
		}
		if v == "" {
			delete(merged, name)
		} else {
			merged[name] = v
		}
	}
	// Unknown fields, missing ones and malformed values, all named at once.
	if err := bellhop.JoinInvalid(append(errs, k.Validate(merged, false))...); err != nil {
		return nil, err
	}
	baseURL := in.BaseURL
	if u := given[fieldBaseURL]; u != "" {
		if err := bellhop.Validate(KeyInput{APIKey: "xxxx", BaseURL: u}); err != nil {
			return nil, err
		}
		if err := s.cfg.Addresses.CheckURL(u); err != nil {
			return nil, addressRefused(k, err)
		}
		baseURL = normaliseBaseURL(u)
	}
	// The kind's own rules (an email host, a WABA id of digits): opening a client says.
	cfg := s.config(in, merged)
	cfg.BaseURL = baseURL
	if _, err := k.Open(cfg); err != nil {
		if bellhop.ErrorCode(err) == bellhop.EInvalid {
			return nil, err
		}
		return nil, &bellhop.Error{Code: bellhop.EInvalid, Message: err.Error(), Err: err}
	}
	now := s.cfg.Clock.Now().UTC()
	if in.CreatedAt.IsZero() {
		in.CreatedAt = now
	}
	same := baseURL == in.BaseURL && maps.Equal(current, merged) && configured(k, in)
	if !same {
		if err := s.store(k, in, merged); err != nil {
			return nil, err
		}
		in.BaseURL = baseURL
		in.Status = bellhop.StatusUnverified
		in.StatusReason = ""
		in.CheckedAt = nil
		if in.Active {
			in.Active = false
			in.StatusReason = fmt.Sprintf("The %s changed: check it and activate the integration again.", changedWhat(k))
		}
	}
	if err := s.ensureWebhookSecret(in); err != nil {
		return nil, err
	}
	in.UpdatedAt = now
	if err := s.cfg.Store.SaveIntegration(ctx, in); err != nil {
		return nil, fmt.Errorf("save integration: %w", err)
	}
	s.cfg.Logger.InfoContext(ctx, "integration credentials saved", "property", pid, "provider", kindName, "key_hint", in.KeyHint, "changed", !same)
	return s.view(k, in), nil
}

// changedWhat names what a change of credentials changed, for the status reason.
func changedWhat(k *provider.Kind) string {
	if f := primaryField(k); f.Name == fieldAPIKey {
		return "API key"
	}
	return "credentials"
}

// config is the client configuration of an integration with credentials c.
func (s *Service) config(in *bellhop.Integration, c provider.Credentials) provider.Config {
	return provider.Config{BaseURL: in.BaseURL, APIKey: c[fieldAPIKey], Credentials: c, Zone: in.OrganizationZone,
		AllowPrivate: s.cfg.Addresses.AllowPrivate, Timeout: s.cfg.ProviderTimeout, HTTPClient: s.http,
		Logger: s.cfg.Logger.With("provider", in.Provider, "property", in.PropertyID), Clock: s.cfg.Clock}
}
