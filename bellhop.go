// Package bellhop holds the domain types that Bellhop's packages share: properties, staff,
// integrations, senders and operators, the error type with its codes, and the clock.
package bellhop

import (
	"sync"
	"time"
)

// Clock tells the time. Everything that needs "now" takes a Clock so tests can drive time.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// Role is what a bearer token may do.
type Role string

const (
	// RoleAdmin is a property manager: integrations, mapping, mailings.
	RoleAdmin Role = "admin"
	// RoleService is the PMS: provisioning properties, staff and bookings, chat sessions.
	RoleService Role = "service"
)

// AllProperties is the property scope of a token that may reach every property.
const AllProperties = "*"

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleService }

// Property is a hotel as the PMS knows it. ID is the PMS's own id.
type Property struct {
	ID            string    `json:"id" validate:"required,max=64,ident"`
	Name          string    `json:"name" validate:"required,max=200"`
	TimeZone      string    `json:"time_zone" validate:"required,timezone"`
	Country       string    `json:"country,omitempty" validate:"omitempty,iso3166_1_alpha2"`
	Language      string    `json:"language" validate:"required,language"`
	ContactCenter bool      `json:"contact_center"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Location returns the property's time zone. The zone was validated on save.
func (p *Property) Location() *time.Location {
	if loc, ok := locations.Load(p.TimeZone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		return time.UTC
	}
	locations.Store(p.TimeZone, loc)
	return loc
}

// locations keeps the zones read so far: time.LoadLocation reads the zone's file every time,
// and planning asks for it once per booking and mailing (a bulk intake, thousands a second).
var locations sync.Map

// Staff is a PMS user of a property.
type Staff struct {
	ID         string    `json:"id" validate:"required,max=64,ident"`
	PropertyID string    `json:"property_id"`
	Name       string    `json:"name" validate:"required,max=200"`
	Email      string    `json:"email,omitempty" validate:"omitempty,email,max=254"`
	Active     bool      `json:"active"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// IntegrationStatus says what Bellhop knows about an integration's API key.
type IntegrationStatus string

const (
	// StatusUnverified: the key was saved but not yet checked against the provider.
	StatusUnverified IntegrationStatus = "unverified"
	// StatusVerified: the provider accepted the key at the last check.
	StatusVerified IntegrationStatus = "verified"
	// StatusInvalid: the provider rejected the key.
	StatusInvalid IntegrationStatus = "invalid"
)

// Integration connects one property to one messaging provider kind (e.g. "intellectdialog").
type Integration struct {
	PropertyID string `json:"property_id"`
	Provider   string `json:"provider"`
	// SealedKey is the API key sealed with AES-256-GCM; it never leaves the process.
	SealedKey []byte `json:"-"`
	// KeyHint shows the last characters of the key, e.g. "…9f3a".
	KeyHint          string            `json:"key_hint,omitempty"`
	BaseURL          string            `json:"base_url"`
	Status           IntegrationStatus `json:"status"`
	StatusReason     string            `json:"status_reason,omitempty"`
	OrganizationID   string            `json:"organization_id,omitempty"`
	OrganizationName string            `json:"organization_name,omitempty"`
	// Sender is the chosen sending channel, nil until one is chosen. With a pool it is the
	// pool's first sender.
	Sender *Sender `json:"sender"`
	// Pool is every sender of a pool of senders of one type, in the order chosen, Sender
	// first; empty when the integration sends from Sender alone. Each guest hears from one
	// number of the pool; new guests are spread by the numbers' free capacity.
	Pool   []Sender `json:"pool,omitempty"`
	Active bool     `json:"active"`
	// SealedWebhookSecret authenticates the provider's callbacks for this integration.
	SealedWebhookSecret []byte     `json:"-"`
	CheckedAt           *time.Time `json:"checked_at"`
	ActivatedAt         *time.Time `json:"activated_at"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
	// OrganizationZone is the provider account's time zone as the provider names it.
	OrganizationZone string `json:"organization_zone,omitempty"`
	// WebhookMode says what activation did with the webhook another system had installed
	// on the provider account: WebhookReplaced or WebhookForward ("" when there was none).
	WebhookMode WebhookMode `json:"webhook_mode,omitempty"`
	// SealedPreviousWebhook is that webhook (JSON {url, events}), sealed: its URL may carry
	// the other system's secret. Deactivation puts it back.
	SealedPreviousWebhook []byte `json:"-"`
	// Relay failures of WebhookForward, and the last callback Bellhop could not read (size-
	// capped, for diagnosis). Written by their own narrow updates, never by SaveIntegration.
	ForwardFailures      int        `json:"forward_failures,omitempty"`
	ForwardLastError     string     `json:"forward_last_error,omitempty"`
	ForwardLastFailedAt  *time.Time `json:"forward_last_failed_at,omitempty"`
	UnreadableCallback   string     `json:"unreadable_callback,omitempty"`
	UnreadableCallbackAt *time.Time `json:"unreadable_callback_at,omitempty"`
	// PacerGroup, when set, shares the sender's pace with the other properties whose
	// integrations set the same group for the same provider host, account and sender; ""
	// paces it for this property alone. Written by its own update (SetPacerGroup), which a
	// save of the integration leaves alone.
	PacerGroup string `json:"pacer_group,omitempty"`
	// Settings are the kind's non-secret fields other than base_url (host, port, waba_id,
	// from_address, …) by name, as the kind declares them.
	Settings map[string]string `json:"settings,omitempty"`
	// SealedCredentials are the kind's secret fields other than api_key (access_token,
	// app_secret, password) as one JSON object, sealed like the key; never returned.
	SealedCredentials []byte `json:"-"`
}

// Senders returns the senders the integration sends from: its pool, or its one sender (none
// until one is chosen).
func (in *Integration) Senders() []Sender {
	switch {
	case len(in.Pool) > 0:
		return in.Pool
	case in.Sender != nil:
		return []Sender{*in.Sender}
	}
	return nil
}

// WebhookMode is what activation did with another system's webhook on the provider account.
type WebhookMode string

const (
	// WebhookReplaced: Bellhop's webhook replaced it; deactivation puts it back.
	WebhookReplaced WebhookMode = "replaced"
	// WebhookForward: Bellhop's webhook replaced it and relays every callback to it unchanged.
	WebhookForward WebhookMode = "forward"
)

// Organization is the provider account an API key belongs to.
type Organization struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Zone is the account's time zone as the provider names it; the provider's times are in it.
	Zone string `json:"zone,omitempty"`
}

// Sender is a provider's sending channel: a WhatsApp number, a Telegram bot, a mail account
// (its ID is the from address), …
type Sender struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
	// Quality is the provider's quality rating of the number (WhatsApp Business: GREEN,
	// YELLOW, RED, UNKNOWN); "" where the provider rates none. Listed live, not stored.
	Quality string `json:"quality,omitempty"`
}

// Label is how a person picks the sender: "whatsapp · Reception (+79990000001)".
func (s Sender) Label() string {
	l := s.Type + " · " + s.Name
	if s.Phone != "" {
		l += " (" + s.Phone + ")"
	}
	return l
}

// Operator is a provider user who answers guest chats (IntellectDialog calls them employees).
type Operator struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

// Token is a bearer token as stored: only its SHA-256 hash is kept.
type Token struct {
	ID         string    `json:"id"`
	Hash       []byte    `json:"-"`
	PropertyID string    `json:"property_id"`
	Role       Role      `json:"role"`
	CreatedAt  time.Time `json:"created_at"`
	// ExpiresAt is when the token stops working; nil: never.
	ExpiresAt *time.Time `json:"expires_at"`
	// LastUsedAt is the token's last use, to the minute (it is written at most once a minute).
	LastUsedAt *time.Time `json:"last_used_at"`
	// RevokedAt is when the token was revoked; nil while it is not.
	RevokedAt *time.Time `json:"revoked_at"`
}

// Works reports whether the token may still be used at now: not revoked, not expired.
func (t *Token) Works(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// Reaches reports whether the token may act on property pid.
func (t *Token) Reaches(pid string) bool {
	return t.PropertyID == AllProperties || t.PropertyID == pid
}
