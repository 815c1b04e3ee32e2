package integration_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/bellhop/bellhop/cmd/bellhop/app"
)

// run runs the bellhop command line with an environment and returns its outputs.
func run(env map[string]string, args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	err = app.Run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	return out.String(), errb.String(), err
}

// TestCommandsExplainThemselves: every command has --help naming its flags and environment.
func TestCommandsExplainThemselves(t *testing.T) {
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"serve", "--help"}, "-role"},
		{[]string{"demo", "--help"}, "-data"},
		{[]string{"sandbox", "--help"}, "-spacing"},
		{[]string{"migrate", "--help"}, "BELLHOP_DATABASE_URL"},
		{[]string{"property", "create", "--help"}, "-time-zone"},
		{[]string{"token", "create", "--help"}, "-role"},
		{[]string{"token", "list", "--help"}, "-property"},
		{[]string{"token", "revoke", "--help"}, "revoke [flags] ID"},
	} {
		out, _, err := run(nil, c.args...)
		if err != nil || !strings.Contains(out, c.flag) || !strings.Contains(out, "BELLHOP_SECRET_KEY") {
			t.Errorf("bellhop %s: err=%v, output lacks %q or the environment:\n%s", strings.Join(c.args, " "), err, c.flag, out)
		}
	}
}

// TestBadConfigurationStopsTheStart: the message names the setting and why.
func TestBadConfigurationStopsTheStart(t *testing.T) {
	dir := t.TempDir()
	okKey := "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80="
	cases := []struct {
		name    string
		env     map[string]string
		args    []string
		mention string
	}{
		{"no secret key", map[string]string{"BELLHOP_DATABASE_URL": dir + "/a.db"}, []string{"serve", "--addr", "127.0.0.1:0"}, "BELLHOP_SECRET_KEY is not set"},
		{"short secret key", map[string]string{"BELLHOP_SECRET_KEY": "c2hvcnQ="}, []string{"serve"}, "BELLHOP_SECRET_KEY decodes to 5 bytes"},
		{"bad role", map[string]string{"BELLHOP_SECRET_KEY": okKey, "BELLHOP_DATABASE_URL": dir + "/b.db", "REDIS_ADDR": redisAddr}, []string{"serve", "--role", "boss"}, "--role"},
		{"bad redis addr", map[string]string{"BELLHOP_SECRET_KEY": okKey, "REDIS_ADDR": "nohost"}, []string{"serve"}, "REDIS_ADDR"},
		{"redis down", map[string]string{"BELLHOP_SECRET_KEY": okKey, "BELLHOP_DATABASE_URL": dir + "/c.db", "REDIS_ADDR": "127.0.0.1:1"}, []string{"serve", "--addr", "127.0.0.1:0"}, "REDIS_ADDR: Redis at 127.0.0.1:1 does not answer"},
		{"bad database URL", map[string]string{"BELLHOP_SECRET_KEY": okKey, "BELLHOP_DATABASE_URL": "postgres://nobody@127.0.0.1:1/x?connect_timeout=2"}, []string{"serve"}, "BELLHOP_DATABASE_URL"},
		{"bad public URL", map[string]string{"BELLHOP_SECRET_KEY": okKey, "BELLHOP_PUBLIC_URL": "bellhop.example.com"}, []string{"serve"}, "BELLHOP_PUBLIC_URL"},
		{"bad log level", map[string]string{"BELLHOP_LOG_LEVEL": "loud"}, []string{"migrate"}, "BELLHOP_LOG_LEVEL"},
		{"bad private providers flag", map[string]string{"BELLHOP_ALLOW_PRIVATE_PROVIDERS": "maybe"}, []string{"migrate"}, "BELLHOP_ALLOW_PRIVATE_PROVIDERS"},
		{"plan horizon too short", map[string]string{"BELLHOP_PLAN_HORIZON": "5s"}, []string{"migrate"}, "BELLHOP_PLAN_HORIZON: \"5s\" is not a duration from 1m to 720h"},
		{"plan horizon not a duration", map[string]string{"BELLHOP_PLAN_HORIZON": "soon"}, []string{"migrate"}, "BELLHOP_PLAN_HORIZON"},
		{"retention of a week", map[string]string{"BELLHOP_RETENTION_DAYS": "7"}, []string{"migrate"}, "BELLHOP_RETENTION_DAYS: \"7\" is not a number of days from 30 to 36500, or 0"},
		{"retention in hours", map[string]string{"BELLHOP_RETENTION_DAYS": "400h"}, []string{"migrate"}, "BELLHOP_RETENTION_DAYS"},
		{"token revoke without an id", map[string]string{"BELLHOP_DATABASE_URL": dir + "/d.db"}, []string{"token", "revoke"}, "usage"},
		{"token with a negative expiry", map[string]string{"BELLHOP_DATABASE_URL": dir + "/d.db"}, []string{"token", "create", "--property", "*", "--role", "admin", "--expires", "-1h"}, "--expires"},
		{"token for a missing property", map[string]string{"BELLHOP_DATABASE_URL": dir + "/d.db"}, []string{"token", "create", "--property", "ghost", "--role", "admin"}, "does not exist"},
		{"token with a bad role", map[string]string{"BELLHOP_DATABASE_URL": dir + "/d.db"}, []string{"token", "create", "--property", "*", "--role", "root"}, "--role"},
		{"property with a bad zone", map[string]string{"BELLHOP_DATABASE_URL": dir + "/d.db"}, []string{"property", "create", "--id", "x", "--name", "X", "--time-zone", "Nowhere/Town"}, "time_zone"},
		{"unknown command", nil, []string{"fly"}, "unknown command"},
		{"unknown flag", nil, []string{"serve", "--colour"}, "colour"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out, errb bytes.Buffer
			err := app.Run(ctx, c.args, func(k string) string { return c.env[k] }, &out, &errb)
			if err == nil {
				t.Fatalf("bellhop %s started", strings.Join(c.args, " "))
			}
			if msg := err.Error() + errb.String(); !strings.Contains(msg, c.mention) {
				t.Fatalf("bellhop %s: %q does not mention %q", strings.Join(c.args, " "), msg, c.mention)
			}
		})
	}
}

// TestMigrateAndCreate: migrate is repeatable; property and token commands work from a clean database.
func TestMigrateAndCreate(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"BELLHOP_DATABASE_URL": db(t)}
			for i := 0; i < 2; i++ {
				out, errs, err := run(env, "migrate")
				if err != nil || !strings.Contains(out, "up to date") {
					t.Fatalf("migrate #%d: %v %s %s", i+1, err, out, errs)
				}
			}
			out, errs, err := run(env, "property", "create", "--id", "h1", "--name", "Hotel", "--time-zone", "Europe/Berlin", "--country", "de", "--contact-center")
			if err != nil || !strings.Contains(out, `"country":"DE"`) || !strings.Contains(out, `"contact_center":true`) {
				t.Fatalf("property create: %v %s %s", err, out, errs)
			}
			if _, _, err := run(env, "property", "create", "--id", "h1", "--name", "Hotel", "--time-zone", "Europe/Berlin"); err == nil || !strings.Contains(err.Error(), "already exists") {
				t.Fatalf("duplicate property create: %v", err)
			}
			tok, _, err := run(env, "token", "create", "--property", "h1", "--role", "admin")
			tok = strings.TrimSpace(tok)
			if err != nil || !strings.HasPrefix(tok, "bh_") || strings.Contains(tok, "\n") || len(tok) < 40 {
				t.Fatalf("token create printed %q, %v", tok, err)
			}
		})
	}
}
