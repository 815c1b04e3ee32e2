// Package redisproc starts redis-server processes of a test's own on loopback ports — one
// server, a Redis Cluster of three masters with a replica each, or a Sentinel group — and
// does to them what production does: restarts them empty, and fails a master over.
package redisproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Kind is how the servers are arranged.
type Kind string

const (
	// Single is one redis-server.
	Single Kind = "single"
	// Cluster is a Redis Cluster of three masters, each with one replica.
	Cluster Kind = "cluster"
	// Sentinel is one master with two replicas watched by three sentinels.
	Sentinel Kind = "sentinel"
)

// MasterName is the name the sentinels know the master by (REDIS_SENTINEL_MASTER).
const MasterName = "bellhop"

// Timeouts short enough for a test: a dead master is noticed after about a second.
const (
	nodeTimeout = 1000 // ms: cluster-node-timeout and sentinel down-after-milliseconds
	settleAfter = 30 * time.Second
)

// Group is the running servers of one kind.
type Group struct {
	Kind Kind
	bin  string
	dir  string

	mu        sync.Mutex
	nodes     []*node // data nodes; in a cluster the first three start as masters
	sentinels []*node
}

type node struct {
	addr string
	bus  int      // cluster bus port
	args []string // redis-server arguments
	cmd  *exec.Cmd
	gone chan struct{} // closed when the process has exited
	dead bool
}

// Start starts the servers of kind in dir (logs and config files go there) and returns once
// they serve: a cluster with every slot covered and its replicas in sync, a Sentinel group
// whose sentinels know each other and both replicas. bin is the redis-server binary (default:
// found on PATH).
func Start(ctx context.Context, kind Kind, bin, dir string) (*Group, error) {
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			return nil, errors.New("redis-server is not installed (Debian: apt-get install redis-server)")
		}
	}
	if kind == Cluster || kind == Sentinel {
		if err := needVersion7(bin); err != nil {
			return nil, err
		}
	}
	g := &Group{Kind: kind, bin: bin, dir: dir}
	var err error
	switch kind {
	case Single, "":
		g.Kind = Single
		err = g.startSingle()
	case Cluster:
		err = g.startCluster(ctx)
	case Sentinel:
		err = g.startSentinel(ctx)
	default:
		err = fmt.Errorf("redisproc: unknown kind %q (single, cluster or sentinel)", kind)
	}
	if err != nil {
		g.Stop()
		return nil, err
	}
	return g, nil
}

// Addr is what REDIS_ADDR says for this group: the server, every cluster node, or the sentinels,
// comma-separated.
func (g *Group) Addr() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	list := g.nodes
	if g.Kind == Sentinel {
		list = g.sentinels
	}
	var addrs []string
	for _, n := range list {
		addrs = append(addrs, n.addr)
	}
	return strings.Join(addrs, ",")
}

// SentinelMaster is what REDIS_SENTINEL_MASTER says: the master's name for a Sentinel group,
// else empty.
func (g *Group) SentinelMaster() string {
	if g.Kind == Sentinel {
		return MasterName
	}
	return ""
}

// Client is a client of the group as Bellhop makes it (go-redis' universal client).
func (g *Group) Client() redis.UniversalClient {
	return redis.NewUniversalClient(&redis.UniversalOptions{Addrs: strings.Split(g.Addr(), ","), MasterName: g.SentinelMaster()})
}

// Stop kills every server, as a crash would: nothing is saved.
func (g *Group) Stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, n := range append(g.nodes, g.sentinels...) {
		n.kill()
	}
}

// Empty makes the group lose its data as a restart without persistence does: the single
// server is killed and started again empty; a cluster's or a Sentinel group's masters are
// flushed (their replicas follow).
func (g *Group) Empty(ctx context.Context) error {
	if g.Kind == Single {
		g.mu.Lock()
		defer g.mu.Unlock()
		n := g.nodes[0]
		n.kill()
		return g.run(n)
	}
	masters, err := g.masters(ctx)
	if err != nil {
		return err
	}
	for _, addr := range masters {
		if err := g.do(ctx, addr, "FLUSHALL"); err != nil {
			return fmt.Errorf("redisproc: flush %s: %w", addr, err)
		}
	}
	return nil
}

// FailoverFor kills (SIGKILL) the master that holds key — in a cluster the master of key's
// slot, in a Sentinel group the master — and returns once a replica has taken its place and
// serves: the cluster is whole again, or every sentinel names the new master. It returns the
// killed and the new master's addresses. A single server has no replica to fail over to.
func (g *Group) FailoverFor(ctx context.Context, key string) (killed, promoted string, err error) {
	ctx, cancel := context.WithTimeout(ctx, settleAfter)
	defer cancel()
	var took func(old string) (string, bool) // who took over from old, once it serves
	switch g.Kind {
	case Cluster:
		took = func(old string) (string, bool) { return g.clusterTookOver(ctx, key, old) }
	case Sentinel:
		took = func(old string) (string, bool) { return g.sentinelTookOver(ctx, old) }
	default:
		return "", "", errors.New("redisproc: a single server has no replica to fail over to")
	}
	if killed, err = g.MasterOf(ctx, key); err != nil {
		return "", "", err
	}
	if err := waitFor(ctx, "a replica in sync with "+killed, func() bool { return g.HasReplica(ctx, killed) }); err != nil {
		return "", "", err
	}
	g.killAddr(killed)
	err = waitFor(ctx, "a replica to take over from "+killed, func() bool {
		var ok bool
		promoted, ok = took(killed)
		return ok
	})
	return killed, promoted, err
}

// MasterOf is the address of the master that holds key.
func (g *Group) MasterOf(ctx context.Context, key string) (string, error) {
	switch g.Kind {
	case Cluster:
		return g.slotMaster(ctx, key)
	case Sentinel:
		return g.sentinelMaster(ctx, g.liveSentinels()[0].addr)
	}
	return g.nodes[0].addr, nil
}

// HasReplica reports whether the master at addr has a live replica in sync, that is, whether
// it can be failed over.
func (g *Group) HasReplica(ctx context.Context, addr string) bool {
	info, err := g.info(ctx, addr, "replication")
	if err != nil {
		return false
	}
	return strings.Contains(info, "state=online")
}

// Masters is the addresses of the masters that serve now.
func (g *Group) Masters(ctx context.Context) ([]string, error) { return g.masters(ctx) }

// KeysByMaster is the keys matching pattern on each master that serves now.
func (g *Group) KeysByMaster(ctx context.Context, pattern string) (map[string][]string, error) {
	masters, err := g.masters(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, addr := range masters {
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		keys, err := c.Keys(ctx, pattern).Result() // a test's own few keys
		c.Close()
		if err != nil {
			return nil, fmt.Errorf("redisproc: keys on %s: %w", addr, err)
		}
		if len(keys) > 0 {
			out[addr] = keys
		}
	}
	return out, nil
}

// --- one server

func (g *Group) startSingle() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	n := &node{addr: loopback(port), args: g.common(port)}
	g.nodes = []*node{n}
	return g.run(n)
}

// common is every data node's arguments: loopback, no persistence.
func (g *Group) common(port int) []string {
	return []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no", "--dir", g.dir}
}

// run starts n's process and waits until it answers PING.
func (g *Group) run(n *node) error {
	logf, err := os.Create(filepath.Join(g.dir, "redis-"+portOf(n.addr)+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(g.bin, n.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("redisproc: start redis-server: %w", err)
	}
	gone := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(gone) }()
	n.cmd, n.gone, n.dead = cmd, gone, false
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ping(n.addr) {
			return nil
		}
		time.Sleep(20 * time.Millisecond) // redis-server starting
	}
	return fmt.Errorf("redisproc: redis-server on %s did not answer within 10 s (log: %s)", n.addr, logf.Name())
}

func (n *node) kill() {
	if n.cmd == nil || n.cmd.Process == nil || n.dead {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.gone // its port is free again
	n.dead = true
}

// --- Redis Cluster

func (g *Group) startCluster(ctx context.Context) error {
	for range 6 {
		port, err := freePort()
		if err != nil {
			return err
		}
		bus, err := freePort()
		if err != nil {
			return err
		}
		args := append(g.common(port), "--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus),
			"--cluster-config-file", "nodes-"+strconv.Itoa(port)+".conf",
			"--cluster-node-timeout", strconv.Itoa(nodeTimeout),
			// A replica takes over however long ago it last heard its master.
			"--cluster-replica-validity-factor", "0")
		n := &node{addr: loopback(port), bus: bus, args: args}
		g.nodes = append(g.nodes, n)
		if err := g.run(n); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, settleAfter)
	defer cancel()
	// Three masters share the 16384 slots; everyone meets the first node.
	const slots = 16384
	for i := range 3 {
		lo, hi := i*slots/3, (i+1)*slots/3-1
		if err := g.do(ctx, g.nodes[i].addr, "CLUSTER", "ADDSLOTSRANGE", lo, hi); err != nil {
			return fmt.Errorf("redisproc: assign slots %d-%d: %w", lo, hi, err)
		}
	}
	first := g.nodes[0]
	for _, n := range g.nodes[1:] {
		if err := g.do(ctx, n.addr, "CLUSTER", "MEET", "127.0.0.1", portOf(first.addr), first.bus); err != nil {
			return fmt.Errorf("redisproc: cluster meet: %w", err)
		}
	}
	if err := waitFor(ctx, "every node to know the other five", func() bool {
		for _, n := range g.nodes {
			out, err := g.str(ctx, n.addr, "CLUSTER", "NODES")
			if err != nil || strings.Count(strings.TrimSpace(out), "\n")+1 != len(g.nodes) || strings.Contains(out, "handshake") {
				return false
			}
		}
		return true
	}); err != nil {
		return err
	}
	// Node i+3 replicates master i.
	for i := range 3 {
		id, err := g.str(ctx, g.nodes[i].addr, "CLUSTER", "MYID")
		if err != nil {
			return err
		}
		if err := g.do(ctx, g.nodes[i+3].addr, "CLUSTER", "REPLICATE", id); err != nil {
			return fmt.Errorf("redisproc: cluster replicate: %w", err)
		}
	}
	return waitFor(ctx, "the cluster to be whole with its replicas in sync", func() bool {
		for i, n := range g.nodes {
			if !g.clusterOK(ctx, n.addr) {
				return false
			}
			if i < 3 && !g.HasReplica(ctx, n.addr) {
				return false
			}
		}
		return true
	})
}

func (g *Group) clusterOK(ctx context.Context, addr string) bool {
	info, err := g.str(ctx, addr, "CLUSTER", "INFO")
	return err == nil && strings.Contains(info, "cluster_state:ok")
}

// slotMaster is the master serving key's slot, as a live node sees it.
func (g *Group) slotMaster(ctx context.Context, key string) (string, error) {
	for _, n := range g.liveNodes() {
		c := redis.NewClient(&redis.Options{Addr: n.addr, MaxRetries: -1})
		slot, err := c.ClusterKeySlot(ctx, key).Result()
		var shards []redis.ClusterShard
		if err == nil {
			shards, err = c.ClusterShards(ctx).Result()
		}
		c.Close()
		if err != nil {
			continue
		}
		for _, sh := range shards {
			for _, r := range sh.Slots {
				if slot < r.Start || slot > r.End {
					continue
				}
				for _, n := range sh.Nodes {
					if n.Role == "master" && n.Health == "online" {
						return net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10)), nil
					}
				}
			}
		}
	}
	return "", fmt.Errorf("redisproc: no live node knows the master of %q", key)
}

// clusterTookOver is the new master of key's slot once it is not old and every live node
// sees the cluster whole.
func (g *Group) clusterTookOver(ctx context.Context, key, old string) (string, bool) {
	m, err := g.slotMaster(ctx, key)
	if err != nil || m == old {
		return "", false
	}
	for _, n := range g.liveNodes() {
		if !g.clusterOK(ctx, n.addr) {
			return "", false
		}
	}
	return m, true
}

// --- Sentinel

func (g *Group) startSentinel(ctx context.Context) error {
	for i := range 3 {
		port, err := freePort()
		if err != nil {
			return err
		}
		args := g.common(port)
		if i > 0 {
			args = append(args, "--replicaof", "127.0.0.1", portOf(g.nodes[0].addr))
		}
		n := &node{addr: loopback(port), args: args}
		g.nodes = append(g.nodes, n)
		if err := g.run(n); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, settleAfter)
	defer cancel()
	master := g.nodes[0].addr
	if err := waitFor(ctx, "both replicas to sync with the master", func() bool {
		info, err := g.info(ctx, master, "replication")
		return err == nil && strings.Contains(info, "connected_slaves:2") && strings.Count(info, "state=online") == 2
	}); err != nil {
		return err
	}
	for range 3 {
		port, err := freePort()
		if err != nil {
			return err
		}
		conf := filepath.Join(g.dir, "sentinel-"+strconv.Itoa(port)+".conf")
		text := fmt.Sprintf(`bind 127.0.0.1
port %d
dir %s
sentinel monitor %s 127.0.0.1 %s 2
sentinel down-after-milliseconds %s %d
sentinel failover-timeout %s 5000
sentinel parallel-syncs %s 2
`, port, g.dir, MasterName, portOf(master), MasterName, nodeTimeout, MasterName, MasterName)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return err
		}
		n := &node{addr: loopback(port), args: []string{conf, "--sentinel"}}
		g.sentinels = append(g.sentinels, n)
		if err := g.run(n); err != nil {
			return err
		}
	}
	// A failover needs the sentinels to know each other (they vote) and the replicas.
	return waitFor(ctx, "the sentinels to know each other and both replicas", func() bool {
		for _, s := range g.sentinels {
			m, err := g.sentinelInfo(ctx, s.addr)
			if err != nil || m["num-other-sentinels"] != "2" || m["num-slaves"] != "2" {
				return false
			}
		}
		return true
	})
}

func (g *Group) sentinelInfo(ctx context.Context, addr string) (map[string]string, error) {
	c := redis.NewSentinelClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	return c.Master(ctx, MasterName).Result()
}

func (g *Group) sentinelMaster(ctx context.Context, addr string) (string, error) {
	c := redis.NewSentinelClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	hp, err := c.GetMasterAddrByName(ctx, MasterName).Result()
	if err != nil {
		return "", err
	}
	if len(hp) != 2 {
		return "", fmt.Errorf("redisproc: sentinel %s answered %v for the master", addr, hp)
	}
	return net.JoinHostPort(hp[0], hp[1]), nil
}

// sentinelTookOver is the new master once every sentinel names the same one, not old, and
// it says it is a master.
func (g *Group) sentinelTookOver(ctx context.Context, old string) (string, bool) {
	var m string
	for _, s := range g.liveSentinels() {
		a, err := g.sentinelMaster(ctx, s.addr)
		if err != nil || a == old || (m != "" && a != m) {
			return "", false
		}
		m = a
	}
	info, err := g.info(ctx, m, "replication")
	return m, err == nil && strings.Contains(info, "role:master")
}

// --- helpers

// needVersion7 refuses a redis-server older than 7.0: the cluster is set up with commands and
// options that came with it (CLUSTER ADDSLOTSRANGE, CLUSTER SHARDS, cluster-port).
func needVersion7(bin string) error {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return fmt.Errorf("redisproc: %s --version: %w", bin, err)
	}
	// "Redis server v=7.0.15 sha=…"
	_, v, ok := strings.Cut(string(out), " v=")
	major, _, _ := strings.Cut(v, ".")
	if n, err := strconv.Atoi(major); !ok || err != nil || n < 7 {
		return fmt.Errorf("redisproc: %s is %q; a Redis Cluster or Sentinel group of the test's own needs redis-server 7.0 or later", bin, strings.TrimSpace(string(out)))
	}
	return nil
}

func (g *Group) masters(ctx context.Context) ([]string, error) {
	var out []string
	for _, n := range g.liveNodes() {
		info, err := g.info(ctx, n.addr, "replication")
		if err != nil {
			return nil, err
		}
		if strings.Contains(info, "role:master") {
			out = append(out, n.addr)
		}
	}
	return out, nil
}

func (g *Group) liveNodes() []*node {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []*node
	for _, n := range g.nodes {
		if !n.dead {
			out = append(out, n)
		}
	}
	return out
}

func (g *Group) liveSentinels() []*node {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sentinels
}

func (g *Group) killAddr(addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, n := range g.nodes {
		if n.addr == addr {
			n.kill()
		}
	}
}

func (g *Group) do(ctx context.Context, addr string, args ...any) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	return c.Do(ctx, args...).Err()
}

func (g *Group) str(ctx context.Context, addr string, args ...any) (string, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	return c.Do(ctx, args...).Text()
}

func (g *Group) info(ctx context.Context, addr, section string) (string, error) {
	return g.str(ctx, addr, "INFO", section)
}

// waitFor polls cond (other processes' progress) until it holds or ctx ends.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("redisproc: waiting for %s: %w", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_, _ = c.Write([]byte("PING\r\n"))
	buf := make([]byte, 7)
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	n, _ := c.Read(buf)
	return strings.HasPrefix(string(buf[:n]), "+PONG")
}
