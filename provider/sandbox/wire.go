package sandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
)

// The wire shapes, in one place: every answer of the API and every webhook payload is built
// from these types, which follow provider/intellectdialog/testdata key for key. Ids are
// strings; times are wireLayout in the organization's zone, "" when unset.

const wireLayout = "2006-01-02 15:04:05"

// Limits of the real API (the public client validates the same).
const (
	defaultLimit = 20
	maxLimit     = 500
	maxPhone     = 20
	maxText      = 10000
	maxMark      = 36
	maxAttach    = 255
)

// Message type ids and names as the provider shows them.
const (
	typeIncomingID   = "1"
	typeIncomingName = "Входящее"
	typeOutgoingID   = "2"
	typeOutgoingName = "Исходящее"
)

func (g *org) wireTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(g.loc).Format(wireLayout)
}

// envelope wraps every answer. The answer types embed head, so that their own fields sit
// beside date and status.
type envelope struct {
	Response any `json:"response"`
}

type head struct {
	Date   string `json:"date"`
	Status string `json:"status"` // success | error
}

type errorAnswer struct {
	head
	Error string `json:"error"`
}

type dataAnswer struct {
	head
	Data any `json:"data"`
}

type listAnswer struct {
	head
	Pagin pagin `json:"pagin"`
	Data  any   `json:"data"`
}

type pagin struct {
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
	Total  int `json:"total"`
}

// codeAnswer carries the code beside status, not under data (employee_code.json).
type codeAnswer struct {
	head
	Code struct {
		Code string `json:"code"`
	} `json:"code"`
}

// webhookAnswer carries url and events beside status (webhook.json, webhook_none.json).
type webhookAnswer struct {
	head
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// head is the date and status of an answer; g may be nil (no organization yet).
func (s *Server) head(g *org, status string) head {
	now := s.clock.Now()
	if g != nil {
		return head{Date: g.wireTime(now), Status: status}
	}
	return head{Date: now.In(s.loc).Format(wireLayout), Status: status}
}

func (s *Server) success(g *org) head { return s.head(g, "success") }

// answer writes a successful answer (one of the *Answer types).
func (s *Server) answer(w http.ResponseWriter, v any) {
	writeJSON(w, http.StatusOK, envelope{v})
}

func (s *Server) data(w http.ResponseWriter, g *org, data any) {
	s.answer(w, dataAnswer{s.success(g), data})
}

func (s *Server) fail(w http.ResponseWriter, g *org, status int, reason string) {
	writeJSON(w, status, envelope{errorAnswer{s.head(g, "error"), reason}})
}

// invalid answers a validation error (422).
func (s *Server) invalid(w http.ResponseWriter, g *org, reason string) {
	s.fail(w, g, http.StatusUnprocessableEntity, reason)
}

type wireCompany struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Zone      string `json:"zone"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

type wireProvider struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	TypeID    string `json:"type_id"`
	Type      string `json:"type"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

type wireEmployee struct {
	ID             string `json:"id"`
	DepartmentID   string `json:"department_id"`
	DepartmentName string `json:"department_name"`
	PersonID       string `json:"person_id"`
	PersonName     string `json:"person_name"`
	PersonSurname  string `json:"person_surname"`
	PersonLastname string `json:"person_lastname"`
	PersonPhone    string `json:"person_phone"`
	PersonEmail    string `json:"person_email"`
	CreatedAt      string `json:"created_at"`
	UpdatedAt      string `json:"updated_at"`
}

// wireSent is POST messages' answer (send_message.json).
type wireSent struct {
	MessageID        string `json:"message_id"`
	ProviderName     string `json:"provider_name"`
	ProviderID       string `json:"provider_id"`
	ProviderTypeName string `json:"provider_type_name"`
	ProviderTypeID   string `json:"provider_type_id"`
	ChatID           string `json:"chat_id"`
	PersonID         string `json:"person_id"`
	Type             string `json:"type"` // to_client
	Text             string `json:"text"`
	StackID          string `json:"stack_id"`
	EmployeeID       string `json:"employee_id"`
}

// wireMessage is a message as GET messages and GET messages/{id} show it (messages.json,
// message.json), and as the new_status and new_message callbacks carry it.
type wireMessage struct {
	ID               string           `json:"id"`
	ExID             string           `json:"ex_id"`
	ProviderName     string           `json:"provider_name"`
	ProviderID       string           `json:"provider_id"`
	ProviderTypeName string           `json:"provider_type_name"`
	ProviderTypeID   string           `json:"provider_type_id"`
	ChatID           string           `json:"chat_id"`
	ChatTitle        string           `json:"chat_title"`
	PersonID         string           `json:"person_id"`
	PersonName       string           `json:"person_name"`
	PersonSurname    string           `json:"person_surname"`
	PersonLastname   string           `json:"person_lastname"`
	PersonPhone      string           `json:"person_phone"` // digits, no +
	PersonEmail      string           `json:"person_email"`
	TypeID           string           `json:"type_id"`
	TypeName         string           `json:"type_name"` // Исходящее | Входящее
	Text             string           `json:"text"`
	EmployeeID       string           `json:"employee_id"`
	Marker           string           `json:"marker"`
	TransferTo       string           `json:"transfer_to"`
	DeliveredAt      string           `json:"delivered_at"`
	ViewedAt         string           `json:"viewed_at"`
	Attachments      []wireAttachment `json:"attachments"`
	CreatedAt        string           `json:"created_at"`
	UpdatedAt        string           `json:"updated_at"`
}

type wireAttachment struct {
	Name string `json:"name"`
	Link string `json:"link"`
}

type wireStopEntry struct {
	ID             string `json:"id"`
	PersonID       string `json:"person_id"`
	PersonName     string `json:"person_name"`
	PersonSurname  string `json:"person_surname"`
	PersonLastname string `json:"person_lastname"`
	PersonPhone    string `json:"person_phone"`
	PersonEmail    string `json:"person_email"`
	CreatedAt      string `json:"created_at"`
	UpdatedAt      string `json:"updated_at"`
}

// wireTemplate is a WhatsApp template as the provider relays it from Meta (templates.json).
type wireTemplate struct {
	AppID           string `json:"appId"`
	Category        string `json:"category"`
	CreatedOn       int64  `json:"createdOn"` // Unix milliseconds
	ModifiedOn      int64  `json:"modifiedOn"`
	Data            string `json:"data"`
	ElementName     string `json:"elementName"`
	ButtonSupported string `json:"buttonSupported"`
	ContainerMeta   string `json:"containerMeta"` // a JSON string
	ExternalID      string `json:"externalId"`
	ID              string `json:"id"`
	Status          string `json:"status"`
	LanguageCode    string `json:"languageCode"`
	Stage           string `json:"stage"`
	Meta            string `json:"meta"` // a JSON string
	Namespace       string `json:"namespace"`
	Priority        int    `json:"priority"`
	Quality         string `json:"quality"`
	TemplateType    string `json:"templateType"`
	WabaID          string `json:"wabaId"`
}

// senderTypes maps Go-side sender types to the provider's type id and name.
var senderTypes = map[string]struct{ id, name string }{
	"whatsapp":        {"1", "WhatsApp"},
	"telegram":        {"2", "Telegram"},
	"viber":           {"3", "Viber"},
	"instagram":       {"4", "Instagram"},
	SenderWhatsAppAPI: {"5", "WhatsApp Business API"},
}

// providerRef is how a message names its sender; kept on the message, so that it still reads
// right after the sender is removed.
type providerRef struct {
	id, name, typeID, typeName string
}

func refOf(sd *sender) providerRef {
	t, ok := senderTypes[sd.Type]
	if !ok {
		t.id, t.name = "0", sd.Type
	}
	return providerRef{id: sd.ID, name: strings.TrimSpace(sd.Name + " " + sd.Phone), typeID: t.id, typeName: t.name}
}

func (g *org) wireCompany() wireCompany {
	at := g.wireTime(g.createdAt)
	return wireCompany{ID: g.id, Name: g.name, Zone: g.zone, CreatedAt: at, UpdatedAt: at}
}

func (g *org) wireProvider(sd *sender) wireProvider {
	ref, at := refOf(sd), g.wireTime(g.createdAt)
	return wireProvider{ID: ref.id, Name: ref.name, TypeID: ref.typeID, Type: ref.typeName, CreatedAt: at, UpdatedAt: at}
}

func (g *org) wireEmployee(op operator) wireEmployee {
	first, rest, _ := strings.Cut(strings.TrimSpace(op.Name), " ")
	at := g.wireTime(g.createdAt)
	return wireEmployee{
		ID: op.ID, DepartmentID: "1", DepartmentName: "Reception", PersonID: op.personID,
		PersonName: first, PersonSurname: strings.TrimSpace(rest), PersonEmail: op.Email,
		CreatedAt: at, UpdatedAt: at,
	}
}

func (g *org) wireMessage(m *Message) wireMessage {
	typeID, typeName := typeOutgoingID, typeOutgoingName
	if m.Incoming {
		typeID, typeName = typeIncomingID, typeIncomingName
	}
	phone := bellhop.PhoneDigits(m.Phone)
	w := wireMessage{
		ID: m.MessageID, ExID: m.exID,
		ProviderName: m.provider.name, ProviderID: m.provider.id,
		ProviderTypeName: m.provider.typeName, ProviderTypeID: m.provider.typeID,
		ChatID: m.ChatID, ChatTitle: "+" + phone, PersonID: m.PersonID, PersonPhone: phone,
		TypeID: typeID, TypeName: typeName, Text: m.Text, EmployeeID: m.OperatorID, Marker: m.Mark,
		DeliveredAt: g.wireTime(m.DeliveredAt), ViewedAt: g.wireTime(m.ViewedAt),
		Attachments: []wireAttachment{},
		CreatedAt:   g.wireTime(m.CreatedAt), UpdatedAt: g.wireTime(m.updatedAt()),
	}
	if m.Attachment != "" {
		name := m.Attachment
		if u, err := url.Parse(m.Attachment); err == nil && u.Path != "" {
			name = u.Path[strings.LastIndex(u.Path, "/")+1:]
		}
		w.Attachments = append(w.Attachments, wireAttachment{Name: name, Link: m.Attachment})
	}
	return w
}

func (m *Message) updatedAt() time.Time {
	t := m.CreatedAt
	for _, u := range []time.Time{m.DeliveredAt, m.ViewedAt} {
		if u.After(t) {
			t = u
		}
	}
	return t
}

func (g *org) wireSent(m *Message) wireSent {
	return wireSent{
		MessageID: m.MessageID, ProviderName: m.provider.name, ProviderID: m.provider.id,
		ProviderTypeName: m.provider.typeName, ProviderTypeID: m.provider.typeID,
		ChatID: m.ChatID, PersonID: m.PersonID, Type: "to_client", Text: m.Text,
		StackID: m.StackID, EmployeeID: m.OperatorID,
	}
}

func (g *org) wireStopEntry(e stopEntry) wireStopEntry {
	at := g.wireTime(e.createdAt)
	return wireStopEntry{ID: e.id, PersonID: e.person.id, PersonPhone: e.person.phone, CreatedAt: at, UpdatedAt: at}
}

func (g *org) wireTemplate(senderID string, i int, t Template) wireTemplate {
	created := g.createdAt.UnixMilli()
	meta, _ := json.Marshal(map[string]string{"data": t.Text})
	return wireTemplate{
		AppID: "sandbox-app-" + senderID, Category: t.Category, CreatedOn: created, ModifiedOn: created,
		Data: t.Text, ElementName: t.Name, ContainerMeta: string(meta),
		ExternalID: strconv.Itoa(1000000 + i), ID: t.ID, Status: t.Status, LanguageCode: t.Language,
		Stage: "NONE", Meta: "{}", Namespace: "sandbox_ns", Priority: 1, Quality: "UNKNOWN",
		TemplateType: "TEXT", WabaID: "sandbox-waba-" + senderID,
	}
}

// listQuery is a list's paging and creation window.
type listQuery struct {
	limit, offset int
	after, before time.Time // zero: unbounded; both inclusive, to the second
}

// listQuery reads limit, offset, created_after and created_before (in the organization's
// zone). The error is the reason to answer.
func (g *org) listQuery(q url.Values) (listQuery, string) {
	lq := listQuery{limit: defaultLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return lq, "limit must be an integer from 1 to 500, got " + strconv.Quote(v)
		}
		lq.limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return lq, "offset must be an integer of 0 or more, got " + strconv.Quote(v)
		}
		lq.offset = n
	}
	for _, p := range []struct {
		name string
		to   *time.Time
	}{{"created_after", &lq.after}, {"created_before", &lq.before}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.ParseInLocation(wireLayout, v, g.loc)
			if err != nil {
				return lq, p.name + " must look like YYYY-mm-dd HH:ii:ss, got " + strconv.Quote(v)
			}
			*p.to = t
		}
	}
	return lq, ""
}

// in reports whether a creation time is within the window.
func (lq listQuery) in(created time.Time) bool {
	t := created.Truncate(time.Second)
	return (lq.after.IsZero() || !t.Before(lq.after)) && (lq.before.IsZero() || !t.After(lq.before))
}

// page cuts one page out of the matching items.
func page[T any](items []T, lq listQuery) ([]T, pagin) {
	p := pagin{Limit: lq.limit, Offset: lq.offset, Total: len(items)}
	lo := min(lq.offset, len(items))
	hi := min(lo+lq.limit, len(items))
	return append(make([]T, 0, hi-lo), items[lo:hi]...), p
}
