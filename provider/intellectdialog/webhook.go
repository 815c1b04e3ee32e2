package intellectdialog

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/bellhop/bellhop/provider"
)

// wireEvent is a webhook callback: {"event":"new_status","company_id":…,"data":{…}}.
type wireEvent struct {
	Event string `json:"event"`
	Data  struct {
		MessageID flexString `json:"message_id"`
		Mark      flexString `json:"mark"`
		Status    string     `json:"status"`
		Error     string     `json:"error"`
		Timestamp flexTime   `json:"timestamp"`
	} `json:"data"`
}

// ParseEvent reads one webhook callback.
func ParseEvent(body []byte) (provider.StatusEvent, error) {
	var w wireEvent
	if err := json.Unmarshal(body, &w); err != nil {
		return provider.StatusEvent{}, fmt.Errorf("intellectdialog: undecodable webhook: %w", err)
	}
	if w.Event == "" {
		return provider.StatusEvent{}, fmt.Errorf(`intellectdialog: webhook without "event"`)
	}
	return provider.StatusEvent{
		Event: w.Event, MessageID: string(w.Data.MessageID), Mark: string(w.Data.Mark),
		Status: w.Data.Status, Error: w.Data.Error, At: time.Time(w.Data.Timestamp),
	}, nil
}
