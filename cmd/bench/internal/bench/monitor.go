package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// monitor counts, on the server side, the commands run in one database: a MONITOR
// connection sees every command of every client (Asynq's included), tagged with the database
// it ran in and with "lua" for the commands a script called. Other databases' traffic (other
// tests on the same Redis) is left out, which INFO's server-wide counters cannot do.
type monitor struct {
	conn  net.Conn
	db    string
	top   atomic.Int64 // commands clients sent
	inner atomic.Int64 // commands scripts ran
	marks chan string
	seq   int
}

const markPrefix = "bench-mark-"

func startMonitor(addr string, db int) (*monitor, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		conn.Close()
		return nil, fmt.Errorf("monitor: %w", err)
	}
	m := &monitor{conn: conn, db: strconv.Itoa(db), marks: make(chan string, 16)}
	rd := bufio.NewReaderSize(conn, 1<<20)
	first, err := rd.ReadString('\n')
	if err != nil || !strings.HasPrefix(first, "+OK") {
		conn.Close()
		return nil, fmt.Errorf("monitor: Redis answered %q: %v", strings.TrimSpace(first), err)
	}
	go m.read(rd)
	return m, nil
}

// read parses lines like `+1795293848.332179 [15 127.0.0.1:36010] "EVALSHA" "…"` and
// `+1795293848.332230 [15 lua] "HMGET" …`.
func (m *monitor) read(rd *bufio.Reader) {
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return
		}
		_, rest, ok := strings.Cut(line, " [")
		if !ok {
			continue
		}
		who, cmd, ok := strings.Cut(rest, "] ")
		if !ok {
			continue
		}
		db, client, _ := strings.Cut(who, " ")
		if db != m.db {
			continue
		}
		if client == "lua" {
			m.inner.Add(1)
			continue
		}
		if strings.HasPrefix(cmd, `"ECHO" "`+markPrefix) || strings.HasPrefix(cmd, `"echo" "`+markPrefix) {
			m.marks <- strings.Trim(strings.TrimSpace(strings.SplitN(cmd, " ", 2)[1]), `"`)
			continue
		}
		m.top.Add(1)
	}
}

// counts returns the commands counted so far, once every command sent before the call has
// been seen: it sends a marker through rdb (on the monitored database) and waits for it.
func (m *monitor) counts(ctx context.Context, rdb *redis.Client) (top, inner int64, err error) {
	m.seq++
	mark := markPrefix + strconv.Itoa(m.seq)
	if err := rdb.Echo(ctx, mark).Err(); err != nil {
		return 0, 0, fmt.Errorf("monitor mark: %w", err)
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case got := <-m.marks:
			if got == mark {
				return m.top.Load(), m.inner.Load(), nil
			}
		case <-timeout:
			return 0, 0, fmt.Errorf("monitor: marker %s never seen", mark)
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		}
	}
}

func (m *monitor) close() { m.conn.Close() }
