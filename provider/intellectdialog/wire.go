package intellectdialog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/bellhop/bellhop/provider/internal/apiclient"
)

// The shapes below are IntellectDialog API v2 as its public record shows them (see
// testdata/README.md). Ids come as strings but are read from numbers too; times stay strings
// (flexString) until the company's zone is known, then parseTime reads them.

// flexString accepts a JSON string, number, boolean or null: the provider sends ids either way.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(strings.TrimSpace(s))
	case string(b) == "true" || string(b) == "false":
		*f = flexString(b)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want a string or a number, got %.40s", b)
		}
		*f = flexString(n.String())
	}
	return nil
}

// flexInt accepts a number or a numeric string; set tells a present value from an absent one.
type flexInt struct {
	n   int
	set bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		*f = flexInt{}
		return nil
	}
	n, err := strconv.ParseFloat(string(s), 64)
	if err != nil || n < 0 || n > 1e12 {
		return fmt.Errorf("want a count, got %.40s", b)
	}
	*f = flexInt{n: int(n), set: true}
	return nil
}

// flexStrings accepts a list of strings, one string, or a comma-separated string.
type flexStrings []string

func (f *flexStrings) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var list []flexString
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		out := make([]string, 0, len(list))
		for _, s := range list {
			if s != "" {
				out = append(out, string(s))
			}
		}
		*f = out
		return nil
	}
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	var out []string
	for _, part := range strings.Split(string(s), ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	*f = out
	return nil
}

// wirePagin is a list's paging: {limit, offset, total}.
type wirePagin struct {
	Limit  flexInt `json:"limit"`
	Offset flexInt `json:"offset"`
	Total  flexInt `json:"total"`
}

// wireCompany is GET companies' data.
type wireCompany struct {
	ID   flexString `json:"id"`
	Name string     `json:"name"`
	Zone flexString `json:"zone"`
}

// wireProvider is one sender of GET providers. The record has no phone; a "phone" is read when
// some deployment adds one.
type wireProvider struct {
	ID     flexString `json:"id"`
	Name   string     `json:"name"`
	Type   flexString `json:"type"`
	TypeID flexString `json:"type_id"`
	Phone  flexString `json:"phone"`
}

// wireEmployee is one operator of GET employees; name and email are read when the person_
// fields are missing.
type wireEmployee struct {
	ID       flexString `json:"id"`
	First    string     `json:"person_name"`
	Middle   string     `json:"person_lastname"` // the patronymic ("Отчество")
	Last     string     `json:"person_surname"`
	Email    string     `json:"person_email"`
	AltName  string     `json:"name"`
	AltEmail string     `json:"email"`
}

// wireSend is POST messages' body.
type wireSend struct {
	Phone      string `json:"phone"`
	ProviderID string `json:"provider_id"`
	Text       string `json:"text,omitempty"`
	Template   string `json:"template,omitempty"`
	Vars       any    `json:"vars,omitempty"` // a []string, [] included, when a template is sent
	Mark       string `json:"mark,omitempty"`
	EmployeeID string `json:"employee_id,omitempty"`
}

// wireSent is POST messages' answer.
type wireSent struct {
	MessageID flexString `json:"message_id"`
	ChatID    flexString `json:"chat_id"`
	StackID   flexString `json:"stack_id"`
}

// wireMessage is one message of GET messages and GET messages/{id}.
type wireMessage struct {
	ID          flexString `json:"id"`
	MessageID   flexString `json:"message_id"` // not in the record; read when id is missing
	ChatID      flexString `json:"chat_id"`
	ProviderID  flexString `json:"provider_id"`
	PersonPhone flexString `json:"person_phone"`
	Phone       flexString `json:"phone"`
	Type        flexString `json:"type"`
	TypeID      flexString `json:"type_id"`
	TypeName    string     `json:"type_name"`
	Text        string     `json:"text"`
	EmployeeID  flexString `json:"employee_id"`
	Marker      flexString `json:"marker"`
	Mark        flexString `json:"mark"`
	DeliveredAt flexString `json:"delivered_at"`
	ViewedAt    flexString `json:"viewed_at"`
	CreatedAt   flexString `json:"created_at"`
}

// wireTemplate is one template of GET messages/{provider_id}/templates.
type wireTemplate struct {
	ID           flexString `json:"id"`
	ElementName  string     `json:"elementName"`
	LanguageCode string     `json:"languageCode"`
	Category     string     `json:"category"`
	Status       string     `json:"status"`
	Data         string     `json:"data"`
}

// wireStopEntry is one person of the stop list.
type wireStopEntry struct {
	PersonPhone flexString `json:"person_phone"`
	Phone       flexString `json:"phone"`
}

// wireWebhook is GET webhooks' url and events.
type wireWebhook struct {
	URL    string      `json:"url"`
	Events flexStrings `json:"events"`
}

// wireWebhookSet is POST webhooks' body.
type wireWebhookSet struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// oneOrFirst decodes an object, or the first element of a list, into out; found is false for
// an empty list or null.
func oneOrFirst(raw json.RawMessage, out any) (found bool, err error) {
	t := bytes.TrimSpace(raw)
	if apiclient.IsNull(t) {
		return false, nil
	}
	if t[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(t, &list); err != nil {
			return false, err
		}
		if len(list) == 0 {
			return false, nil
		}
		t = list[0]
	}
	if err := json.Unmarshal(t, out); err != nil {
		return false, err
	}
	return true, nil
}
