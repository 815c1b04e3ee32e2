package queue

import (
	"testing"

	"github.com/bellhop/bellhop"
)

func TestSenderKeyIsTheIntegrationsOwnIdentity(t *testing.T) {
	in := func(pid, baseURL, org, group string) *bellhop.Integration {
		return &bellhop.Integration{PropertyID: pid, Provider: "intellectdialog", BaseURL: baseURL, OrganizationID: org,
			Sender: &bellhop.Sender{ID: "1"}, PacerGroup: group}
	}
	const real = "https://api.intellectdialog.com/v2/"
	for _, tt := range []struct {
		name string
		in   *bellhop.Integration
		want string
	}{
		{"own property", in("B", real, "42", ""), "intellectdialog:api.intellectdialog.com:42:1:B"},
		{"host normalised", in("B", "HTTPS://API.IntellectDialog.com.:443/v2", "42", ""), "intellectdialog:api.intellectdialog.com:42:1:B"},
		{"another port", in("B", "https://api.intellectdialog.com:8443/v2/", "42", ""), "intellectdialog:api.intellectdialog.com:8443:42:1:B"},
		{"a server claiming the same ids", in("F", "http://127.0.0.1:8080/v2/", "42", ""), "intellectdialog:127.0.0.1:8080:42:1:F"},
		{"IPv6", in("F", "http://[::1]:8080/v2/", "42", ""), "intellectdialog:[::1]:8080:42:1:F"},
		{"shared by a group", in("B", real, "42", "riverside"), "intellectdialog:api.intellectdialog.com:42:1:group=riverside"},
		{"parts cannot pose as others", in("x=y:{z}", real, "4:2", ""), "intellectdialog:api.intellectdialog.com:4%3A2:1:x%3Dy%3A%7Bz%7D"},
		{"a property named like a group", in("group=riverside", real, "42", ""), "intellectdialog:api.intellectdialog.com:42:1:group%3Driverside"},
	} {
		if got := SenderKey(tt.in); got != tt.want {
			t.Errorf("%s: SenderKey = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestPacerGroupNames(t *testing.T) {
	for in, want := range map[string]string{"": "", "  Riverside-Hotels ": "riverside-hotels", "a.b_c-1": "a.b_c-1"} {
		if got, err := PacerGroup("share_with_group", in); err != nil || got != want {
			t.Errorf("PacerGroup(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"-x", "a b", "a:b", "{x}", "x=y", string(make([]byte, 65))} {
		if _, err := PacerGroup("share_with_group", bad); bellhop.ErrorCode(err) != bellhop.EInvalid {
			t.Errorf("PacerGroup(%q) = %v, want invalid_input", bad, err)
		}
	}
}
