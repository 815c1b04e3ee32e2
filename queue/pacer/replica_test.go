package pacer

import (
	"context"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/redisproc"
	"github.com/redis/go-redis/v9"
)

// A grant is on the replica before Acquire answers it, with GrantReplicas: a master that
// fails right after granting cannot take the grant with it. Redis replicates asynchronously
// and a replica acknowledges what it has on its own only once a second, so without the WAIT
// the master has not heard back for the grant's write when Acquire returns. A grant no
// replica confirms in time still stands, and is counted.
func TestGrantsAreOnTheReplica(t *testing.T) {
	redisproc.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := func() *redisproc.Group {
		g, err := redisproc.Start(ctx, redisproc.Single, "", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(g.Stop)
		return g
	}
	master, replica := start(), start()
	mc := redis.NewClient(&redis.Options{Addr: master.Addr()})
	defer mc.Close()
	rc := redis.NewClient(&redis.Options{Addr: replica.Addr()})
	defer rc.Close()
	host, port, err := net.SplitHostPort(master.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Do(ctx, "REPLICAOF", host, port).Err(); err != nil {
		t.Fatal(err)
	}
	for {
		info, err := rc.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the replica never synced: %s", info)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// offsets are the master's replication offset and what its one replica acknowledged.
	offsets := func() (int64, int64) {
		info, err := mc.Info(ctx, "replication").Result()
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`master_repl_offset:(\d+)`).FindStringSubmatch(info)
		s := regexp.MustCompile(`slave0:.*offset=(\d+)`).FindStringSubmatch(info)
		if m == nil || s == nil {
			t.Fatalf("no offsets in the master's replication info: %s", info)
		}
		mo, _ := strconv.ParseInt(m[1], 10, 64)
		so, _ := strconv.ParseInt(s[1], 10, 64)
		return mo, so
	}
	clock := bellhop.NewSimulatedClock(t0)
	for i, c := range []struct {
		name        string
		replicas    int
		confirmed   bool // the replica acknowledged the grant's write when Acquire answered
		unconfirmed int64
	}{
		{"without waiting, the master has not heard back", 0, false, 0},
		{"one replica confirms each grant", 1, true, 0},
		{"two replicas asked, one there: the grant stands, counted", 2, true, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := New(mc, clock, Config{KeyPrefix: "grant" + strconv.Itoa(i) + ":", Interval: time.Second, Jitter: -1,
				GrantReplicas: c.replicas, GrantWait: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Hour)
			ok, _, err := p.Acquire(ctx, "s", "m", time.Minute)
			if err != nil || !ok {
				t.Fatalf("Acquire = %v, %v; want a grant", ok, err)
			}
			// WAIT itself adds the master's REPLCONF GETACK * (37 bytes) to the stream after the
			// grant; the grant's own writes are several times that.
			mo, so := offsets()
			if got := mo-so <= getAck; got != c.confirmed {
				t.Errorf("replica acknowledged %d of the master's %d when Acquire answered; want confirmed %t", so, mo, c.confirmed)
			}
			if p.Unconfirmed() != c.unconfirmed {
				t.Errorf("Unconfirmed = %d, want %d", p.Unconfirmed(), c.unconfirmed)
			}
		})
	}
}

// getAck is the length of the REPLCONF GETACK * a WAIT puts in the replication stream.
const getAck = int64(len("*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"))
