package integration_test

import (
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop/provider/sandbox"
)

// TestMappingAndChatSessions links staff to operators and opens their chats, on both databases:
// the provider's operators live, unknown operators refused, shared operators, the audit trail,
// chat pages that show the right operator and only their dialogs, and the errors a staff member
// meets when something is not set up.
func TestMappingAndChatSessions(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			h := start(t, db(t))
			admin := h.property("p1", true)
			base := "/api/v1/properties/p1"
			for _, s := range []struct {
				id, name string
				active   bool
			}{{"anna", "Anna Petrova", true}, {"ivan", "Ivan Sidorov", true}, {"maria", "Maria Ivanova", true}, {"olga", "Olga Old", false}} {
				h.must(201, "PUT", base+"/staff/"+s.id, h.service, map[string]any{"name": s.name, "active": s.active})
			}

			// Before any provider: the list still answers, with every active member unlinked.
			r := h.must(200, "GET", base+"/mapping", admin, nil)
			if r.Body["operators_checked"] != false || !strings.Contains(r.Body["warning"].(string), "API key") {
				t.Fatalf("mapping before a provider = %s", r.Raw)
			}
			if got := linked(r); got != "anna:- ivan:- maria:-" {
				t.Fatalf("mapping before a provider lists %q, want the three active members unlinked", got)
			}
			if r = h.must(409, "GET", base+"/operators", admin, nil); r.errCode() != "not_ready" {
				t.Fatalf("operators before a provider = %s", r.Raw)
			}

			h.must(200, "PUT", base+intg, admin, map[string]any{"api_key": "sandbox-key", "base_url": h.sbURL})
			h.must(200, "POST", base+intg+"/check", admin, nil)
			h.must(200, "PUT", base+intg+"/sender", admin, map[string]any{"sender_id": "1"})

			// Provider down: operators are provider_unavailable; the mapping still answers.
			h.sandbox.SetOutage(http.StatusServiceUnavailable)
			if r = h.must(502, "GET", base+"/operators", admin, nil); r.errCode() != "provider_unavailable" {
				t.Fatalf("operators while the provider is down = %s", r.Raw)
			}
			r = h.must(200, "GET", base+"/mapping", admin, nil)
			if r.Body["operators_checked"] != false || !strings.Contains(r.Body["warning"].(string), "try again") {
				t.Fatalf("mapping while the provider is down = %s", r.Raw)
			}
			h.sandbox.SetOutage(0)

			r = h.must(200, "GET", base+"/operators", admin, nil)
			if got := names(r.Body["operators"]); got != "1:Irina Orlova 2:Pavel Smirnov 3:Elena Kuznetsova" {
				t.Fatalf("operators = %q (%s)", got, r.Raw)
			}
			// Briefly cached: a second look while the provider is down is answered from the cache.
			h.sandbox.SetOutage(http.StatusServiceUnavailable)
			h.must(200, "GET", base+"/operators", admin, nil)
			h.sandbox.SetOutage(0)

			// Link; two staff may share one operator.
			r = h.must(200, "PUT", base+"/mapping/anna", admin, map[string]any{"operator_id": "1"})
			if op, _ := r.Body["operator"].(map[string]any); op["id"] != "1" || op["name"] != "Irina Orlova" {
				t.Fatalf("link anna = %s", r.Raw)
			}
			h.must(200, "PUT", base+"/mapping/ivan", admin, map[string]any{"operator_id": "1"})
			if got := linked(h.must(200, "GET", base+"/mapping", admin, nil)); got != "anna:1 ivan:1 maria:-" {
				t.Fatalf("mapping = %q", got)
			}

			// Mistakes: an operator the provider does not know, no operator, an inactive, unknown
			// or foreign member.
			r = h.must(422, "PUT", base+"/mapping/anna", admin, map[string]any{"operator_id": "99"})
			if r.errCode() != "invalid_input" || !strings.Contains(r.Raw, `"field":"operator_id"`) || !strings.Contains(r.errMessage(), `"99"`) {
				t.Fatalf("unknown operator = %s", r.Raw)
			}
			if r = h.must(422, "PUT", base+"/mapping/anna", admin, map[string]any{}); !strings.Contains(r.Raw, `"field":"operator_id"`) {
				t.Fatalf("no operator = %s", r.Raw)
			}
			if r = h.must(409, "PUT", base+"/mapping/olga", admin, map[string]any{"operator_id": "1"}); !strings.Contains(r.errMessage(), "deactivated") {
				t.Fatalf("link an inactive member = %s", r.Raw)
			}
			h.must(404, "PUT", base+"/mapping/nobody", admin, map[string]any{"operator_id": "1"})

			// Chat sessions need an active integration.
			r = h.must(409, "POST", base+"/chat-sessions", h.service, map[string]any{"staff_id": "anna"})
			if r.errCode() != "not_ready" || !strings.Contains(r.errMessage(), "administrator") {
				t.Fatalf("chat before activation = %s", r.Raw)
			}
			h.must(200, "POST", base+intg+"/activate", admin, nil)

			// Anna opens her chats: the page is signed in as her operator and shows only that
			// operator's dialogs.
			r = h.must(201, "POST", base+"/chat-sessions", h.service, map[string]any{"staff_id": "anna"})
			page := h.chatPage(t, r)
			h.checkChatPage(t, page, "1", "Irina Orlova")

			// Ivan moves to operator 2, and his page follows.
			h.must(200, "PUT", base+"/mapping/ivan", admin, map[string]any{"operator_id": "2"})
			r = h.must(201, "POST", base+"/chat-sessions", h.service, map[string]any{"staff_id": "ivan"})
			h.checkChatPage(t, h.chatPage(t, r), "2", "Pavel Smirnov")

			// Maria is not linked: 409 not_mapped, telling her whom to ask.
			r = h.must(409, "POST", base+"/chat-sessions", h.service, map[string]any{"staff_id": "maria"})
			if r.errCode() != "not_mapped" || !strings.Contains(r.errMessage(), "Maria Ivanova") || !strings.Contains(r.errMessage(), "administrator") {
				t.Fatalf("chat of an unlinked member = %s", r.Raw)
			}
			if r = h.must(422, "POST", base+"/chat-sessions", h.service, map[string]any{}); !strings.Contains(r.Raw, `"field":"staff_id"`) {
				t.Fatalf("chat without a staff id = %s", r.Raw)
			}
			h.must(404, "POST", base+"/chat-sessions", h.service, map[string]any{"staff_id": "nobody"})

			// The operator is deleted at the provider: the chat says so, and the mapping shows it.
			h.sandbox.RemoveOperator("2")
			r = h.must(409, "POST", base+"/chat-sessions", h.service, map[string]any{"staff_id": "ivan"})
			if r.errCode() != "operator_missing" || !strings.Contains(r.errMessage(), "administrator") {
				t.Fatalf("chat with a removed operator = %s", r.Raw)
			}
			r = h.must(200, "GET", base+"/mapping", admin, nil)
			if missing := missingOperators(r); missing != "ivan" {
				t.Fatalf("operator_missing set for %q, want ivan only: %s", missing, r.Raw)
			}

			// Unlinking, and a member who leaves, take them off the list.
			h.must(204, "DELETE", base+"/mapping/ivan", admin, nil)
			h.must(204, "DELETE", base+"/staff/anna", h.service, nil)
			if got := linked(h.must(200, "GET", base+"/mapping", admin, nil)); got != "ivan:- maria:-" {
				t.Fatalf("mapping after unlinking ivan and deleting anna = %q", got)
			}

			// The audit trail: who, when, old → new, newest first.
			r = h.must(200, "GET", base+"/mapping-changes", admin, nil)
			if got := trail(r); got != "ivan:2→none ivan:1→2 ivan:none→1 anna:none→1" {
				t.Fatalf("audit trail = %q (%s)", got, r.Raw)
			}
			first := r.Body["changes"].([]any)[3].(map[string]any)
			if !strings.HasPrefix(first["actor"].(string), "token:") || first["at"] == nil {
				t.Fatalf("a change must say who and when: %v", first)
			}
			if got := trail(h.must(200, "GET", base+"/mapping-changes?staff_id=anna", admin, nil)); got != "anna:none→1" {
				t.Fatalf("anna's trail = %q", got)
			}
			h.must(422, "GET", base+"/mapping-changes?limit=lots", admin, nil)

			// Another property's people see none of this, and reach none of p1's staff.
			other := h.property("p2", true)
			h.must(201, "PUT", "/api/v1/properties/p2/staff/boris", h.service, map[string]any{"name": "Boris"})
			h.must(404, "POST", base+"/chat-sessions", h.service, map[string]any{"staff_id": "boris"})
			h.must(404, "POST", "/api/v1/properties/p2/chat-sessions", h.service, map[string]any{"staff_id": "maria"})
			for _, c := range []struct{ method, path string }{
				{"GET", base + "/mapping"}, {"GET", base + "/operators"}, {"GET", base + "/mapping-changes"},
				{"PUT", base + "/mapping/maria"}, {"DELETE", base + "/mapping/maria"}, {"POST", base + "/chat-sessions"},
			} {
				if r := h.call(c.method, c.path, other, map[string]any{"operator_id": "1", "staff_id": "maria"}); r.Status != 404 {
					t.Errorf("%s %s with p2's token = %d, want 404", c.method, c.path, r.Status)
				}
			}
			// The PMS's token cannot change links.
			h.must(403, "PUT", base+"/mapping/maria", h.service, map[string]any{"operator_id": "1"})
		})
	}
}

// chatPage opens a chat session's URL as the staff member's browser would.
func (h *harness) chatPage(t *testing.T, r response) string {
	t.Helper()
	u, _ := r.Body["url"].(string)
	exp, err := time.Parse(time.RFC3339, stringOf(r.Body["expires_at"]))
	if u == "" || err != nil || !exp.After(time.Now()) {
		t.Fatalf("chat session = %s, want a url and a future expires_at", r.Raw)
	}
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s = %d: %s", u, res.StatusCode, b)
	}
	return string(b)
}

var dialogRE = regexp.MustCompile(`<li class="dialog" data-chat-id="([^"]+)"[^>]*data-operator-id="([^"]+)"`)

// checkChatPage checks the page is signed in as the operator and lists exactly their dialogs.
func (h *harness) checkChatPage(t *testing.T, page, opID, opName string) {
	t.Helper()
	if want := "Signed in as " + opName + " (operator " + opID + ")"; !strings.Contains(page, want) {
		t.Fatalf("chat page does not say %q:\n%s", want, page)
	}
	var shown, want []string
	for _, m := range dialogRE.FindAllStringSubmatch(page, -1) {
		if m[2] != opID {
			t.Errorf("chat page of operator %s shows operator %s's dialog %s", opID, m[2], m[1])
		}
		shown = append(shown, m[1])
	}
	for _, d := range h.sandbox.Dialogs(sandbox.DefaultOrgID, opID) {
		want = append(want, d.ChatID)
	}
	slices.Sort(shown)
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(shown, want) {
		t.Errorf("chat page of operator %s shows dialogs %v, want exactly %v", opID, shown, want)
	}
}

func stringOf(v any) string { s, _ := v.(string); return s }

// linked renders a mapping list as "staff:operator …" ("-" for none).
func linked(r response) string {
	var out []string
	for _, e := range r.Body["mapping"].([]any) {
		e := e.(map[string]any)
		op := "-"
		if o, ok := e["operator"].(map[string]any); ok {
			op = o["id"].(string)
		}
		out = append(out, e["staff"].(map[string]any)["id"].(string)+":"+op)
	}
	return strings.Join(out, " ")
}

func missingOperators(r response) string {
	var out []string
	for _, e := range r.Body["mapping"].([]any) {
		if e := e.(map[string]any); e["operator_missing"] == true {
			out = append(out, e["staff"].(map[string]any)["id"].(string))
		}
	}
	return strings.Join(out, " ")
}

func names(v any) string {
	var out []string
	list, _ := v.([]any)
	for _, o := range list {
		o := o.(map[string]any)
		out = append(out, o["id"].(string)+":"+o["name"].(string))
	}
	return strings.Join(out, " ")
}

func trail(r response) string {
	var out []string
	for _, c := range r.Body["changes"].([]any) {
		c := c.(map[string]any)
		from, to := "none", "none"
		if o, ok := c["old"].(map[string]any); ok {
			from = o["id"].(string)
		}
		if n, ok := c["new"].(map[string]any); ok {
			to = n["id"].(string)
		}
		out = append(out, c["staff_id"].(string)+":"+from+"→"+to)
	}
	return strings.Join(out, " ")
}
