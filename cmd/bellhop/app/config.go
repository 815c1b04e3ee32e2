package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/connector"
	"github.com/bellhop/bellhop/mailings"
	"github.com/bellhop/bellhop/provider/safehttp"
	"github.com/redis/go-redis/v9"
)

// Environment variables every command reads.
const envHelp = `Environment:
  BELLHOP_DATABASE_URL   postgres://user@host/db?sslmode=disable, or a SQLite file path (default: bellhop.db)
  REDIS_ADDR             host:port of Redis; several comma-separated addresses mean a Redis Cluster
                         (default: 127.0.0.1:6379)
  REDIS_PASSWORD         Redis password, if any
  REDIS_SENTINEL_MASTER  with REDIS_ADDR listing sentinels: the master name (Redis Sentinel)
  BELLHOP_SECRET_KEY     32 random bytes, base64 or hex (openssl rand -base64 32); seals API keys at rest
  BELLHOP_PUBLIC_URL     the URL the provider and people reach Bellhop at (webhooks, sign-in links)
  BELLHOP_LOG_LEVEL      debug | info | warn | error (default: info)
  BELLHOP_SEND_INTERVAL  least time between two messages of one sender, e.g. 600s (default: each
                         channel's own: 300s for WhatsApp Web numbers, 1/80 s for Cloud API numbers)
  BELLHOP_SEND_TIMEOUT   longest one provider call may take; the sender is held that long if a
                         worker dies mid-send (default: 30s)
  BELLHOP_PLAN_HORIZON   how far ahead of its time a planned message is queued in Redis; later ones
                         wait in the database (default: 1h)
  BELLHOP_RETENTION_DAYS days the ledger keeps a guest's name, phone and email after the stay;
                         0 keeps them (default: 400)
  BELLHOP_REDIS_NAMESPACE  keeps this installation's queue and pacer keys apart from others on the
                         same Redis (default: none)
  BELLHOP_REDIS_GRANT_REPLICAS  replicas that must confirm each send the pacer grants before it
                         goes, on Redis Cluster and Sentinel (default: 1 there; 0 on one Redis)
  BELLHOP_ALLOW_PRIVATE_PROVIDERS  true lets provider addresses (base_url) and relayed webhooks be
                         plain http or inside this network (loopback, private, link-local); for
                         local sandboxes and tests only (default: false, https to public hosts)
`

// DefaultSendInterval is BELLHOP_SEND_INTERVAL when it is not set: each sender then takes its
// channel kind's own pacing profile (provider.Pacing.PerSender) until it has settings of its
// own; any other value is every sender's default.
const DefaultSendInterval = 300 * time.Second

// Config is what the environment and flags say. Commands read the parts they need.
type Config struct {
	DatabaseURL         string
	RedisAddrs          []string
	RedisPassword       string
	RedisSentinelMaster string
	SecretKey           []byte
	PublicURL           string
	LogLevel            string
	// GrantReplicas is how many replicas confirm each grant of the pacer (WAIT): 1 on Cluster
	// and Sentinel, 0 on one Redis.
	GrantReplicas int
	// SendInterval is the pacer's default spacing of one sender's messages.
	SendInterval time.Duration
	// SendTimeout bounds one provider call.
	SendTimeout time.Duration
	// RedisNamespace separates installations that share one Redis.
	RedisNamespace string
	// PlanHorizon is how far ahead of its time a planned send is queued in Redis.
	PlanHorizon time.Duration
	// Retention is how long the ledger keeps guest personal data; 0 keeps it.
	Retention time.Duration
	// AllowPrivateProviders lets provider addresses and relayed webhooks be plain http or
	// inside this network; by default only https to public hosts is called.
	AllowPrivateProviders bool
}

// ConfigFromEnv reads the environment. needSecret makes a missing BELLHOP_SECRET_KEY an error.
func ConfigFromEnv(getenv func(string) string, needSecret bool) (Config, error) {
	c := Config{
		DatabaseURL:         strings.TrimSpace(getenv("BELLHOP_DATABASE_URL")),
		RedisPassword:       getenv("REDIS_PASSWORD"),
		RedisSentinelMaster: strings.TrimSpace(getenv("REDIS_SENTINEL_MASTER")),
		PublicURL:           strings.TrimRight(strings.TrimSpace(getenv("BELLHOP_PUBLIC_URL")), "/"),
		LogLevel:            strings.TrimSpace(getenv("BELLHOP_LOG_LEVEL")),
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "bellhop.db"
	}
	addrs := strings.TrimSpace(getenv("REDIS_ADDR"))
	if addrs == "" {
		addrs = "127.0.0.1:6379"
	}
	for _, a := range strings.Split(addrs, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if !strings.Contains(a, ":") {
			return c, fmt.Errorf("REDIS_ADDR: %q is not host:port", a)
		}
		c.RedisAddrs = append(c.RedisAddrs, a)
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, fmt.Errorf("BELLHOP_PUBLIC_URL: %q is not an http(s) URL such as https://bellhop.example.com", c.PublicURL)
		}
	}
	c.RedisNamespace = strings.TrimSpace(getenv("BELLHOP_REDIS_NAMESPACE"))
	if strings.ContainsAny(c.RedisNamespace, "{} ") {
		return c, fmt.Errorf("BELLHOP_REDIS_NAMESPACE: %q must not contain braces or spaces", c.RedisNamespace)
	}
	c.GrantReplicas = 1
	if c.singleRedis() {
		c.GrantReplicas = 0
	}
	if v := strings.TrimSpace(getenv("BELLHOP_REDIS_GRANT_REPLICAS")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 5 {
			return c, fmt.Errorf("BELLHOP_REDIS_GRANT_REPLICAS: %q is not a number of replicas from 0 to 5", v)
		}
		c.GrantReplicas = n
	}
	c.SendInterval = DefaultSendInterval
	if v := strings.TrimSpace(getenv("BELLHOP_SEND_INTERVAL")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Millisecond || d > 24*time.Hour {
			return c, fmt.Errorf("BELLHOP_SEND_INTERVAL: %q is not a duration from 1ms to 24h such as 300s", v)
		}
		c.SendInterval = d
	}
	c.SendTimeout = 30 * time.Second
	if v := strings.TrimSpace(getenv("BELLHOP_SEND_TIMEOUT")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond || d > 10*time.Minute {
			return c, fmt.Errorf("BELLHOP_SEND_TIMEOUT: %q is not a duration from 100ms to 10m such as 30s", v)
		}
		c.SendTimeout = d
	}
	c.PlanHorizon = bellhop.DefaultPlanHorizon
	if v := strings.TrimSpace(getenv("BELLHOP_PLAN_HORIZON")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute || d > 30*24*time.Hour {
			return c, fmt.Errorf("BELLHOP_PLAN_HORIZON: %q is not a duration from 1m to 720h such as 1h", v)
		}
		c.PlanHorizon = d
	}
	c.Retention = mailings.DefaultRetention
	if v := strings.TrimSpace(getenv("BELLHOP_RETENTION_DAYS")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || (n > 0 && n < 30) || n > 36500 {
			return c, fmt.Errorf("BELLHOP_RETENTION_DAYS: %q is not a number of days from 30 to 36500, or 0 to keep guest data", v)
		}
		c.Retention = time.Duration(n) * 24 * time.Hour
	}
	if v := strings.TrimSpace(getenv("BELLHOP_ALLOW_PRIVATE_PROVIDERS")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("BELLHOP_ALLOW_PRIVATE_PROVIDERS: %q is not true or false", v)
		}
		c.AllowPrivateProviders = b
	}
	switch c.LogLevel {
	case "", "debug", "info", "warn", "error":
	default:
		return c, fmt.Errorf("BELLHOP_LOG_LEVEL: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	if s := getenv("BELLHOP_SECRET_KEY"); s != "" || needSecret {
		key, err := connector.ParseSecretKey(s)
		if err != nil {
			return c, err
		}
		c.SecretKey = key
	}
	return c, nil
}

// redisOptions turns the addresses into go-redis options: one address is a single server,
// several are a cluster, a sentinel master name means Sentinel.
func (c Config) redisOptions() *redis.UniversalOptions {
	return &redis.UniversalOptions{
		Addrs:      c.RedisAddrs,
		Password:   c.RedisPassword,
		MasterName: c.RedisSentinelMaster,
	}
}

// clusterReloadEvery bounds how long a cluster client may route by an old slot map when
// nothing fails; a failing call reloads it at once (clusterReload). A variable for tests.
var clusterReloadEvery = 10 * time.Second

// singleRedis reports whether Bellhop talks to one Redis (neither Sentinel nor Cluster).
func (c Config) singleRedis() bool {
	o := c.redisOptions()
	return o.MasterName == "" && len(o.Addrs) <= 1
}

// newRedis connects as redisOptions says: a Sentinel master name makes a client that follows
// the sentinels' failovers; several addresses a Redis Cluster client that reloads the slot map
// when a node stops answering; one address a plain client.
func (c Config) newRedis() redis.UniversalClient {
	o := c.redisOptions()
	switch {
	case o.MasterName != "":
		return redis.NewFailoverClient(o.Failover())
	case len(o.Addrs) > 1:
		co := o.Cluster()
		co.ClusterStateReloadInterval = clusterReloadEvery
		cc := redis.NewClusterClient(co)
		cc.AddHook(clusterReload{cc})
		return cc
	}
	return redis.NewClient(o.Simple())
}

// clusterReload reloads a cluster client's slot map when a call fails for want of a
// connection. go-redis reloads it on MOVED and ASK only: when a master dies and a replica
// takes its slots, the nodes that could answer MOVED are never asked, and every call for
// those slots would fail against the dead address until the next periodic reload.
type clusterReload struct{ c *redis.ClusterClient }

func (h clusterReload) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h clusterReload) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.check(ctx, err)
		return err
	}
}

func (h clusterReload) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.check(ctx, err)
		return err
	}
}

// check reloads after a failure that is not Redis's answer (a reply error, a missing key) nor
// the caller giving up: a refused or broken connection. Reloads are coalesced by go-redis.
func (h clusterReload) check(ctx context.Context, err error) {
	var reply redis.Error
	if err == nil || errors.Is(err, redis.Nil) || errors.As(err, &reply) || ctx.Err() != nil {
		return
	}
	h.c.ReloadState(ctx)
}

// queueName is the Asynq queue of the sends, in the namespace.
func (c Config) queueName() string {
	if c.RedisNamespace == "" {
		return "mailings"
	}
	return c.RedisNamespace + ":mailings"
}

// leaseKey names the Redis lease of a periodic job, in the namespace.
func (c Config) leaseKey(job string) string {
	return "bellhop:lease:{" + c.queueName() + "}:" + job
}

// pacerPrefix starts the pacer's Redis keys, in the namespace.
func (c Config) pacerPrefix() string {
	if c.RedisNamespace == "" {
		return "bellhop:pacer:"
	}
	return "bellhop:" + c.RedisNamespace + ":pacer:"
}

// addresses is the policy for the addresses Bellhop calls on a provider account's behalf.
func (c Config) addresses() safehttp.Policy {
	return safehttp.Policy{AllowPrivate: c.AllowPrivateProviders}
}
