package intellectdialog

import (
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
)

// SenderInterval is the default least time between two messages of one WhatsApp Web number:
// a number that sends faster is soon banned. A manager may change it per number.
const SenderInterval = 300 * time.Second

// Channel declares the kind intellectdialog: an IntellectDialog account, which sends from
// WhatsApp Web numbers, signs operators in to its own chat UI, lists what it sent (so a lost
// answer can be settled), keeps a stop list and has exactly one webhook, set through the API
// with the integration's secret in its URL.
func Channel() provider.Kind {
	return provider.Kind{
		Name: Kind, Title: "IntellectDialog", DefaultBaseURL: DefaultBaseURL,
		Address: provider.AddressPhone,
		Caps: provider.Capabilities{Text: true, Templates: true, Senders: true, Operators: true, Statuses: true,
			Inbound: true, Lookup: true, StopList: true, Webhook: true},
		Pacing: provider.Pacing{PerSender: SenderInterval, Adjustable: true,
			Why: "WhatsApp Web numbers that send fast are banned: one message per 5 minutes per number by default."},
		Fields: []provider.Field{
			{Name: "api_key", Label: "API key", Secret: true, Required: true, Type: "text",
				Help: "From the IntellectDialog account's settings → API."},
			{Name: "base_url", Label: "API address", Type: "url", Help: "Leave empty for " + DefaultBaseURL},
		},
		Open: func(cfg provider.Config) (provider.Client, error) {
			if cfg.APIKey == "" {
				cfg.APIKey = cfg.Credentials.Get("api_key")
			}
			if cfg.APIKey == "" {
				return nil, bellhop.Invalid("api_key", "is required")
			}
			return New(cfg)
		},
		Callbacks: &provider.Callbacks{
			URLSecret: true,
			Parse: func(body []byte, zone string) ([]provider.StatusEvent, error) {
				loc, _ := ParseZone(zone)
				return ParseEventsIn(body, loc)
			},
		},
	}
}
