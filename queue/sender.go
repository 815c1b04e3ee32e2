package queue

import (
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/memo"
)

// SenderKey names an integration's sender for the pacer. A sender's pace, settings and pause
// belong to the integration's own identity: the provider kind, the provider's host (from the
// integration's base URL, so a server that claims another account's ids paces a sender of its
// own), the provider's account and sender ids (as the provider answered the property's own key),
// and then either the property — kind:host:org:sender:pid — or, when the property's
// administrator set a pacer group, the group — kind:host:org:sender:group=NAME — which every
// property sharing the number sets to the same name. Parts are escaped so that no two
// identities give one key.
func SenderKey(in *bellhop.Integration) string {
	last := escapeKeyPart(in.PropertyID)
	if in.PacerGroup != "" {
		last = "group=" + escapeKeyPart(in.PacerGroup)
	}
	sender := ""
	if in.Sender != nil {
		sender = in.Sender.ID
	}
	return strings.Join([]string{
		escapeKeyPart(in.Provider), ProviderHost(in.BaseURL), escapeKeyPart(in.OrganizationID),
		escapeKeyPart(sender), last,
	}, ":")
}

// ProviderHost is the host of a provider's base URL as the pacer names it: lower case, without
// a trailing dot or the scheme's default port (host or host:port; IPv6 in brackets).
// Characters the pacer's key cannot hold are escaped.
func ProviderHost(baseURL string) string {
	return providerHosts.Get(baseURL, func(baseURL string) (string, bool) { return providerHost(baseURL), true })
}

// providerHosts remembers ProviderHost's answers: a worker names its senders' keys with it on
// every send, and a deployment's base URLs are few.
var providerHosts = memo.Map[string, string]{Limit: 1000}

func providerHost(baseURL string) string {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || u.Host == "" {
		return ""
	}
	host, port := strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), u.Port()
	switch {
	case port == "443" && u.Scheme == "https", port == "80" && u.Scheme == "http":
		port = ""
	}
	h := host
	if strings.Contains(host, ":") {
		h = "[" + host + "]"
	}
	if port != "" {
		h = net.JoinHostPort(host, port)
	}
	return keyEscaper.Replace(h)
}

// keyEscaper escapes what the pacer's key must not hold ({ and }: its Redis hash tag) and what
// separates its parts; ':' is left to the host's port, whose place the number of parts tells.
var (
	keyEscaper  = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D", "=", "%3D")
	partEscaper = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D", "=", "%3D", ":", "%3A")
)

func escapeKeyPart(s string) string { return partEscaper.Replace(s) }

// pacerGroupPattern is what a pacer group may be: a short name, so it reads well in keys,
// logs and the page.
var pacerGroupPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// PacerGroup checks a pacer group as an administrator entered it and returns it normalised
// (trimmed, lower case); "" means none. field names the input in the error.
func PacerGroup(field, group string) (string, error) {
	g := strings.ToLower(strings.TrimSpace(group))
	if g != "" && !pacerGroupPattern.MatchString(g) {
		return "", bellhop.Invalid(field, "must be 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit")
	}
	return g, nil
}
