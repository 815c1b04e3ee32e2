package safehttp_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/provider/safehttp"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url     string
		refused string // a word of the reason; "" = allowed
	}{
		{"https://api.intellectdialog.com/v2/", ""},
		{"https://api.intellectdialog.com:8443/v2/", ""},
		{"https://8.8.8.8/v2/", ""},
		{"https://[2606:4700::1111]/", ""},
		{"http://api.intellectdialog.com/v2/", "https://"},
		{"ftp://api.intellectdialog.com/", "https://"},
		{"api.intellectdialog.com/v2/", "absolute"},
		{"https:///v2/", "absolute"},
		{"https://127.0.0.1/", "loopback"},
		{"https://127.1.2.3:1/", "loopback"},
		{"https://[::1]/", "loopback"},
		{"https://[::ffff:127.0.0.1]/", "loopback"},
		{"https://10.1.2.3/", "private"},
		{"https://172.16.0.1/", "private"},
		{"https://172.31.255.255/", "private"},
		{"https://192.168.1.1/", "private"},
		{"https://[fd12:3456::1]/", "private"},
		{"https://[fc00::1]/", "private"},
		{"https://169.254.169.254/latest/", "metadata"},
		{"https://169.254.1.1/", "link-local"},
		{"https://[fe80::1]/", "link-local"},
		{"https://[fe80::1%25eth0]/", "link-local"},
		{"https://0.0.0.0/", "unspecified"},
		{"https://[::]/", "unspecified"},
		{"https://224.0.0.1/", "multicast"},
		{"https://[ff02::1]/", "multicast"},
		{"https://100.64.0.1/", "carrier-grade"},
		{"https://100.100.100.200/", "metadata"},
		{"https://[fd00:ec2::254]/", "metadata"},
		{"https://[64:ff9b::a00:1]/", "private"}, // NAT64 of 10.0.0.1
		{"https://[2002:7f00:1::]/", "loopback"}, // 6to4 of 127.0.0.1
		{"https://255.255.255.255/", "reserved"},
		{"https://localhost/", "this machine"},
		{"https://LOCALHOST./", "this machine"},
		{"https://api.localhost/", "this machine"},
		{"https://metadata.google.internal/computeMetadata/v1/", "metadata"},
		{"https://metadata/", "inside your network"},
		{"https://redis/", "inside your network"},
		{"https://printer.local/", "inside your network"},
		{"https://db.corp.internal/", "inside your network"},
		{"https://127.1/", "written in full"},
		{"https://2130706433/", "inside your network"},
	}
	for _, tt := range tests {
		err := safehttp.Policy{}.CheckURL(tt.url)
		var re *safehttp.RefusedError
		switch {
		case tt.refused == "" && err != nil:
			t.Errorf("CheckURL(%q) = %v, want allowed", tt.url, err)
		case tt.refused != "" && !errors.As(err, &re):
			t.Errorf("CheckURL(%q) = %v, want refused (%s)", tt.url, err, tt.refused)
		case tt.refused != "" && !strings.Contains(re.Reason, tt.refused):
			t.Errorf("CheckURL(%q) reason %q, want it to say %q", tt.url, re.Reason, tt.refused)
		}
		// The operator's flag allows every http(s) address.
		if err := (safehttp.Policy{AllowPrivate: true}).CheckURL(tt.url); err != nil && tt.refused != "absolute" && !strings.HasPrefix(tt.url, "ftp:") {
			t.Errorf("with AllowPrivate, CheckURL(%q) = %v, want allowed", tt.url, err)
		}
	}
}

// fakeDNS answers every A question with addr and every other question with no answer, over
// UDP on loopback; the resolver it returns asks it alone.
func fakeDNS(t *testing.T, addr netip.Addr) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if ans := dnsAnswer(buf[:n], addr); ans != nil {
				_, _ = pc.WriteTo(ans, from)
			}
		}
	}()
	server := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", server)
	}}
}

// dnsAnswer builds the answer to one question (RFC 1035 §4.1).
func dnsAnswer(q []byte, addr netip.Addr) []byte {
	if len(q) < 12 {
		return nil
	}
	i := 12
	for i < len(q) && q[i] != 0 {
		i += int(q[i]) + 1
	}
	if i+5 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i+1:])
	question := q[12 : i+5]
	out := make([]byte, 12, 64)
	copy(out, q[:2])                            // id
	binary.BigEndian.PutUint16(out[2:], 0x8180) // answer, recursion desired and available
	binary.BigEndian.PutUint16(out[4:], 1)      // one question
	out = append(out, question...)
	if qtype == 1 && addr.Is4() {
		binary.BigEndian.PutUint16(out[6:], 1) // one answer
		a := addr.As4()
		out = append(out, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
		out = append(out, a[:]...)
	}
	return out
}

// A public-looking name passes the check before the call; when DNS answers with loopback,
// the connection is refused all the same.
func TestDialRefusesPrivateAddressAfterDNS(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secret inside")
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	resolver := fakeDNS(t, netip.MustParseAddr("127.0.0.1"))
	target := "provider.example.com:" + port

	p := safehttp.Policy{Resolver: resolver}
	if err := p.CheckURL("https://" + target + "/v2/"); err != nil {
		t.Fatalf("the name itself is public: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := p.DialContext(ctx, "tcp", target)
	var re *safehttp.RefusedError
	if !errors.As(err, &re) || !strings.Contains(re.Reason, "loopback") {
		t.Fatalf("dial %s (resolves to 127.0.0.1) = %v, want refused as loopback", target, err)
	}

	// The client's whole path: the https URL passes the check, the connection does not.
	_, err = p.Client().Get("https://" + target + "/v2/companies")
	if !errors.As(err, &re) || !strings.Contains(re.Reason, "127.0.0.1") {
		t.Fatalf("GET https://%s = %v, want refused at connect time", target, err)
	}

	// With the operator's flag, the same name connects.
	allowed := safehttp.Policy{AllowPrivate: true, Resolver: resolver}
	res, err := allowed.Client().Get("http://" + target + "/")
	if err != nil {
		t.Fatalf("with AllowPrivate: %v", err)
	}
	res.Body.Close()
}

func TestClientRefusesPrivateURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the request reached the server")
	}))
	defer srv.Close()
	_, err := safehttp.Policy{}.Client().Get(srv.URL)
	var re *safehttp.RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("GET %s = %v, want refused", srv.URL, err)
	}
}

func TestRedirectsStayOnOrigin(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a redirect to another origin was followed")
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/away":
			http.Redirect(w, r, other.URL+"/x", http.StatusFound)
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	c := safehttp.Policy{AllowPrivate: true}.Client()
	res, err := c.Get(srv.URL + "/same")
	if err != nil || res.Request.URL.Path != "/ok" {
		t.Fatalf("same-origin redirect: %v", err)
	}
	res.Body.Close()
	_, err = c.Get(srv.URL + "/away")
	var re *safehttp.RefusedError
	if !errors.As(err, &re) || !strings.Contains(re.Reason, "another site") {
		t.Fatalf("redirect to another origin = %v, want refused", err)
	}

	res, err = safehttp.Policy{AllowPrivate: true}.NoRedirectClient().Get(srv.URL + "/same")
	if err != nil || res.StatusCode != http.StatusFound {
		t.Fatalf("no-redirect client: %v, %v", res, err)
	}
	res.Body.Close()
}
