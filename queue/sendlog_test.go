package queue

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
)

// A send's lines name its delivery, property, booking, kind and, once chosen, channel — and a
// level that is off writes nothing.
func TestSendLogNamesTheDelivery(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	l := &sendLog{base: base, d: &bellhop.Delivery{ID: "d1", PropertyID: "p1", BookingID: "b1", Kind: bellhop.Welcome}}
	ctx := context.Background()
	l.InfoContext(ctx, "not written")
	l.WarnContext(ctx, "before", "n", 1)
	l.channel = "email"
	l.ErrorContext(ctx, "after", "error", "boom")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("wrote %d lines, want 2:\n%s", len(lines), buf.String())
	}
	for _, want := range []string{"delivery=d1 property=p1 booking=b1 kind=welcome n=1"} {
		if !strings.Contains(lines[0], want) || strings.Contains(lines[0], "channel=") {
			t.Errorf("first line %q lacks %q or names a channel", lines[0], want)
		}
	}
	if !strings.Contains(lines[1], "kind=welcome channel=email error=boom") {
		t.Errorf("second line %q does not name the channel before its own attributes", lines[1])
	}
}
