package redisproc

import (
	"context"
	"testing"
	"time"
)

// A key written before its master is killed is read back from the replica that took over,
// through the same client, for a cluster and a Sentinel group alike.
func TestFailoverKeepsWhatReachedTheReplica(t *testing.T) {
	Require(t)
	for _, kind := range []Kind{Cluster, Sentinel} {
		t.Run(string(kind), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			g, err := Start(ctx, kind, "", t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer g.Stop()
			c := g.Client()
			defer c.Close()
			if err := c.Set(ctx, "{guest}:welcome", "sent", 0).Err(); err != nil {
				t.Fatal(err)
			}
			// Replication is asynchronous: wait until the replica has it before the crash.
			if err := c.Do(ctx, "WAIT", 1, 5000).Err(); err != nil {
				t.Fatal(err)
			}
			killed, promoted, err := g.FailoverFor(ctx, "{guest}:welcome")
			if err != nil {
				t.Fatal(err)
			}
			if killed == promoted || promoted == "" {
				t.Fatalf("failover from %s to %q", killed, promoted)
			}
			// A new client: how an old one finds the new master is the application's business
			// (cmd/bellhop/app tests Bellhop's).
			c2 := g.Client()
			defer c2.Close()
			got, err := c2.Get(ctx, "{guest}:welcome").Result()
			if err != nil || got != "sent" {
				t.Fatalf("after the failover from %s to %s: %q, %v", killed, promoted, got, err)
			}
			if err := c2.Set(ctx, "{guest}:stay", "1", 0).Err(); err != nil {
				t.Fatalf("write after the failover: %v", err)
			}
			if err := g.Empty(ctx); err != nil {
				t.Fatal(err)
			}
			if n, err := c2.Exists(ctx, "{guest}:welcome").Result(); err != nil || n != 0 {
				t.Fatalf("after Empty: exists = %d, %v", n, err)
			}
		})
	}
}
