package whatsapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The shapes below are the Cloud API's and 360dialog's as their public record shows them (see
// testdata/README.md). Ids are strings; numbers are read from strings too, since a proxy may
// turn one into the other.

// flexString accepts a JSON string or number (null is "").
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
	n, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil || n < -1<<31 || n > 1<<31-1 {
		return fmt.Errorf("want a whole number, got %.40s", b)
	}
	*f = flexInt{n: int(n), set: true}
	return nil
}

// Errors.

// wireErrorBody is the error member of Meta's envelope. error_data is an object with details
// for messaging errors and may be a plain string for template-management ones.
type wireErrorBody struct {
	Message   string          `json:"message"`
	Type      string          `json:"type"`
	Code      flexInt         `json:"code"`
	Subcode   flexInt         `json:"error_subcode"`
	Data      json.RawMessage `json:"error_data"`
	UserTitle string          `json:"error_user_title"`
	UserMsg   string          `json:"error_user_msg"`
	TraceID   string          `json:"fbtrace_id"`
	Title     string          `json:"title"`   // the shape of errors[] in callbacks
	Details   string          `json:"details"` // the shape of 360dialog's errors[] (unconfirmed)
}

func (w *wireErrorBody) details() string {
	d := bytes.TrimSpace(w.Data)
	if len(d) == 0 || string(d) == "null" {
		return w.Details
	}
	var obj struct {
		Details string `json:"details"`
	}
	if json.Unmarshal(d, &obj) == nil && obj.Details != "" {
		return obj.Details
	}
	var s string
	if json.Unmarshal(d, &s) == nil {
		return s
	}
	return w.Details
}

// Messages.

type wireSend struct {
	MessagingProduct string            `json:"messaging_product"`
	RecipientType    string            `json:"recipient_type"`
	To               string            `json:"to"`
	Type             string            `json:"type"`
	Text             *wireText         `json:"text,omitempty"`
	Template         *wireTemplateSend `json:"template,omitempty"`
	CallbackData     string            `json:"biz_opaque_callback_data,omitempty"`
}

type wireText struct {
	PreviewURL bool   `json:"preview_url"`
	Body       string `json:"body"`
}

type wireTemplateSend struct {
	Name       string              `json:"name"`
	Language   wireLanguage        `json:"language"`
	Components []wireComponentSend `json:"components,omitempty"`
}

type wireLanguage struct {
	Code string `json:"code"`
}

type wireComponentSend struct {
	Type       string      `json:"type"`
	Parameters []wireParam `json:"parameters"`
}

type wireParam struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type wireSent struct {
	Contacts []struct {
		Input string     `json:"input"`
		WAID  flexString `json:"wa_id"`
	} `json:"contacts"`
	Messages []struct {
		ID            flexString `json:"id"`
		MessageStatus string     `json:"message_status"`
	} `json:"messages"`
}

// Lists.

// wirePage is a Graph API list: data plus cursor paging. next is present only when there is
// a further page.
type wirePage struct {
	Data   *[]json.RawMessage `json:"data"`
	Paging *struct {
		Cursors struct {
			Before string `json:"before"`
			After  string `json:"after"`
		} `json:"cursors"`
		Next     string `json:"next"`
		Previous string `json:"previous"`
	} `json:"paging"`
}

type wirePhoneNumber struct {
	ID            flexString `json:"id"`
	DisplayPhone  string     `json:"display_phone_number"`
	VerifiedName  string     `json:"verified_name"`
	QualityRating string     `json:"quality_rating"`
}

type wireTemplate struct {
	ID         flexString      `json:"id"`
	Name       string          `json:"name"`
	Language   json.RawMessage `json:"language"` // "en_US"; read as {"code": …} too
	Status     string          `json:"status"`
	Category   string          `json:"category"`
	Components []wireComponent `json:"components"`
}

func (t *wireTemplate) language() string {
	var s string
	if json.Unmarshal(t.Language, &s) == nil {
		return strings.TrimSpace(s)
	}
	var l wireLanguage
	if json.Unmarshal(t.Language, &l) == nil {
		return strings.TrimSpace(l.Code)
	}
	return ""
}

type wireComponent struct {
	Type   string `json:"type"`
	Format string `json:"format"`
	Text   string `json:"text"`
}

// wire360Templates is 360dialog's GET /v1/configs/templates, paged by offset and limit.
type wire360Templates struct {
	Count     flexInt          `json:"count"`
	Total     flexInt          `json:"total"`
	Offset    flexInt          `json:"offset"`
	Limit     flexInt          `json:"limit"`
	Templates *[]*wireTemplate `json:"waba_templates"`
}

type wireWebhook struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
}
