package intellectdialog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// envelope is how every answer is wrapped: {"response":{"status":…,"error":…,"data":…}}.
type envelope struct {
	Response *struct {
		Status string          `json:"status"`
		Error  json.RawMessage `json:"error"`
		Data   json.RawMessage `json:"data"`
	} `json:"response"`
}

// flexString accepts a JSON string, number or null: the provider sends ids either way.
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
		*f = flexString(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want a string or a number, got %.40s", b)
		}
		*f = flexString(n.String())
	}
	return nil
}

// flexBool accepts true/false, 0/1 and "true"/"false".
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		if err := json.Unmarshal(b, (*bool)(f)); err != nil {
			return fmt.Errorf("want a boolean, got %.40s", b)
		}
		return nil
	}
	v, err := strconv.ParseBool(string(s))
	*f = flexBool(v)
	if s == "" {
		return nil
	}
	return err
}

// flexTime accepts RFC 3339, "2006-01-02 15:04:05" (UTC) or Unix seconds.
type flexTime time.Time

func (f *flexTime) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		*f = flexTime{}
		return nil
	}
	if t, err := time.Parse(time.RFC3339Nano, string(s)); err == nil {
		*f = flexTime(t)
		return nil
	}
	if t, err := time.Parse(time.DateTime, string(s)); err == nil {
		*f = flexTime(t)
		return nil
	}
	if n, err := strconv.ParseFloat(string(s), 64); err == nil {
		sec := int64(n)
		*f = flexTime(time.Unix(sec, int64((n-float64(sec))*1e9)).UTC())
		return nil
	}
	return fmt.Errorf("want a time, got %.40s", b)
}

type wireOrg struct {
	ID   flexString `json:"id"`
	Name string     `json:"name"`
}

type wireSender struct {
	ID    flexString `json:"id"`
	Name  string     `json:"name"`
	Type  string     `json:"type"`
	Phone flexString `json:"phone"`
}

type wireOperator struct {
	ID    flexString `json:"id"`
	Name  string     `json:"name"`
	Email string     `json:"email"`
}

type wireCode struct {
	Code      flexString `json:"code"`
	URL       string     `json:"url"`
	ExpiresAt flexTime   `json:"expires_at"`
}

type wireSend struct {
	Phone      string `json:"phone"`
	ProviderID string `json:"provider_id"`
	Text       string `json:"text"`
	Mark       string `json:"mark,omitempty"`
}

type wireSent struct {
	MessageID flexString `json:"message_id"`
	ChatID    flexString `json:"chat_id"`
	Duplicate flexBool   `json:"duplicate"`
}

type wireMessage struct {
	MessageID  flexString `json:"message_id"`
	ChatID     flexString `json:"chat_id"`
	Phone      flexString `json:"phone"`
	ProviderID flexString `json:"provider_id"`
	Text       string     `json:"text"`
	Mark       flexString `json:"mark"`
	Status     string     `json:"status"`
	CreatedAt  flexTime   `json:"created_at"`
}

type wireWebhook struct {
	ID     flexString `json:"id,omitempty"`
	URL    string     `json:"url"`
	Events []string   `json:"events"`
}
