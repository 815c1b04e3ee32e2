// Package connector manages a property's integrations with messaging providers: the sealed API
// key and its check against the provider, the choice of sender, and activation.
package connector

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/safehttp"
)

// Store is the storage the connector needs.
type Store interface {
	GetProperty(ctx context.Context, id string) (*bellhop.Property, error)
	GetIntegration(ctx context.Context, pid, provider string) (*bellhop.Integration, error)
	SaveIntegration(ctx context.Context, in *bellhop.Integration) error
	ListIntegrations(ctx context.Context, pid string) ([]*bellhop.Integration, error)
	NoteUnreadableCallback(ctx context.Context, pid, provider, body string, at time.Time) error
}

// Kind is one provider kind Bellhop can talk to.
type Kind struct {
	Name           string // e.g. "intellectdialog"
	Title          string // e.g. "IntellectDialog", for messages people read
	DefaultBaseURL string
	New            func(provider.Config) (provider.Provider, error)
	// ParseEvents reads one of the provider's webhook callbacks (one or several events);
	// zone is the account's time zone as the provider names it ("" when unknown).
	ParseEvents func(body []byte, zone string) ([]provider.StatusEvent, error)
}

// ActivateHook runs after an integration is activated and saved (e.g. to create mailings).
type ActivateHook func(ctx context.Context, in *bellhop.Integration) error

// Config wires a Service. Zero values mean defaults where one is given.
type Config struct {
	Store  Store
	Kinds  map[string]Kind
	Sealer *Sealer
	Clock  bellhop.Clock // default: system clock
	Logger *slog.Logger  // default: slog.Default()
	// ProviderTimeout bounds each provider request; default 10 s.
	ProviderTimeout time.Duration
	// PublicURL is Bellhop's own base URL as the provider reaches it; when set, activation
	// registers the provider's webhook at PublicURL/webhooks/{provider}/{pid}.
	PublicURL string
	// OnActivate hooks run after activation, in order.
	OnActivate []ActivateHook
	// Addresses says which provider addresses (base_url) may be saved and called; the zero
	// value allows https to public hosts only (BELLHOP_ALLOW_PRIVATE_PROVIDERS allows more).
	Addresses safehttp.Policy
}

// Service is the integration manager.
type Service struct {
	cfg Config
	// http reaches providers: Addresses checked again at connect time, redirects within the
	// origin only. One for all clients, so they share its connection pool.
	http *http.Client
}

// New validates cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("connector: Store is required")
	}
	if cfg.Sealer == nil {
		return nil, errors.New("connector: Sealer is required")
	}
	if len(cfg.Kinds) == 0 {
		return nil, errors.New("connector: at least one provider Kind is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = bellhop.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ProviderTimeout <= 0 {
		cfg.ProviderTimeout = 10 * time.Second
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Service{cfg: cfg, http: cfg.Addresses.Client()}, nil
}

// View is an integration as the API shows it: the stored state plus what a person needs to
// act on it. It holds no secret.
type View struct {
	*bellhop.Integration
	Configured bool `json:"configured"`
	// Missing lists what activation still needs: "verified_key", "sender".
	Missing []string `json:"missing"`
	// PreviousWebhook is the webhook activation replaced on the provider account (query
	// values hidden); WebhookMode says whether callbacks are forwarded to it.
	PreviousWebhook string `json:"previous_webhook,omitempty"`
}

func (s *Service) view(in *bellhop.Integration) *View {
	v := &View{Integration: in, Configured: len(in.SealedKey) > 0, Missing: missing(in), PreviousWebhook: s.PreviousWebhookURL(in)}
	return v
}

func missing(in *bellhop.Integration) []string {
	m := []string{}
	if in.Status != bellhop.StatusVerified {
		m = append(m, "verified_key")
	}
	if in.Sender == nil {
		m = append(m, "sender")
	}
	return m
}

// kind returns the provider kind or a not_found error listing the known ones.
func (s *Service) kind(name string) (Kind, error) {
	k, ok := s.cfg.Kinds[name]
	if !ok {
		names := make([]string, 0, len(s.cfg.Kinds))
		for n := range s.cfg.Kinds {
			names = append(names, n)
		}
		sort.Strings(names)
		return Kind{}, bellhop.Errorf(bellhop.ENotFound, "Unknown provider %q; Bellhop knows: %s.", name, strings.Join(names, ", "))
	}
	return k, nil
}

// property loads the property and checks its subscription includes the contact center.
func (s *Service) property(ctx context.Context, pid string) (*bellhop.Property, error) {
	p, err := s.cfg.Store.GetProperty(ctx, pid)
	if err != nil {
		return nil, err
	}
	if !p.ContactCenter {
		return nil, bellhop.Errorf(bellhop.ESubscriptionRequired,
			"Integrations need the Contact Center module, which this property's subscription does not include. Ask your account manager to add it.")
	}
	return p, nil
}

// load returns the property's integration of a kind, which must exist.
func (s *Service) load(ctx context.Context, pid, kindName string) (Kind, *bellhop.Integration, error) {
	k, err := s.kind(kindName)
	if err != nil {
		return Kind{}, nil, err
	}
	if _, err := s.property(ctx, pid); err != nil {
		return Kind{}, nil, err
	}
	in, err := s.cfg.Store.GetIntegration(ctx, pid, kindName)
	if bellhop.IsNotFound(err) {
		return k, nil, bellhop.Errorf(bellhop.ENotFound, "%s is not connected yet: enter the API key first.", k.Title)
	}
	if err != nil {
		return Kind{}, nil, fmt.Errorf("load integration: %w", err)
	}
	return k, in, nil
}

// Get returns the integration. A property that has not connected the provider yet gets an
// empty, unconfigured view rather than an error, so a page can show the empty form.
func (s *Service) Get(ctx context.Context, pid, kindName string) (*View, error) {
	_, in, err := s.loadOrEmpty(ctx, pid, kindName)
	if err != nil {
		return nil, err
	}
	return s.view(in), nil
}

// loadOrEmpty is load, except that a property which has not connected the provider yet gets
// a fresh, unsaved integration instead of not_found.
func (s *Service) loadOrEmpty(ctx context.Context, pid, kindName string) (Kind, *bellhop.Integration, error) {
	k, in, err := s.load(ctx, pid, kindName)
	if bellhop.IsNotFound(err) && k.Name != "" {
		return k, &bellhop.Integration{PropertyID: pid, Provider: kindName, BaseURL: k.DefaultBaseURL, Status: bellhop.StatusUnverified}, nil
	}
	return k, in, err
}

// KeyInput is what a property manager enters to connect a provider.
type KeyInput struct {
	APIKey  string `json:"api_key" validate:"required,min=4,max=512,printascii,excludesall= "`
	BaseURL string `json:"base_url,omitempty" validate:"omitempty,max=500,http_url"`
}

// SetKey stores a new API key (and optionally base URL). A changed key or base URL makes the
// integration unverified and inactive until it is checked and activated again.
func (s *Service) SetKey(ctx context.Context, pid, kindName string, input KeyInput) (*View, error) {
	input.APIKey = strings.TrimSpace(input.APIKey)
	input.BaseURL = strings.TrimSpace(input.BaseURL)
	if err := bellhop.Validate(input); err != nil {
		return nil, err
	}
	k, in, err := s.loadOrEmpty(ctx, pid, kindName)
	if err != nil {
		return nil, err
	}
	if input.BaseURL != "" {
		if err := s.cfg.Addresses.CheckURL(input.BaseURL); err != nil {
			return nil, addressRefused(k, err)
		}
	}
	now := s.cfg.Clock.Now().UTC()
	if in.CreatedAt.IsZero() {
		in.CreatedAt = now
	}
	baseURL := in.BaseURL
	if input.BaseURL != "" {
		baseURL = normaliseBaseURL(input.BaseURL)
	}
	same := baseURL == in.BaseURL && len(in.SealedKey) > 0
	if same {
		old, err := s.cfg.Sealer.Open(in.SealedKey, keyAD(in))
		same = err == nil && string(old) == input.APIKey
	}
	if !same {
		sealed, err := s.cfg.Sealer.Seal([]byte(input.APIKey), keyAD(in))
		if err != nil {
			return nil, err
		}
		in.SealedKey = sealed
		in.KeyHint = hint(input.APIKey)
		in.BaseURL = baseURL
		in.Status = bellhop.StatusUnverified
		in.StatusReason = ""
		in.CheckedAt = nil
		if in.Active {
			in.Active = false
			in.StatusReason = "The API key changed: check it and activate the integration again."
		}
	}
	in.UpdatedAt = now
	if err := s.cfg.Store.SaveIntegration(ctx, in); err != nil {
		return nil, fmt.Errorf("save integration: %w", err)
	}
	s.cfg.Logger.InfoContext(ctx, "integration key saved", "property", pid, "provider", kindName, "key_hint", in.KeyHint, "changed", !same)
	return s.view(in), nil
}

// addressRefused is the answer to a base_url the address policy does not allow.
func addressRefused(k Kind, err error) error {
	reason := "it is not an address Bellhop may call"
	var re *safehttp.RefusedError
	if errors.As(err, &re) {
		reason = re.Reason
	}
	example := k.DefaultBaseURL
	if example == "" {
		example = "https://api.example.com/v2/"
	}
	e := bellhop.Invalid("base_url", "%s. A provider's address must be an https:// address on the public internet, such as %s "+
		"(an operator who runs a provider inside their own network can allow it with BELLHOP_ALLOW_PRIVATE_PROVIDERS=true)", reason, example)
	e.Err = err
	return e
}

func normaliseBaseURL(u string) string {
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

func keyAD(in *bellhop.Integration) []byte {
	return []byte(in.PropertyID + "/" + in.Provider + "/api_key")
}

func webhookAD(in *bellhop.Integration) []byte {
	return []byte(in.PropertyID + "/" + in.Provider + "/webhook_secret")
}

// hint shows the last four characters of a key, and nothing of a short one.
func hint(key string) string {
	if len(key) < 12 {
		return "…"
	}
	return "…" + key[len(key)-4:]
}

// client opens the integration's API key and returns a provider client.
func (s *Service) client(k Kind, in *bellhop.Integration) (provider.Provider, error) {
	if len(in.SealedKey) == 0 {
		return nil, bellhop.Errorf(bellhop.ENotReady, "Enter the %s API key first.", k.Title)
	}
	key, err := s.cfg.Sealer.Open(in.SealedKey, keyAD(in))
	if err != nil {
		return nil, fmt.Errorf("open API key of %s/%s: %w", in.PropertyID, in.Provider, err)
	}
	return k.New(provider.Config{BaseURL: in.BaseURL, APIKey: string(key), Zone: in.OrganizationZone,
		Timeout: s.cfg.ProviderTimeout, HTTPClient: s.http, Logger: s.cfg.Logger.With("provider", in.Provider, "property", in.PropertyID), Clock: s.cfg.Clock})
}

// Client returns a provider client for an integration, for other packages that call the
// provider on its behalf (chat sessions, sends).
func (s *Service) Client(in *bellhop.Integration) (provider.Provider, error) {
	k, err := s.kind(in.Provider)
	if err != nil {
		return nil, err
	}
	return s.client(k, in)
}

// CheckResult is the outcome of a key check.
type CheckResult struct {
	*View
	Senders []bellhop.Sender `json:"senders"`
	// SenderMissing is true when the chosen sender is no longer offered by the provider.
	SenderMissing bool `json:"sender_missing"`
}

// Check asks the provider whether the key works. A rejected key is saved as invalid and
// answered with invalid_api_key; an unreachable provider changes nothing.
func (s *Service) Check(ctx context.Context, pid, kindName string) (*CheckResult, error) {
	k, in, err := s.load(ctx, pid, kindName)
	if err != nil {
		return nil, err
	}
	p, err := s.client(k, in)
	if err != nil {
		return nil, err
	}
	org, err := p.Organization(ctx)
	if err != nil {
		return nil, s.providerError(ctx, k, in, checkDoing, err)
	}
	senders, err := p.Senders(ctx)
	if err != nil {
		return nil, s.providerError(ctx, k, in, "list the senders", err)
	}
	now := s.cfg.Clock.Now().UTC()
	if in.OrganizationID != "" && in.OrganizationID != org.ID {
		// Another account: its senders are not ours to keep.
		in.Sender = nil
	}
	in.Status = bellhop.StatusVerified
	in.StatusReason = ""
	in.OrganizationID = org.ID
	in.OrganizationName = org.Name
	in.OrganizationZone = org.Zone
	in.CheckedAt = &now
	in.UpdatedAt = now
	res := &CheckResult{Senders: senders}
	if in.Sender == nil && len(senders) == 1 {
		sd := senders[0]
		in.Sender = &sd
	}
	if in.Sender != nil {
		if cur, ok := findSender(senders, in.Sender.ID); ok {
			in.Sender = &cur // keep the snapshot up to date
		} else {
			res.SenderMissing = true
		}
	}
	if err := s.cfg.Store.SaveIntegration(ctx, in); err != nil {
		return nil, fmt.Errorf("save integration: %w", err)
	}
	s.cfg.Logger.InfoContext(ctx, "integration key verified", "property", pid, "provider", kindName, "organization", org.Name, "senders", len(senders))
	res.View = s.view(in)
	return res, nil
}

func findSender(senders []bellhop.Sender, id string) (bellhop.Sender, bool) {
	i := slices.IndexFunc(senders, func(s bellhop.Sender) bool { return s.ID == id })
	if i < 0 {
		return bellhop.Sender{}, false
	}
	return senders[i], true
}

// providerError turns a provider failure into an error a property manager can act on. A rejected
// key is recorded on the integration; other failures leave it unchanged. The provider's own
// words reach the message only as a short, cleaned reason.
func (s *Service) providerError(ctx context.Context, k Kind, in *bellhop.Integration, doing string, err error) error {
	pe, _ := provider.AsError(err)
	var refused *safehttp.RefusedError
	if errors.As(err, &refused) {
		// Saved before the address policy, or a name that now resolves inside the network.
		s.cfg.Logger.WarnContext(ctx, "provider address refused", "property", in.PropertyID, "provider", in.Provider, "doing", doing, "error", err)
		return addressRefused(k, err)
	}
	switch provider.FailureOf(err) {
	case provider.FailUnauthorized:
		reason := "the key was rejected"
		if r := shortReason(pe); r != "" {
			reason = r
		}
		now := s.cfg.Clock.Now().UTC()
		in.Status = bellhop.StatusInvalid
		in.StatusReason = reason
		in.CheckedAt = &now
		in.UpdatedAt = now
		if serr := s.cfg.Store.SaveIntegration(ctx, in); serr != nil {
			return fmt.Errorf("save rejected key state: %w (after %v)", serr, err)
		}
		s.cfg.Logger.WarnContext(ctx, "provider rejected API key", "property", in.PropertyID, "provider", in.Provider, "error", err)
		return &bellhop.Error{Code: bellhop.EInvalidAPIKey, Err: err,
			Message: fmt.Sprintf("%s rejected the API key: %s. Check that you copied the whole key from your %s account.", k.Title, reason, k.Title)}
	case provider.FailUnavailable, provider.FailRateLimited, provider.FailInternal:
		s.cfg.Logger.WarnContext(ctx, "provider unavailable", "property", in.PropertyID, "provider", in.Provider, "doing", doing, "error", err)
		return &bellhop.Error{Code: bellhop.EProviderUnavailable, Err: err,
			Message: fmt.Sprintf("%s did not answer when Bellhop tried to %s. Nothing was changed; try again in a few minutes.", k.Title, doing)}
	case provider.FailNotFound:
		if pe != nil && pe.Status == http.StatusNotFound && doing == checkDoing {
			// Whatever answers at the address is not the provider's API (or not its root).
			s.cfg.Logger.WarnContext(ctx, "provider address answered 404 to the key check", "property", in.PropertyID, "provider", in.Provider, "error", err)
			example := k.DefaultBaseURL
			if example == "" {
				example = "https://api.example.com/v2/"
			}
			e := bellhop.Invalid("base_url", "the address answered “not found” when Bellhop tried to %s: check that it is the %s API's root, such as %s",
				doing, k.Title, example)
			e.Err = err
			return e
		}
	}
	reason := shortReason(pe)
	if reason == "" {
		reason = "it gave no reason"
	}
	s.cfg.Logger.InfoContext(ctx, "provider refused a request", "property", in.PropertyID, "provider", in.Provider, "doing", doing, "error", err)
	return &bellhop.Error{Code: bellhop.EInvalid, Err: err,
		Message: fmt.Sprintf("%s refused to %s: %s.", k.Title, doing, reason)}
}

// checkDoing is what a key check is doing, in providerError's words.
const checkDoing = "check the API key"

// maxShownReason bounds the provider's words in a message people read.
const maxShownReason = 120

// shortReason is the provider's reason for people to read: control characters and runs of
// spaces removed, at most maxShownReason characters. Empty when the provider gave none.
func shortReason(pe *provider.Error) string {
	if pe == nil {
		return ""
	}
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\uFFFD' {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(pe.Reason, " "))
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxShownReason {
		s = strings.TrimSpace(string(r[:maxShownReason-1])) + "…"
	}
	return strings.TrimRight(s, ".")
}

// SendersResult lists the senders offered by the provider and the chosen one.
type SendersResult struct {
	Senders       []bellhop.Sender `json:"senders"`
	Chosen        *bellhop.Sender  `json:"chosen"`
	SenderMissing bool             `json:"sender_missing"`
}

// Senders lists the provider's senders live.
func (s *Service) Senders(ctx context.Context, pid, kindName string) (*SendersResult, error) {
	k, in, err := s.load(ctx, pid, kindName)
	if err != nil {
		return nil, err
	}
	_, senders, err := s.liveSenders(ctx, k, in)
	if err != nil {
		return nil, err
	}
	res := &SendersResult{Senders: senders, Chosen: in.Sender}
	if in.Sender != nil {
		_, ok := findSender(senders, in.Sender.ID)
		res.SenderMissing = !ok
	}
	return res, nil
}

// liveSenders asks the provider for its senders; the client comes back for further calls.
func (s *Service) liveSenders(ctx context.Context, k Kind, in *bellhop.Integration) (provider.Provider, []bellhop.Sender, error) {
	p, err := s.client(k, in)
	if err != nil {
		return nil, nil, err
	}
	senders, err := p.Senders(ctx)
	if err != nil {
		return nil, nil, s.providerError(ctx, k, in, "list the senders", err)
	}
	return p, senders, nil
}

// SenderInput picks the sender.
type SenderInput struct {
	SenderID string `json:"sender_id" validate:"required,max=100"`
}

// ChooseSender picks the sender that sends this integration's messages.
func (s *Service) ChooseSender(ctx context.Context, pid, kindName string, input SenderInput) (*View, error) {
	input.SenderID = strings.TrimSpace(input.SenderID)
	if err := bellhop.Validate(input); err != nil {
		return nil, err
	}
	k, in, err := s.load(ctx, pid, kindName)
	if err != nil {
		return nil, err
	}
	_, senders, err := s.liveSenders(ctx, k, in)
	if err != nil {
		return nil, err
	}
	sd, ok := findSender(senders, input.SenderID)
	if !ok {
		ids := make([]string, len(senders))
		for i, x := range senders {
			ids[i] = x.ID
		}
		return nil, bellhop.Invalid("sender_id", "%s has no sender %q (it offers: %s)", k.Title, input.SenderID, strings.Join(ids, ", "))
	}
	in.Sender = &sd
	in.UpdatedAt = s.cfg.Clock.Now().UTC()
	if err := s.cfg.Store.SaveIntegration(ctx, in); err != nil {
		return nil, fmt.Errorf("save integration: %w", err)
	}
	s.cfg.Logger.InfoContext(ctx, "integration sender chosen", "property", pid, "provider", kindName, "sender", sd.ID)
	return s.view(in), nil
}

// ActivateOptions say what to do with a webhook another system installed on the provider
// account, which has room for one (see registerWebhook). At most one may be set.
type ActivateOptions struct {
	// ReplaceWebhook: Bellhop's webhook takes its place; deactivation puts it back.
	ReplaceWebhook bool `json:"replace_webhook"`
	// ForwardToExisting: Bellhop's webhook takes its place and relays every callback to it,
	// unchanged, so the other system keeps working; deactivation puts it back.
	ForwardToExisting bool `json:"forward_to_existing"`
}

// Activate switches the integration on. It needs a verified key and a chosen sender that the
// provider still offers; it registers the provider's webhook when Bellhop has a public URL,
// never replacing another system's without opts saying so.
func (s *Service) Activate(ctx context.Context, pid, kindName string, opts ActivateOptions) (*View, error) {
	if opts.ReplaceWebhook && opts.ForwardToExisting {
		return nil, bellhop.Invalid("forward_to_existing", "choose replace_webhook or forward_to_existing, not both")
	}
	// Nothing entered yet: say everything activation needs, not just "not found".
	k, in, err := s.loadOrEmpty(ctx, pid, kindName)
	if err != nil {
		return nil, err
	}
	if m := missing(in); len(m) > 0 {
		return nil, notReady(k, in, m)
	}
	p, senders, err := s.liveSenders(ctx, k, in)
	if err != nil {
		return nil, err
	}
	sd, ok := findSender(senders, in.Sender.ID)
	if !ok {
		return nil, bellhop.Errorf(bellhop.ESenderMissing,
			"The chosen sender %q is no longer offered by %s. Choose another sender, then activate.", in.Sender.Label(), k.Title)
	}
	in.Sender = &sd
	if len(in.SealedWebhookSecret) == 0 {
		secret := make([]byte, 24)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("make webhook secret: %w", err)
		}
		sealed, err := s.cfg.Sealer.Seal([]byte(hex.EncodeToString(secret)), webhookAD(in))
		if err != nil {
			return nil, err
		}
		in.SealedWebhookSecret = sealed
	}
	if err := s.registerWebhook(ctx, k, in, p, opts); err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now().UTC()
	in.Active = true
	in.StatusReason = ""
	in.ActivatedAt = &now
	in.UpdatedAt = now
	if err := s.cfg.Store.SaveIntegration(ctx, in); err != nil {
		return nil, fmt.Errorf("save integration: %w", err)
	}
	for _, h := range s.cfg.OnActivate {
		if err := h(ctx, in); err != nil {
			return nil, fmt.Errorf("after activation: %w", err)
		}
	}
	s.cfg.Logger.InfoContext(ctx, "integration activated", "property", pid, "provider", kindName, "sender", in.Sender.ID)
	return s.view(in), nil
}

func notReady(k Kind, in *bellhop.Integration, m []string) error {
	var parts []string
	e := &bellhop.Error{Code: bellhop.ENotReady}
	for _, what := range m {
		switch what {
		case "verified_key":
			msg := "the API key has not been checked: click Check integration"
			if len(in.SealedKey) == 0 {
				msg = "no API key has been entered"
			} else if in.Status == bellhop.StatusInvalid {
				msg = fmt.Sprintf("%s rejected the API key (%s): enter a valid key and check it", k.Title, in.StatusReason)
			}
			parts = append(parts, msg)
			e.Fields = append(e.Fields, bellhop.FieldError{Field: "api_key", Message: msg})
		case "sender":
			msg := "no sender is chosen: pick the phone number that sends"
			parts = append(parts, msg)
			e.Fields = append(e.Fields, bellhop.FieldError{Field: "sender_id", Message: msg})
		}
	}
	e.Message = "The integration cannot be activated yet: " + strings.Join(parts, "; and ") + "."
	return e
}

func (s *Service) webhookBase(in *bellhop.Integration) string {
	return fmt.Sprintf("%s/webhooks/%s/%s", s.cfg.PublicURL, url.PathEscape(in.Provider), url.PathEscape(in.PropertyID))
}

// WebhookURL is the callback URL the provider is given, carrying the integration's secret.
func (s *Service) WebhookURL(in *bellhop.Integration) (string, error) {
	secret, err := s.WebhookSecret(in)
	if err != nil {
		return "", err
	}
	return s.webhookBase(in) + "?secret=" + url.QueryEscape(secret), nil
}

// WebhookSecret opens the integration's webhook secret.
func (s *Service) WebhookSecret(in *bellhop.Integration) (string, error) {
	if len(in.SealedWebhookSecret) == 0 {
		return "", errors.New("integration has no webhook secret")
	}
	b, err := s.cfg.Sealer.Open(in.SealedWebhookSecret, webhookAD(in))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Deactivate switches the integration off; mailings through it stop sending. When activation
// replaced another system's webhook, that webhook is put back (or Bellhop's own removed), so
// the account is left as it was found.
func (s *Service) Deactivate(ctx context.Context, pid, kindName string) (*View, error) {
	k, in, err := s.load(ctx, pid, kindName)
	if err != nil {
		return nil, err
	}
	if !in.Active && in.WebhookMode == "" {
		return s.view(in), nil
	}
	if err := s.unregisterWebhook(ctx, k, in); err != nil {
		return nil, err
	}
	in.Active = false
	in.UpdatedAt = s.cfg.Clock.Now().UTC()
	if err := s.cfg.Store.SaveIntegration(ctx, in); err != nil {
		return nil, fmt.Errorf("save integration: %w", err)
	}
	s.cfg.Logger.InfoContext(ctx, "integration deactivated", "property", pid, "provider", kindName)
	return s.view(in), nil
}

// Integration returns a property's integration of a provider kind for other packages that act
// on its behalf; like every connector call it needs the Contact Center subscription. One that
// is not connected yet is not_found.
func (s *Service) Integration(ctx context.Context, pid, kindName string) (*bellhop.Integration, error) {
	_, in, err := s.load(ctx, pid, kindName)
	return in, err
}

// Primary returns the integration that serves a property's chats: the active one, else the
// one with a key. A property with none is not_ready, saying to connect a provider first.
func (s *Service) Primary(ctx context.Context, pid string) (*bellhop.Integration, error) {
	if _, err := s.property(ctx, pid); err != nil {
		return nil, err
	}
	list, err := s.cfg.Store.ListIntegrations(ctx, pid)
	if err != nil {
		return nil, fmt.Errorf("list integrations: %w", err)
	}
	var configured *bellhop.Integration
	for _, in := range list {
		if _, known := s.cfg.Kinds[in.Provider]; !known {
			continue
		}
		if in.Active {
			return in, nil
		}
		if configured == nil && len(in.SealedKey) > 0 {
			configured = in
		}
	}
	if configured == nil {
		return nil, bellhop.Errorf(bellhop.ENotReady, "No messaging provider is connected yet: enter the provider's API key on the Contact Center page first.")
	}
	return configured, nil
}

// Title is how people call a provider kind ("IntellectDialog").
func (s *Service) Title(kindName string) string {
	if k, ok := s.cfg.Kinds[kindName]; ok {
		return k.Title
	}
	return kindName
}

// ProviderError turns a provider failure met while doing something for an integration into
// an error a person can act on; see providerError.
func (s *Service) ProviderError(ctx context.Context, in *bellhop.Integration, doing string, err error) error {
	k, kerr := s.kind(in.Provider)
	if kerr != nil {
		return kerr
	}
	return s.providerError(ctx, k, in, doing, err)
}

// ParseEvents reads a webhook callback of a provider kind.
func (s *Service) ParseEvents(in *bellhop.Integration, body []byte) ([]provider.StatusEvent, error) {
	kindName := in.Provider
	k, err := s.kind(kindName)
	if err != nil {
		return nil, err
	}
	if k.ParseEvents == nil {
		return nil, bellhop.Errorf(bellhop.ENotFound, "%s sends no callbacks Bellhop reads.", k.Title)
	}
	evs, err := k.ParseEvents(body, in.OrganizationZone)
	if err != nil {
		return nil, &bellhop.Error{Code: bellhop.EInvalid, Message: "The callback could not be read.", Err: err}
	}
	return evs, nil
}

// unreadableCap bounds the callback kept for diagnosis.
const unreadableCap = 4 << 10

// NoteUnreadableCallback keeps the last callback no parser could read on the integration, cut
// to 4 KiB and made printable, so a person (or support) can see what the provider sends.
// Callbacks are authenticated by the URL's secret, which is never part of the body.
func (s *Service) NoteUnreadableCallback(ctx context.Context, in *bellhop.Integration, body []byte, at time.Time) error {
	if len(body) > unreadableCap {
		body = body[:unreadableCap]
	}
	text := strings.Map(func(r rune) rune {
		if r == 0 || r == 0x7f || (r < 0x20 && r != '\n' && r != '\t') {
			return -1
		}
		return r
	}, strings.ToValidUTF8(string(body), "\uFFFD"))
	return s.cfg.Store.NoteUnreadableCallback(ctx, in.PropertyID, in.Provider, text, at.UTC())
}

// Templates lists the message templates of the integration's chosen sender (official WhatsApp
// senders have them; others have none).
func (s *Service) Templates(ctx context.Context, pid, kindName string) (map[string]any, error) {
	k, in, err := s.load(ctx, pid, kindName)
	if err != nil {
		return nil, err
	}
	if in.Sender == nil {
		return nil, notReady(k, in, []string{"sender"})
	}
	p, err := s.client(k, in)
	if err != nil {
		return nil, err
	}
	list, err := p.Templates(ctx, in.Sender.ID)
	if provider.FailureOf(err) == provider.FailNotFound {
		list, err = nil, nil
	}
	if err != nil {
		return nil, s.providerError(ctx, k, in, "list the sender's templates", err)
	}
	if list == nil {
		list = []provider.Template{}
	}
	return map[string]any{"sender": in.Sender, "templates": list}, nil
}
