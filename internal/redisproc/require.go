package redisproc

import (
	"os"
	"os/exec"
	"testing"
)

// Require returns the redis-server binary for a test that starts servers of its own, skips
// the test when it is not installed, and fails it instead on CI (CI=true), where a skipped
// cluster test would pass unseen.
func Require(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed (Debian: apt-get install redis-server)")
		}
		t.Skip("redis-server is not installed")
	}
	return bin
}
