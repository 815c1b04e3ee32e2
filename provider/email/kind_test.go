package email_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/email"
	"github.com/bellhop/bellhop/provider/email/sandbox"
)

// channelCredentials are the integration's fields for sb, as the connector passes them.
func channelCredentials(sb *sandbox.Server) provider.Credentials {
	user, pass := sb.Credentials()
	return provider.Credentials{"host": sb.Host(), "port": strconv.Itoa(sb.Port()), "security": string(sb.Mode()),
		"username": user, "password": pass, "from_address": "reception@aurora-hotel.example", "from_name": "Hotel Aurora"}
}

func openChannel(t *testing.T, c provider.Credentials) provider.Client {
	t.Helper()
	cl, err := email.Channel().Open(provider.Config{Credentials: c, AllowPrivate: true})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return cl
}

// TestChannelAgainstSandbox: the mail account as the channel model sees it — the check, its
// one sender, a send whose Message-ID is made of the delivery id — and each SMTP failure as
// the Failure the send path acts on: surely unsent before the message went, unknown after.
func TestChannelAgainstSandbox(t *testing.T) {
	ctx := context.Background()
	sb := start(t, sandbox.Config{Mode: sandbox.ModePlain, AllowInsecureAuth: true})
	c := openChannel(t, channelCredentials(sb))
	org, err := c.Organization(ctx)
	if err != nil || org.Name != "reception@aurora-hotel.example" || !strings.Contains(org.ID, sb.Host()) {
		t.Fatalf("organization %+v, %v", org, err)
	}
	senders, _ := c.(provider.SenderLister).Senders(ctx)
	if len(senders) != 1 || senders[0].ID != "reception@aurora-hotel.example" || senders[0].Name != "Hotel Aurora" || senders[0].Type != email.Kind {
		t.Fatalf("senders %+v", senders)
	}
	m := provider.Message{Email: "anna@guest.example", Subject: "Welcome", Text: "Hello, Anna!", Mark: "dl_0123"}
	sent, err := c.SendMessage(ctx, m)
	want := email.MessageID("dl_0123", "aurora-hotel.example")
	if err != nil || sent.MessageID != want || sb.Count(want) != 1 {
		t.Fatalf("send: %+v %v; the server has it %d times", sent, err, sb.Count(want))
	}
	if got := sb.Messages()[0]; got.Header.Get("X-Bellhop-Delivery") != "dl_0123" || !strings.Contains(got.HTML, "Hello, Anna!") {
		t.Fatalf("the message: %+v", got.Header)
	}
	if _, err := c.SendMessage(ctx, provider.Message{Email: "anna@guest.example", Subject: "x", Text: "x"}); provider.FailureOf(err) != provider.FailInvalidRequest {
		t.Fatalf("a message without a delivery id: %v", err)
	}

	sb.RefuseRecipient("nobody@guest.example")
	m.Email = "nobody@guest.example"
	_, err = c.SendMessage(ctx, m)
	if pe, _ := provider.AsError(err); provider.FailureOf(err) != provider.FailUnreachable || !pe.Unsent {
		t.Fatalf("a mailbox that does not exist: %v, want unreachable and unsent", err)
	}
	m.Email = "anna@guest.example"
	sb.Fail(sandbox.StepMail, sandbox.Reply{Code: 421, Enhanced: "4.7.0", Text: "Try again later"}, 1)
	_, err = c.SendMessage(ctx, m)
	if pe, _ := provider.AsError(err); provider.FailureOf(err) != provider.FailUnavailable || !pe.Unsent {
		t.Fatalf("refused before DATA: %v, want unavailable and unsent", err)
	}
	sb.DropAfterData(1)
	_, err = c.SendMessage(ctx, m)
	if pe, _ := provider.AsError(err); provider.FailureOf(err) != provider.FailUnavailable || pe.Unsent {
		t.Fatalf("dropped after DATA: %v, want unavailable, not surely unsent", err)
	}

	wrong := channelCredentials(sb)
	wrong["password"] = "not-it"
	_, err = openChannel(t, wrong).Organization(ctx)
	if pe, _ := provider.AsError(err); provider.FailureOf(err) != provider.FailUnauthorized || pe.Field != "password" {
		t.Fatalf("a wrong password: %v", err)
	}
	_ = sb.Close()
	if _, err := c.Organization(ctx); provider.FailureOf(err) != provider.FailUnavailable {
		t.Fatalf("a server that is gone: %v", err)
	}
}

// TestChannelOpenNamesTheField: settings the client refuses are invalid_input naming the field.
func TestChannelOpenNamesTheField(t *testing.T) {
	for field, c := range map[string]provider.Credentials{
		"port":         {"host": "smtp.example.com", "port": "five", "from_address": "a@b.example"},
		"from_address": {"host": "smtp.example.com", "from_address": "reception"},
		"host":         {"host": "localhost", "from_address": "a@b.example"},
	} {
		_, err := email.Channel().Open(provider.Config{Credentials: c})
		e, ok := err.(*bellhop.Error)
		if !ok || e.Code != bellhop.EInvalid || len(e.Fields) == 0 || e.Fields[0].Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
}
