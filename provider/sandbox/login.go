package sandbox

import (
	"html"
	"net/http"
	"text/template"

	"github.com/bellhop/bellhop"
)

// The pages are text/template with every value escaped by h, rather than html/template,
// whose escaping of "+" (&#43;) would hide phone numbers from tests reading the page.
var funcs = template.FuncMap{"h": html.EscapeString}

// loginTmpl is the operator's chat page. Ids and data attributes are for tests.
var loginTmpl = template.Must(template.New("login").Funcs(funcs).Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sandbox chats: {{.Operator.Name | h}}</title></head>
<body data-org-id="{{.OrgID | h}}" data-operator-id="{{.Operator.ID | h}}">
<h1 id="signed-in" data-operator-id="{{.Operator.ID | h}}">Signed in as {{.Operator.Name | h}} (operator {{.Operator.ID | h}})</h1>
<p id="organization" data-org-id="{{.OrgID | h}}">{{.OrgName | h}}</p>
<ul id="dialogs" data-operator-id="{{.Operator.ID | h}}" data-count="{{len .Dialogs}}">
{{- range .Dialogs}}
<li class="dialog" data-chat-id="{{.ChatID | h}}" data-phone="{{.Phone | h}}" data-provider-id="{{.SenderID | h}}" data-operator-id="{{$.Operator.ID | h}}"><span class="guest">{{.GuestName | h}}</span> <span class="phone">{{.Phone | h}}</span>: <span class="last-message">{{.LastMessage | h}}</span></li>
{{- else}}
<li id="no-dialogs">No chats yet.</li>
{{- end}}
</ul>
</body>
</html>
`))

var notFoundTmpl = template.Must(template.New("404").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign-in link not valid</title></head>
<body data-error="invalid-code">
<h1 id="error">This sign-in link is unknown or has expired.</h1>
<p>Ask for a new chat session.</p>
</body>
</html>
`))

// loginPage signs an operator in with a code: it shows who they are and their dialogs only.
// A code works until it expires.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	page, found := s.loginData(r.PathValue("code"))
	if !found {
		w.WriteHeader(http.StatusNotFound)
		_ = notFoundTmpl.Execute(w, nil)
		return
	}
	_ = loginTmpl.Execute(w, page)
}

type loginPageData struct {
	OrgID, OrgName string
	Operator       bellhop.Operator
	Dialogs        []Dialog
}

func (s *Server) loginData(code string) (loginPageData, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, found := s.codes[code]
	if !found {
		return loginPageData{}, false
	}
	if !s.clock.Now().Before(c.expires) {
		delete(s.codes, code)
		return loginPageData{}, false
	}
	g := s.orgs[c.orgID]
	if g == nil {
		return loginPageData{}, false
	}
	op, found := g.operator(c.operatorID)
	if !found {
		return loginPageData{}, false
	}
	page := loginPageData{OrgID: g.id, OrgName: g.name, Operator: op.Operator}
	for _, d := range g.dialogs[op.ID] {
		page.Dialogs = append(page.Dialogs, *d)
	}
	return page, true
}
