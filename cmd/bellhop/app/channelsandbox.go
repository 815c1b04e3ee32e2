package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	mailsandbox "github.com/bellhop/bellhop/provider/email/sandbox"
	wasandbox "github.com/bellhop/bellhop/provider/whatsapp/sandbox"
)

// channelSandboxes are the WhatsApp Business Platform sandbox (Cloud API and 360dialog over
// HTTP) and the SMTP sandbox, each optional (an empty address leaves it out).
type channelSandboxes struct {
	whatsapp    *wasandbox.Server
	whatsappURL string // http://ADDR
	whatsappSrv *http.Server
	mail        *mailsandbox.Server
}

// startChannelSandboxes listens on waAddr and smtpAddr. cloudHook is where Cloud API callbacks
// go (the Meta app's callback URL; "" for nowhere). The SMTP sandbox speaks without TLS and
// takes the password so (Bellhop allows that only with BELLHOP_ALLOW_PRIVATE_PROVIDERS): its
// certificate is its own, which no client trusts.
func startChannelSandboxes(waAddr, smtpAddr, cloudHook string, log *slog.Logger) (*channelSandboxes, error) {
	cs := &channelSandboxes{}
	if waAddr != "" {
		ln, err := net.Listen("tcp", waAddr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s for the WhatsApp sandbox: %w", waAddr, err)
		}
		cs.whatsapp = wasandbox.New(wasandbox.Config{WebhookURL: cloudHook, Logger: log})
		cs.whatsappURL = "http://" + ln.Addr().String()
		cs.whatsappSrv = &http.Server{Handler: cs.whatsapp, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = cs.whatsappSrv.Serve(ln) }()
	}
	if smtpAddr != "" {
		mail, err := mailsandbox.Start(mailsandbox.Config{Addr: smtpAddr, Mode: mailsandbox.ModePlain, AllowInsecureAuth: true, Logger: log})
		if err != nil {
			cs.Close()
			return nil, fmt.Errorf("start the SMTP sandbox on %s: %w", smtpAddr, err)
		}
		cs.mail = mail
	}
	return cs, nil
}

// Close stops what was started.
func (cs *channelSandboxes) Close() {
	if cs.whatsappSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = cs.whatsappSrv.Shutdown(ctx)
		cs.whatsapp.Close()
	}
	if cs.mail != nil {
		_ = cs.mail.Close()
	}
}

// describe says where each sandbox is and what to connect it with, as PUT bodies.
func (cs *channelSandboxes) describe() string {
	s := ""
	if cs.whatsapp != nil {
		s += fmt.Sprintf(`WhatsApp sandbox: %s   (control: %s/sandbox/)
  whatsapp_cloud {"access_token":%q,"waba_id":%q,"app_secret":%q,"base_url":%q}
  dialog360      {"api_key":%q,"base_url":%q}
`, cs.whatsappURL, cs.whatsappURL, wasandbox.DefaultToken, wasandbox.DefaultWABAID, wasandbox.DefaultAppSecret,
			wasandbox.CloudBaseURL(cs.whatsappURL), wasandbox.DefaultAPIKey360, wasandbox.Dialog360BaseURL(cs.whatsappURL))
	}
	if cs.mail != nil {
		s += fmt.Sprintf("SMTP sandbox: %s (no TLS)\n  email          %s\n", cs.mail.Addr(), cs.emailBody())
	}
	return s
}

// emailBody is the email kind's PUT body for the SMTP sandbox.
func (cs *channelSandboxes) emailBody() string {
	user, pass := cs.mail.Credentials()
	return fmt.Sprintf(`{"host":%q,"port":%s,"security":"none","username":%q,"password":%q,"from_address":"reception@demo-hotel.example","from_name":"Demo Hotel"}`,
		cs.mail.Host(), strconv.Itoa(cs.mail.Port()), user, pass)
}
