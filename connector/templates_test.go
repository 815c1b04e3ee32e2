package connector_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/connector"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/intellectdialog"
	"github.com/bellhop/bellhop/provider/sandbox"
	"github.com/bellhop/bellhop/provider/whatsapp"
	wasandbox "github.com/bellhop/bellhop/provider/whatsapp/sandbox"
)

// templateNames lists templates as "name/language status {{n}}", sorted.
func templateNames(list []provider.Template) []string {
	var out []string
	for _, t := range list {
		out = append(out, t.Name+"/"+t.Language+" "+strings.ToUpper(t.Status)+" "+strings.Repeat("p", provider.TemplateParams(t.Text)))
	}
	slices.Sort(out)
	return out
}

// TestSenderTemplates: the templates a mailing's save checks its WhatsApp templates against
// are the sandboxes' recorded lists, read through each kind's client: the Cloud API's and
// 360dialog's approved ones with their bodies, IntellectDialog's official sender's with their
// statuses (rejected ones too), none for a WhatsApp Web sender; an unreachable provider is
// provider_unavailable, a kind not connected not_found, no sender not_ready.
func TestSenderTemplates(t *testing.T) {
	ctx := context.Background()
	wa := wasandbox.New(wasandbox.Config{})
	srv := httptest.NewServer(wa)
	t.Cleanup(srv.Close)
	t.Cleanup(wa.Close)
	id := sandbox.New(sandbox.Config{})
	org := sandbox.DefaultOrganization()
	org.Senders = append(org.Senders, sandbox.OfficialSender("3"))
	org.Templates = map[string][]sandbox.Template{"3": sandbox.DefaultTemplates()}
	id.AddOrganization(org)
	idSrv := httptest.NewServer(id)
	t.Cleanup(idSrv.Close)
	t.Cleanup(id.Close)

	s, _ := channelService(t, "", nil)
	if _, err := s.SenderTemplates(ctx, "p", whatsapp.KindCloud); bellhop.ErrorCode(err) != bellhop.ENotFound {
		t.Fatalf("templates of a kind not connected = %v, want not_found", err)
	}
	connect := func(kind string, creds connector.CredentialsInput, sender string) {
		t.Helper()
		if _, err := s.SetCredentials(ctx, "p", kind, creds); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Check(ctx, "p", kind); err != nil {
			t.Fatal(err)
		}
		if sender != "" {
			if _, err := s.ChooseSender(ctx, "p", kind, connector.SenderInput{SenderID: sender}); err != nil {
				t.Fatal(err)
			}
		}
	}
	connect(whatsapp.KindCloud, connector.CredentialsInput{"access_token": wasandbox.DefaultToken, "waba_id": wasandbox.DefaultWABAID,
		"app_secret": wasandbox.DefaultAppSecret, "base_url": wasandbox.CloudBaseURL(srv.URL)}, "")
	if _, err := s.SenderTemplates(ctx, "p", whatsapp.KindCloud); bellhop.ErrorCode(err) != bellhop.ENotReady {
		t.Fatalf("templates before a sender is chosen = %v, want not_ready", err)
	}
	if _, err := s.ChooseSender(ctx, "p", whatsapp.KindCloud, connector.SenderInput{SenderID: wasandbox.NumberReception}); err != nil {
		t.Fatal(err)
	}
	connect(whatsapp.KindDialog360, connector.CredentialsInput{"api_key": wasandbox.DefaultAPIKey360, "base_url": wasandbox.Dialog360BaseURL(srv.URL)}, "")
	connect(intellectdialog.Kind, connector.CredentialsInput{"api_key": sandbox.DefaultAPIKey, "base_url": idSrv.URL + "/v2/"}, "3")

	for _, c := range []struct {
		kind string
		want []string
	}{
		// The account's approved templates, every page; the rejected promotion left out.
		{whatsapp.KindCloud, []string{"booking_welcome/en APPROVED ppp", "booking_welcome/ru APPROVED ppp", "checkin_reminder/en APPROVED p"}},
		{whatsapp.KindDialog360, []string{"booking_welcome/en APPROVED ppp", "booking_welcome/ru APPROVED ppp", "checkin_reminder/en APPROVED p"}},
		// IntellectDialog lists every status.
		{intellectdialog.Kind, []string{"booking_welcome/en APPROVED ppp", "promo_discount/ru REJECTED p"}},
	} {
		list, err := s.SenderTemplates(ctx, "p", c.kind)
		if err != nil {
			t.Fatalf("%s: %v", c.kind, err)
		}
		if got := templateNames(list); !slices.Equal(got, c.want) {
			t.Errorf("%s templates = %q, want %q", c.kind, got, c.want)
		}
	}
	// A WhatsApp Web sender of IntellectDialog has none.
	if _, err := s.ChooseSender(ctx, "p", intellectdialog.Kind, connector.SenderInput{SenderID: "1"}); err != nil {
		t.Fatal(err)
	}
	if list, err := s.SenderTemplates(ctx, "p", intellectdialog.Kind); err != nil || len(list) != 0 {
		t.Fatalf("a WhatsApp Web sender's templates = %v, %v; want none", list, err)
	}

	wa.SetOutage(http.StatusServiceUnavailable)
	if _, err := s.SenderTemplates(ctx, "p", whatsapp.KindCloud); bellhop.ErrorCode(err) != bellhop.EProviderUnavailable {
		t.Fatalf("templates of an unreachable provider = %v, want provider_unavailable", err)
	}
}
