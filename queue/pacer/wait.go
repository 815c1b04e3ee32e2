package pacer

import (
	"context"
	"time"

	"github.com/bellhop/bellhop"
)

// Sleep waits for d or until ctx ends. Wait takes one so that tests on a simulated clock
// can advance the clock instead of sleeping.
type Sleep func(ctx context.Context, d time.Duration) error

// Wait returns once clock reads at or later, or with ctx's error. The pacer is exact to the
// microsecond but Asynq runs a task only on whole seconds, a few seconds late or early; a
// task scheduled a little before its slot waits out the rest here, then calls Acquire.
// sleep nil sleeps on a real timer.
func Wait(ctx context.Context, clock bellhop.Clock, at time.Time, sleep Sleep) error {
	if sleep == nil {
		sleep = TimerSleep
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := at.Sub(clock.Now())
		if d <= 0 {
			return nil
		}
		// Timers may fire a little early; the loop checks the clock again.
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// TimerSleep is a Sleep on a real timer.
func TimerSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
