// Package channels is the one place Bellhop's channel kinds are registered: adding a kind is
// one package under provider/ and one line here.
package channels

import (
	"github.com/bellhop/bellhop/provider"
	"github.com/bellhop/bellhop/provider/email"
	"github.com/bellhop/bellhop/provider/intellectdialog"
	"github.com/bellhop/bellhop/provider/whatsapp"
)

// Registry returns every kind Bellhop ships: IntellectDialog, WhatsApp Cloud API, 360dialog
// and email (SMTP).
func Registry() *provider.Registry {
	return provider.NewRegistry(
		intellectdialog.Channel(),
		whatsapp.CloudChannel(),
		whatsapp.Dialog360Channel(),
		email.Channel(),
	)
}
