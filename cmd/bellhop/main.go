// Command bellhop runs Bellhop: the API and workers (serve), a one-process demo (demo), the
// sandbox provider (sandbox), migrations, and property and token administration.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // property time zones must resolve on machines without zoneinfo

	"github.com/bellhop/bellhop/cmd/bellhop/app"
	"github.com/redis/go-redis/v9"
)

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func main() {
	// go-redis would print its own dial retries; Bellhop reports Redis errors itself.
	redis.SetLogger(quietRedis{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if err != app.ErrUsage {
			fmt.Fprintln(os.Stderr, "bellhop:", err)
		}
		os.Exit(app.ExitCode(err))
	}
}
