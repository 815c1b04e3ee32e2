package queue

import (
	"context"
	"log/slog"

	"github.com/bellhop/bellhop"
)

// sendLog is one send's logger: every line names the delivery, its property, booking and kind
// (and the channel once one is chosen). The names are added when a line is written: a
// Logger.With per send would format them for every send, though most sends write no line.
type sendLog struct {
	base    *slog.Logger
	d       *bellhop.Delivery
	channel string
}

func (l *sendLog) log(ctx context.Context, level slog.Level, msg string, args []any) {
	if !l.base.Enabled(ctx, level) {
		return
	}
	all := make([]any, 0, 10+len(args))
	all = append(all, "delivery", l.d.ID, "property", l.d.PropertyID, "booking", l.d.BookingID, "kind", l.d.Kind)
	if l.channel != "" {
		all = append(all, "channel", l.channel)
	}
	l.base.Log(ctx, level, msg, append(all, args...)...)
}

func (l *sendLog) InfoContext(ctx context.Context, msg string, args ...any) {
	l.log(ctx, slog.LevelInfo, msg, args)
}

func (l *sendLog) WarnContext(ctx context.Context, msg string, args ...any) {
	l.log(ctx, slog.LevelWarn, msg, args)
}

func (l *sendLog) ErrorContext(ctx context.Context, msg string, args ...any) {
	l.log(ctx, slog.LevelError, msg, args)
}
