// Package safehttp is the HTTP client Bellhop calls providers and relayed webhooks with: an
// address someone typed in must not let them reach into the operator's own network.
package safehttp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Policy says which addresses Bellhop may call. The zero value allows https to public hosts
// only, which is what production wants.
type Policy struct {
	// AllowPrivate lets Bellhop call any http or https address, including loopback and the
	// operator's own network (BELLHOP_ALLOW_PRIVATE_PROVIDERS: the demo, tests, local sandboxes).
	AllowPrivate bool
	// Resolver looks host names up before connecting; nil is net.DefaultResolver.
	Resolver *net.Resolver
}

// RefusedError is an address the policy does not allow. Reason is in plain words, for people.
type RefusedError struct {
	Reason string
}

func (e *RefusedError) Error() string { return "address not allowed: " + e.Reason }

func refused(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// CheckURL checks an address before it is saved or called: an absolute https URL whose host
// is a public name or address. The name is checked again after DNS, when connecting.
func (p Policy) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return refused("it is not an absolute URL such as https://api.example.com/v2/")
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !p.AllowPrivate {
			return refused("it must start with https:// (plain http is not allowed)")
		}
	default:
		return refused("it must start with https://")
	}
	return p.CheckHost(u.Hostname())
}

// CheckHost checks a host name or a literal address. Names that only mean something inside a
// network (localhost, single labels, .internal, .local) are refused.
func (p Policy) CheckHost(host string) error {
	if p.AllowPrivate {
		return nil
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" {
		return refused("it names no host")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return p.CheckAddr(ip)
	}
	if reason := privateName(host); reason != "" {
		return refused("%s %s", host, reason)
	}
	return nil
}

// privateName says why a host name is not a public one, or "".
func privateName(host string) string {
	labels := strings.Split(host, ".")
	last := labels[len(labels)-1]
	switch {
	case host == "localhost" || strings.HasSuffix(host, ".localhost"):
		return "is this machine"
	case host == "metadata.google.internal" || host == "metadata.goog":
		return "is the cloud's instance metadata service"
	case len(labels) == 1:
		return "is a name inside your network, not a public domain name"
	case last == "internal" || last == "local" || last == "lan" || last == "intranet" ||
		strings.HasSuffix(host, ".home.arpa"):
		return "is a name inside your network, not a public domain name"
	case strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x"):
		// 127.1 or 0x7f.1: not an address netip reads, but a resolver might.
		return "is not a domain name or an address written in full"
	}
	return ""
}

// blocked lists the addresses that are not on the public internet, with what they are.
var blocked = func() []struct {
	prefix netip.Prefix
	what   string
} {
	const (
		private   = "a private address"
		reserved  = "a reserved address"
		doc       = "an address reserved for documentation"
		linkLocal = "a link-local address"
		multicast = "a multicast address"
		loopback  = "a loopback address (this machine)"
	)
	rows := []struct{ prefix, what string }{
		{"0.0.0.0/8", "an unspecified address"},
		{"10.0.0.0/8", private},
		{"100.64.0.0/10", "a shared (carrier-grade NAT) address"},
		{"127.0.0.0/8", loopback},
		{"169.254.0.0/16", linkLocal},
		{"172.16.0.0/12", private},
		{"192.0.0.0/24", reserved},
		{"192.0.2.0/24", doc},
		{"192.88.99.0/24", reserved},
		{"192.168.0.0/16", private},
		{"198.18.0.0/15", "an address reserved for benchmarks"},
		{"198.51.100.0/24", doc},
		{"203.0.113.0/24", doc},
		{"224.0.0.0/4", multicast},
		{"240.0.0.0/4", reserved},
		{"::/128", "an unspecified address"},
		{"::1/128", loopback},
		{"::/96", reserved}, // IPv4-compatible, deprecated
		{"64:ff9b:1::/48", reserved},
		{"100::/64", reserved},
		{"2001::/32", "a Teredo tunnel address"},
		{"2001:db8::/32", doc},
		{"fc00::/7", "a private (unique local) address"},
		{"fe80::/10", linkLocal},
		{"fec0::/10", reserved},
		{"ff00::/8", multicast},
	}
	out := make([]struct {
		prefix netip.Prefix
		what   string
	}, len(rows))
	for i, r := range rows {
		out[i].prefix, out[i].what = netip.MustParsePrefix(r.prefix), r.what
	}
	return out
}()

// metadata are the clouds' instance metadata services (they are in blocked ranges too; this
// only says so in plain words).
var metadata = map[netip.Addr]bool{
	netip.MustParseAddr("169.254.169.254"): true, // AWS, GCP, Azure, OpenStack, …
	netip.MustParseAddr("169.254.170.2"):   true, // AWS ECS task metadata
	netip.MustParseAddr("100.100.100.200"): true, // Alibaba Cloud
	netip.MustParseAddr("fd00:ec2::254"):   true, // AWS over IPv6
}

// CheckAddr checks an address Bellhop is about to connect to.
func (p Policy) CheckAddr(ip netip.Addr) error {
	if p.AllowPrivate {
		return nil
	}
	ip = ip.WithZone("").Unmap()
	if !ip.IsValid() {
		return refused("it is not a valid address")
	}
	if metadata[ip] {
		return refused("%s is the cloud's instance metadata service", ip)
	}
	for _, b := range blocked {
		if b.prefix.Contains(ip) {
			return refused("%s is %s", ip, b.what)
		}
	}
	// Addresses that carry an IPv4 address inside: NAT64 and 6to4.
	if ip.Is6() {
		a := ip.As16()
		var inner netip.Addr
		switch {
		case netip.MustParsePrefix("64:ff9b::/96").Contains(ip):
			inner = netip.AddrFrom4([4]byte{a[12], a[13], a[14], a[15]})
		case netip.MustParsePrefix("2002::/16").Contains(ip):
			inner = netip.AddrFrom4([4]byte{a[2], a[3], a[4], a[5]})
		}
		if inner.IsValid() {
			if err := p.CheckAddr(inner); err != nil {
				return refused("%s leads to %s", ip, err.(*RefusedError).Reason)
			}
		}
	}
	return nil
}

// dialer connects only where the policy allows: its Control hook sees the address after DNS,
// just before the connection is made, so a name that resolves (or re-resolves) to a private
// address is refused however it got there.
func (p Policy) dialer() *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Resolver: p.Resolver}
	if p.AllowPrivate {
		return d
	}
	d.Control = func(network, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return refused("%q is not an address", address)
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return refused("%q is not an address", host)
		}
		return p.CheckAddr(ip)
	}
	return d
}

// DialContext connects to address (host:port) if the policy allows the address it resolves to.
func (p Policy) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return p.dialer().DialContext(ctx, network, address)
}

// Transport returns a transport that connects only where the policy allows. It uses no proxy
// (HTTP_PROXY and HTTPS_PROXY are ignored): the address checked must be the one connected to.
func (p Policy) Transport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = p.dialer().DialContext
	return guard{policy: p, next: t}
}

// guard checks each request's URL (the first and every redirect) before it goes out.
type guard struct {
	policy Policy
	next   http.RoundTripper
}

func (g guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.policy.CheckURL(req.URL.String()); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return g.next.RoundTrip(req)
}

// Client returns a client for a provider's API: the policy's transport, and redirects followed
// only within the same origin (scheme, host and port).
func (p Policy) Client() *http.Client {
	return &http.Client{Transport: p.Transport(), CheckRedirect: sameOrigin}
}

// NoRedirectClient returns a client that answers a redirect as it is, without following it
// (relayed webhooks: a redirect elsewhere is not where the hotel pointed its callbacks).
func (p Policy) NoRedirectClient() *http.Client {
	return &http.Client{Transport: p.Transport(), CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// sameOrigin follows a redirect only to the origin of the first request.
func sameOrigin(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if origin(req.URL) != origin(via[0].URL) {
		return refused("a redirect to another site (%s) is not followed", req.URL.Redacted())
	}
	return nil
}

func origin(u *url.URL) string {
	scheme, port := strings.ToLower(u.Scheme), u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
