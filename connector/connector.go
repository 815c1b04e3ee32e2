// Package connector manages a property's channels (integrations of the kinds in a
// provider.Registry): their sealed credentials and the check against the provider, the choice
// of sender, activation with the webhook, and the provider's callbacks.
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

// ActivateHook runs after an integration is activated and saved (e.g. to create mailings).
type ActivateHook func(ctx context.Context, in *bellhop.Integration) error

// Config wires a Service. Zero values mean defaults where one is given.
type Config struct {
	Store Store
	// Kinds are the channel kinds Bellhop knows (provider/channels.Registry).
	Kinds  *provider.Registry
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
	// Report applies one status event of an authenticated callback to the property's
	// deliveries; changed says it moved one. Nil: callbacks are read and dropped.
	Report func(ctx context.Context, pid, kind string, ev provider.StatusEvent) (changed bool, err error)
	// Relay passes a callback on, unchanged, to the webhook activation replaced (forward mode).
	Relay Relay
}

// Relay passes a provider callback on, unchanged, to the webhook Bellhop's replaced.
type Relay interface {
	Forward(ctx context.Context, pid, provider string, body []byte, contentType string) error
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
	if cfg.Kinds == nil || len(cfg.Kinds.Names()) == 0 {
		return nil, errors.New("connector: at least one channel kind is required")
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

// View is an integration as the API shows it: the stored state, the kind's declaration and what
// a person needs to act on it. It holds no secret: secret fields show as hints only.
type View struct {
	*bellhop.Integration
	Title      string                `json:"title"`
	Address    provider.Address      `json:"address"`
	Caps       provider.Capabilities `json:"capabilities"`
	Pacing     provider.Pacing       `json:"pacing"`
	Fields     []provider.Field      `json:"fields"`
	Configured bool                  `json:"configured"`
	// Hints name the secret fields that are set, each with a hint ("…9f3a", or "…").
	Hints map[string]string `json:"hints"`
	// Missing lists what activation still needs: "verified_key", "sender".
	Missing []string `json:"missing"`
	// PreviousWebhook is the webhook activation replaced on the provider account (query
	// values hidden); WebhookMode says whether callbacks are forwarded to it.
	PreviousWebhook string `json:"previous_webhook,omitempty"`
	// Callback is what the manager pastes into the provider's console, for kinds whose
	// callbacks are registered there (Meta's app: URL and verify token).
	Callback *CallbackSetup `json:"callback,omitempty"`
}

// CallbackSetup is a callback registration a person makes in the provider's console.
type CallbackSetup struct {
	URL         string `json:"url"`
	VerifyToken string `json:"verify_token,omitempty"`
}

func (s *Service) view(k *provider.Kind, in *bellhop.Integration) *View {
	v := &View{Integration: in, Title: k.Title, Address: k.Address, Caps: k.Caps, Pacing: k.Pacing, Fields: k.Fields,
		Configured: configured(k, in), Hints: s.hints(k, in), Missing: missing(k, in), PreviousWebhook: s.PreviousWebhookURL(in)}
	if k.Callbacks != nil && k.Callbacks.Manual && s.cfg.PublicURL != "" {
		if secret, err := s.WebhookSecret(in); err == nil {
			v.Callback = &CallbackSetup{URL: s.webhookBase(in), VerifyToken: secret}
		}
	}
	return v
}

func missing(k *provider.Kind, in *bellhop.Integration) []string {
	m := []string{}
	if in.Status != bellhop.StatusVerified {
		m = append(m, "verified_key")
	}
	if in.Sender == nil && k.Caps.Senders {
		m = append(m, "sender")
	}
	return m
}

// kind returns the channel kind or a not_found error listing the known ones.
func (s *Service) kind(name string) (*provider.Kind, error) {
	return s.cfg.Kinds.Lookup(name)
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
func (s *Service) load(ctx context.Context, pid, kindName string) (*provider.Kind, *bellhop.Integration, error) {
	k, err := s.kind(kindName)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.property(ctx, pid); err != nil {
		return nil, nil, err
	}
	in, err := s.cfg.Store.GetIntegration(ctx, pid, kindName)
	if bellhop.IsNotFound(err) {
		return k, nil, bellhop.Errorf(bellhop.ENotFound, "%s is not connected yet: enter the %s first.", k.Title, lowerLabel(primaryField(k)))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load integration: %w", err)
	}
	return k, in, nil
}

// Get returns the integration. A property that has not connected the provider yet gets an
// empty, unconfigured view rather than an error, so a page can show the empty form.
func (s *Service) Get(ctx context.Context, pid, kindName string) (*View, error) {
	k, in, err := s.loadOrEmpty(ctx, pid, kindName)
	if err != nil {
		return nil, err
	}
	return s.view(k, in), nil
}

// List shows every kind for a property: the ones it connected with their state, the others
// empty, so a page or a PMS sees what it can connect and what each kind can do.
func (s *Service) List(ctx context.Context, pid string) ([]*View, error) {
	if _, err := s.property(ctx, pid); err != nil {
		return nil, err
	}
	stored, err := s.cfg.Store.ListIntegrations(ctx, pid)
	if err != nil {
		return nil, fmt.Errorf("list integrations: %w", err)
	}
	byKind := map[string]*bellhop.Integration{}
	for _, in := range stored {
		byKind[in.Provider] = in
	}
	out := []*View{}
	for _, k := range s.cfg.Kinds.All() {
		in := byKind[k.Name]
		if in == nil {
			in = s.empty(k, pid)
		}
		out = append(out, s.view(k, in))
	}
	return out, nil
}

// empty is a fresh, unsaved integration of a kind.
func (s *Service) empty(k *provider.Kind, pid string) *bellhop.Integration {
	return &bellhop.Integration{PropertyID: pid, Provider: k.Name, BaseURL: k.DefaultBaseURL, Status: bellhop.StatusUnverified}
}

// loadOrEmpty is load, except that a property which has not connected the provider yet gets
// a fresh, unsaved integration instead of not_found.
func (s *Service) loadOrEmpty(ctx context.Context, pid, kindName string) (*provider.Kind, *bellhop.Integration, error) {
	k, in, err := s.load(ctx, pid, kindName)
	if bellhop.IsNotFound(err) && k != nil {
		return k, s.empty(k, pid), nil
	}
	return k, in, err
}

// KeyInput is what a property manager enters to connect a provider.
type KeyInput struct {
	APIKey  string `json:"api_key" validate:"required,min=4,max=512,printascii,excludesall= "`
	BaseURL string `json:"base_url,omitempty" validate:"omitempty,max=500,http_url"`
}

// addressRefused is the answer to a base_url the address policy does not allow.
func addressRefused(k *provider.Kind, err error) error {
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

// client opens the integration's credentials and returns a client of its kind.
func (s *Service) client(k *provider.Kind, in *bellhop.Integration) (provider.Client, error) {
	if !configured(k, in) {
		return nil, bellhop.Errorf(bellhop.ENotReady, "Enter the %s %s first.", k.Title, lowerLabel(primaryField(k)))
	}
	c, err := s.credentials(k, in)
	if err != nil {
		return nil, err
	}
	return k.Open(s.config(in, c))
}

// Open returns the client of an integration's kind: provider.Client and the optional
// interfaces its kind's capabilities promise.
func (s *Service) Open(in *bellhop.Integration) (provider.Client, error) {
	k, err := s.kind(in.Provider)
	if err != nil {
		return nil, err
	}
	return s.client(k, in)
}

// Client returns a provider client for an integration, for other packages that call the
// provider on its behalf (chat sessions, sends), as a provider.Provider: what its kind lacks
// answers as a kind without it would (see Widen). New code should use Open and the
// capabilities.
func (s *Service) Client(in *bellhop.Integration) (provider.Provider, error) {
	c, err := s.Open(in)
	if err != nil {
		return nil, err
	}
	return Widen(c), nil
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
		return nil, s.providerError(ctx, k, in, checkDoing(k), err)
	}
	senders, err := s.senders(ctx, k, in, p)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now().UTC()
	if in.OrganizationID != "" && in.OrganizationID != org.ID {
		// Another account: its senders are not ours to keep.
		in.Sender, in.Pool = nil, nil
	}
	in.Status = bellhop.StatusVerified
	in.StatusReason = ""
	in.OrganizationID = org.ID
	in.OrganizationName = org.Name
	in.OrganizationZone = org.Zone
	in.CheckedAt = &now
	in.UpdatedAt = now
	res := &CheckResult{Senders: senders}
	// An account that is its own one sender (a mail account, a 360dialog number) is chosen.
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
		if refreshPool(in, senders) != nil {
			res.SenderMissing = true
		}
	}
	if err := s.cfg.Store.SaveIntegration(ctx, in); err != nil {
		return nil, fmt.Errorf("save integration: %w", err)
	}
	s.cfg.Logger.InfoContext(ctx, "integration key verified", "property", pid, "provider", kindName, "organization", org.Name, "senders", len(senders))
	res.View = s.view(k, in)
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
func (s *Service) providerError(ctx context.Context, k *provider.Kind, in *bellhop.Integration, doing string, err error) error {
	pe, _ := provider.AsError(err)
	var refused *safehttp.RefusedError
	if errors.As(err, &refused) {
		// Saved before the address policy, or a name that now resolves inside the network.
		s.cfg.Logger.WarnContext(ctx, "provider address refused", "property", in.PropertyID, "provider", in.Provider, "doing", doing, "error", err)
		return addressRefused(k, err)
	}
	switch provider.FailureOf(err) {
	case provider.FailUnauthorized:
		f := primaryField(k)
		if pe != nil && pe.Field != "" {
			if ff, ok := k.Field(pe.Field); ok {
				f = ff
			}
		}
		label := lowerLabel(f)
		reason := "the " + label + " was rejected"
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
		s.cfg.Logger.WarnContext(ctx, "provider rejected the credentials", "property", in.PropertyID, "provider", in.Provider, "field", f.Name, "error", err)
		msg := fmt.Sprintf("%s rejected the %s: %s. Check that you copied the whole %s from your %s account.", k.Title, label, reason, label, k.Title)
		if !f.Secret {
			msg = fmt.Sprintf("%s did not accept the %s: %s. Check the %s and save it again.", k.Title, label, reason, label)
		}
		return &bellhop.Error{Code: bellhop.EInvalidAPIKey, Err: err, Message: msg,
			Fields: []bellhop.FieldError{{Field: f.Name, Message: reason}}}
	case provider.FailUnavailable, provider.FailRateLimited, provider.FailInternal:
		s.cfg.Logger.WarnContext(ctx, "provider unavailable", "property", in.PropertyID, "provider", in.Provider, "doing", doing, "error", err)
		return &bellhop.Error{Code: bellhop.EProviderUnavailable, Err: err,
			Message: fmt.Sprintf("%s did not answer when Bellhop tried to %s. Nothing was changed; try again in a few minutes.", k.Title, doing)}
	case provider.FailNotFound:
		if pe != nil && pe.Status == http.StatusNotFound && doing == checkDoing(k) {
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

// checkDoing is what a check is doing, in providerError's words: "check the API key".
func checkDoing(k *provider.Kind) string { return "check the " + lowerLabel(primaryField(k)) }

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
func (s *Service) liveSenders(ctx context.Context, k *provider.Kind, in *bellhop.Integration) (provider.Client, []bellhop.Sender, error) {
	p, err := s.client(k, in)
	if err != nil {
		return nil, nil, err
	}
	senders, err := s.senders(ctx, k, in, p)
	if err != nil {
		return nil, nil, err
	}
	return p, senders, nil
}

// SenderInput picks the sender: one (sender_id), or a pool of senders of one type
// (sender_ids) whose numbers share the mailings, each guest hearing from one of them.
type SenderInput struct {
	SenderID  string   `json:"sender_id"`
	SenderIDs []string `json:"sender_ids"`
}

// maxPool bounds a pool: enough numbers for a large hotel, few enough to read on the page.
const maxPool = 20

// ids returns the chosen sender ids, trimmed and checked: one or more, not both fields.
func (input SenderInput) ids() ([]string, error) {
	one := strings.TrimSpace(input.SenderID)
	switch {
	case one != "" && len(input.SenderIDs) > 0:
		return nil, bellhop.Invalid("sender_ids", "give sender_id or sender_ids, not both")
	case one != "":
		input.SenderIDs = []string{one}
	case len(input.SenderIDs) == 0:
		return nil, bellhop.Invalid("sender_id", "is required (or sender_ids, for a pool of senders)")
	case len(input.SenderIDs) > maxPool:
		return nil, bellhop.Invalid("sender_ids", "must name at most %d senders", maxPool)
	}
	field := "sender_ids"
	if one != "" {
		field = "sender_id"
	}
	ids := make([]string, 0, len(input.SenderIDs))
	for _, id := range input.SenderIDs {
		id = strings.TrimSpace(id)
		switch {
		case id == "":
			return nil, bellhop.Invalid(field, "must not be empty")
		case len(id) > 100:
			return nil, bellhop.Invalid(field, "must be at most 100 characters")
		case slices.Contains(ids, id):
			return nil, bellhop.Invalid(field, "names sender %q twice", bellhop.Excerpt(id))
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// ChooseSender picks the sender that sends this integration's messages, or a pool of them.
func (s *Service) ChooseSender(ctx context.Context, pid, kindName string, input SenderInput) (*View, error) {
	chosen, err := input.ids()
	if err != nil {
		return nil, err
	}
	field := "sender_id"
	if len(input.SenderIDs) > 0 {
		field = "sender_ids"
	}
	k, in, err := s.load(ctx, pid, kindName)
	if err != nil {
		return nil, err
	}
	_, senders, err := s.liveSenders(ctx, k, in)
	if err != nil {
		return nil, err
	}
	var pool []bellhop.Sender
	for _, id := range chosen {
		sd, ok := findSender(senders, id)
		if !ok {
			ids := make([]string, len(senders))
			for i, x := range senders {
				ids[i] = x.ID
			}
			return nil, bellhop.Invalid(field, "%s has no sender %q (it offers: %s)", k.Title, bellhop.Excerpt(id), strings.Join(ids, ", "))
		}
		if len(pool) > 0 && sd.Type != pool[0].Type {
			return nil, bellhop.Invalid(field, "a pool's senders must be of one type: %s is %s, %s is %s",
				pool[0].Label(), pool[0].Type, sd.Label(), sd.Type)
		}
		pool = append(pool, sd)
	}
	in.Sender, in.Pool = &pool[0], nil
	if len(pool) > 1 {
		in.Pool = pool
	}
	in.UpdatedAt = s.cfg.Clock.Now().UTC()
	if err := s.cfg.Store.SaveIntegration(ctx, in); err != nil {
		return nil, fmt.Errorf("save integration: %w", err)
	}
	s.cfg.Logger.InfoContext(ctx, "integration sender chosen", "property", pid, "provider", kindName, "sender", in.Sender.ID, "pool", len(in.Pool))
	return s.view(k, in), nil
}

// refreshPool brings the pool's snapshots up to date from the provider's senders and returns
// the first of its senders the provider no longer offers.
func refreshPool(in *bellhop.Integration, senders []bellhop.Sender) (missing *bellhop.Sender) {
	for i, sd := range in.Pool {
		if cur, ok := findSender(senders, sd.ID); ok {
			in.Pool[i] = cur
		} else if missing == nil {
			missing = &in.Pool[i]
		}
	}
	return missing
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
	if m := missing(k, in); len(m) > 0 {
		return nil, notReady(k, in, m)
	}
	p, senders, err := s.liveSenders(ctx, k, in)
	if err != nil {
		return nil, err
	}
	if k.Caps.Senders {
		sd, ok := findSender(senders, in.Sender.ID)
		if !ok {
			return nil, bellhop.Errorf(bellhop.ESenderMissing,
				"The chosen sender %q is no longer offered by %s. Choose another sender, then activate.", in.Sender.Label(), k.Title)
		}
		in.Sender = &sd
		if gone := refreshPool(in, senders); gone != nil {
			return nil, bellhop.Errorf(bellhop.ESenderMissing,
				"The pool's sender %q is no longer offered by %s. Choose the pool again, then activate.", gone.Label(), k.Title)
		}
	}
	if err := s.ensureWebhookSecret(in); err != nil {
		return nil, err
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
	s.cfg.Logger.InfoContext(ctx, "integration activated", "property", pid, "provider", kindName, "sender", in.Sender.Label())
	return s.view(k, in), nil
}

func notReady(k *provider.Kind, in *bellhop.Integration, m []string) error {
	var parts []string
	e := &bellhop.Error{Code: bellhop.ENotReady}
	for _, what := range m {
		switch what {
		case "verified_key":
			f := primaryField(k)
			label := lowerLabel(f)
			msg := "the " + label + " has not been checked: click Check integration"
			if !configured(k, in) {
				msg = "no " + label + " has been entered"
			} else if in.Status == bellhop.StatusInvalid {
				msg = fmt.Sprintf("%s rejected the %s (%s): enter a valid one and check it", k.Title, label, in.StatusReason)
			}
			parts = append(parts, msg)
			e.Fields = append(e.Fields, bellhop.FieldError{Field: f.Name, Message: msg})
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

// WebhookURL is the callback URL the provider is given; for kinds whose callbacks prove
// themselves by the URL (Callbacks.URLSecret) it carries the integration's secret.
func (s *Service) WebhookURL(in *bellhop.Integration) (string, error) {
	secret, err := s.WebhookSecret(in)
	if err != nil {
		return "", err
	}
	if k, ok := s.cfg.Kinds.Get(in.Provider); ok && (k.Callbacks == nil || !k.Callbacks.URLSecret) {
		return s.webhookBase(in), nil
	}
	return s.webhookBase(in) + "?secret=" + url.QueryEscape(secret), nil
}

// ensureWebhookSecret gives the integration its webhook secret once; it stays while the
// integration does (a manager pastes it into a provider console as the verify token).
func (s *Service) ensureWebhookSecret(in *bellhop.Integration) error {
	if len(in.SealedWebhookSecret) > 0 {
		return nil
	}
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("make webhook secret: %w", err)
	}
	sealed, err := s.cfg.Sealer.Seal([]byte(hex.EncodeToString(secret)), webhookAD(in))
	if err != nil {
		return err
	}
	in.SealedWebhookSecret = sealed
	return nil
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
		return s.view(k, in), nil
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
	return s.view(k, in), nil
}

// Integration returns a property's integration of a provider kind for other packages that act
// on its behalf; like every connector call it needs the Contact Center subscription. One that
// is not connected yet is not_found.
func (s *Service) Integration(ctx context.Context, pid, kindName string) (*bellhop.Integration, error) {
	_, in, err := s.load(ctx, pid, kindName)
	return in, err
}

// Primary returns the integration that serves a property's chats (of a kind with operators):
// the active one, else the configured one. A property with none is not_ready, saying to
// connect a provider first.
func (s *Service) Primary(ctx context.Context, pid string) (*bellhop.Integration, error) {
	if _, err := s.property(ctx, pid); err != nil {
		return nil, err
	}
	list, err := s.cfg.Store.ListIntegrations(ctx, pid)
	if err != nil {
		return nil, fmt.Errorf("list integrations: %w", err)
	}
	var ready *bellhop.Integration
	for _, in := range list {
		k, known := s.cfg.Kinds.Get(in.Provider)
		if !known || !k.Caps.Operators {
			continue
		}
		if in.Active {
			return in, nil
		}
		if ready == nil && configured(k, in) {
			ready = in
		}
	}
	if ready == nil {
		return nil, bellhop.Errorf(bellhop.ENotReady, "No messaging provider is connected yet: enter the provider's API key on the Contact Center page first.")
	}
	return ready, nil
}

// Title is how people call a provider kind ("IntellectDialog").
func (s *Service) Title(kindName string) string {
	if k, ok := s.cfg.Kinds.Get(kindName); ok {
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

// unreadableCap bounds the callback kept for diagnosis.
const unreadableCap = 4 << 10

// noteUnreadableCallback keeps the last callback no parser could read on the integration, cut
// to 4 KiB and made printable, so a person (or support) can see what the provider sends.
// Only authenticated callbacks get here; no secret is part of the body.
func (s *Service) noteUnreadableCallback(ctx context.Context, in *bellhop.Integration, body []byte, at time.Time) error {
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
	sender, list, err := s.senderTemplates(ctx, pid, kindName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"sender": sender, "templates": list}, nil
}

// SenderTemplates is the list Templates answers, as the provider gives it: each template's
// name, language, status (where the provider tells one; the WhatsApp Business Platform lists
// approved ones only) and body text. A sender whose provider keeps none for it has an empty
// list. Errors are the connector's: not_found when the kind is not connected, not_ready
// without a sender, provider_unavailable, invalid_api_key (the integration is then marked
// invalid), or the provider's refusal.
func (s *Service) SenderTemplates(ctx context.Context, pid, kindName string) ([]provider.Template, error) {
	_, list, err := s.senderTemplates(ctx, pid, kindName)
	return list, err
}

func (s *Service) senderTemplates(ctx context.Context, pid, kindName string) (*bellhop.Sender, []provider.Template, error) {
	k, in, err := s.load(ctx, pid, kindName)
	if err != nil {
		return nil, nil, err
	}
	if in.Sender == nil {
		return nil, nil, notReady(k, in, []string{"sender"})
	}
	p, err := s.client(k, in)
	if err != nil {
		return nil, nil, err
	}
	tl, ok := p.(provider.TemplateLister)
	if !ok {
		return in.Sender, []provider.Template{}, nil
	}
	list, err := tl.Templates(ctx, in.Sender.ID)
	if provider.FailureOf(err) == provider.FailNotFound {
		list, err = nil, nil
	}
	if err != nil {
		return nil, nil, s.providerError(ctx, k, in, "list the sender's templates", err)
	}
	if list == nil {
		list = []provider.Template{}
	}
	return in.Sender, list, nil
}

// senders lists a client's senders; a kind without any has none.
func (s *Service) senders(ctx context.Context, k *provider.Kind, in *bellhop.Integration, p provider.Client) ([]bellhop.Sender, error) {
	sl, ok := p.(provider.SenderLister)
	if !ok {
		return []bellhop.Sender{}, nil
	}
	senders, err := sl.Senders(ctx)
	if err != nil {
		return nil, s.providerError(ctx, k, in, "list the senders", err)
	}
	return senders, nil
}
