package channels_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/channels"
)

// TestRegistryDeclaresEveryKind: every kind is complete — a title, fields with labels, a
// pacing profile, an address — and what its capabilities promise its client implements.
func TestRegistryDeclaresEveryKind(t *testing.T) {
	r := channels.Registry()
	if got, want := r.Names(), []string{"dialog360", "email", "intellectdialog", "whatsapp_cloud"}; !slices.Equal(got, want) {
		t.Fatalf("kinds %v, want %v", got, want)
	}
	creds := map[string]provider.Credentials{
		"intellectdialog": {"api_key": "id-key-0123456789"},
		"whatsapp_cloud":  {"access_token": "EAAtoken", "waba_id": "102290129340398", "app_secret": "s"},
		"dialog360":       {"api_key": "d360-key"},
		"email":           {"host": "smtp.example.com", "from_address": "reception@hotel.example", "username": "u", "password": "p"},
	}
	for _, k := range r.All() {
		t.Run(k.Name, func(t *testing.T) {
			if k.Title == k.Name || k.Address == "" || k.Pacing.PerSender <= 0 || k.Pacing.Why == "" || len(k.Fields) == 0 {
				t.Fatalf("incomplete declaration: %+v", k)
			}
			secret := false
			for _, f := range k.Fields {
				if f.Label == "" || f.Type == "" {
					t.Errorf("field %s has no label or type", f.Name)
				}
				secret = secret || f.Secret
			}
			if !secret {
				t.Error("no secret field: the kind's credential would be stored in clear")
			}
			if err := k.Validate(creds[k.Name], false); err != nil {
				t.Fatalf("valid credentials refused: %v", err)
			}
			c, err := k.Open(provider.Config{Credentials: creds[k.Name]})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			for _, p := range []struct {
				promised bool
				has      bool
				what     string
			}{
				{k.Caps.Senders, is[provider.SenderLister](c), "senders"},
				{k.Caps.Operators, is[provider.OperatorDirectory](c), "operators"},
				{k.Caps.Templates, is[provider.TemplateLister](c), "templates"},
				{k.Caps.Lookup, is[provider.Finder](c), "lookup"},
				{k.Caps.StopList, is[provider.StopLister](c), "stop list"},
				{k.Caps.Webhook, is[provider.WebhookInstaller](c), "webhook"},
			} {
				if p.promised != p.has {
					t.Errorf("%s: promised %v, client has it %v", p.what, p.promised, p.has)
				}
			}
			if (k.Callbacks != nil) != k.Caps.Statuses {
				t.Errorf("statuses %v but callbacks %v", k.Caps.Statuses, k.Callbacks != nil)
			}
		})
	}
}

func is[T any](c provider.Client) bool {
	_, ok := c.(T)
	return ok
}

// TestUnknownFieldsAndMissingOnes: a PUT body is checked against the kind's fields.
func TestUnknownFieldsAndMissingOnes(t *testing.T) {
	k, _ := channels.Registry().Get("whatsapp_cloud")
	err := k.Validate(provider.Credentials{"access_token": "t", "api_key": "x"}, false)
	if err == nil {
		t.Fatal("an unknown field and two missing ones were accepted")
	}
	for _, want := range []string{"api_key", "waba_id", "app_secret"} {
		if !containsField(err, want) {
			t.Errorf("the error does not name %s: %v", want, err)
		}
	}
}

func containsField(err error, name string) bool {
	var e *bellhop.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, f := range e.Fields {
		if f.Field == name {
			return true
		}
	}
	return false
}
