// Package app wires Switchyard together: configuration from the environment,
// the database (MySQL or the embedded engine), the services and the HTTP
// server, with Run and Close. cmd/switchyard and the e2e tests import it.
package app

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"switchyard/server/webhook"
)

// Config is the process configuration (DESIGN §2).
type Config struct {
	// Addr is the listen address; ":0" or "127.0.0.1:0" picks a free port.
	Addr string
	// PublicURL is the base URL of payment links and redirects; empty means
	// "http://" + the address actually listened on.
	PublicURL string
	// DatabaseURL is a go-sql-driver MySQL DSN; empty runs the embedded
	// in-memory engine (demo mode).
	DatabaseURL string
	// Sandbox mounts the sandbox processors and seeds the demo merchant.
	Sandbox bool
	// AdminToken is the admin API's bearer token.
	AdminToken string
	// MasterKeys seal secrets at rest, by version; the highest seals.
	MasterKeys map[int][]byte
	// RedisURL enables cross-replica live-status fan-out (not used yet).
	RedisURL string
	// SandboxSeed makes the sandbox processors' drawn outcomes
	// reproducible (SWITCHYARD_SANDBOX_SEED, default 1).
	SandboxSeed int64
	// ReconcileInterval is how often the reconciler runs
	// (SWITCHYARD_RECONCILE_INTERVAL, default 30s).
	ReconcileInterval time.Duration
	// PayoutPollInterval is how often the payout worker looks for due work
	// and asks rails about unknown attempts (SWITCHYARD_PAYOUT_POLL_INTERVAL,
	// default 1s).
	PayoutPollInterval time.Duration
	// PayoutSettleCheck is how long after a fulfillment is final its rail is
	// asked once more (reversals, late successes); default 10m.
	PayoutSettleCheck time.Duration
	// PayoutLease is how long the payout worker holds a claimed
	// fulfillment; after a crash it is picked up again that much later
	// (SWITCHYARD_PAYOUT_LEASE, default 1m).
	PayoutLease time.Duration
	// PayoutStuckAfter is how long an attempt may stay unknown before manual
	// review when the fulfillment sets no attemptThreshold; default 30m.
	PayoutStuckAfter time.Duration
	// WebhookSchedule is the wait before each webhook retry
	// (SWITCHYARD_WEBHOOK_RETRY_SCHEDULE, e.g. "1s,2s,4s"); nil means
	// webhook.DefaultSchedule: 60s,5m*2,10m*5,1h*5,6h*3.
	WebhookSchedule []time.Duration
	// WebhookLease is how long a relay's claim hides an event from other
	// relays (SWITCHYARD_WEBHOOK_LEASE); zero means webhook.DefaultLease.
	// After a crash, the events the dead process held wait this long.
	WebhookLease time.Duration
}

// ConfigFromEnv reads the SWITCHYARD_* variables through getenv and applies
// the defaults, refusing combinations that would be unsafe in production.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Addr:        getenv("SWITCHYARD_ADDR"),
		PublicURL:   strings.TrimRight(getenv("SWITCHYARD_PUBLIC_URL"), "/"),
		DatabaseURL: getenv("SWITCHYARD_DATABASE_URL"),
		AdminToken:  getenv("SWITCHYARD_ADMIN_TOKEN"),
		RedisURL:    getenv("SWITCHYARD_REDIS_URL"),
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	c.Sandbox = c.DatabaseURL == ""
	if v := getenv("SWITCHYARD_SANDBOX"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("SWITCHYARD_SANDBOX: want true or false, got %q", v)
		}
		c.Sandbox = b
	}
	c.ReconcileInterval = 30 * time.Second
	if v := getenv("SWITCHYARD_RECONCILE_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("SWITCHYARD_RECONCILE_INTERVAL: want a positive duration such as 30s, got %q", v)
		}
		c.ReconcileInterval = d
	}
	if v := getenv("SWITCHYARD_PAYOUT_POLL_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("SWITCHYARD_PAYOUT_POLL_INTERVAL: want a positive duration such as 1s, got %q", v)
		}
		c.PayoutPollInterval = d
	}
	if v := getenv("SWITCHYARD_PAYOUT_LEASE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("SWITCHYARD_PAYOUT_LEASE: want a positive duration such as 1m, got %q", v)
		}
		c.PayoutLease = d
	}
	if v := getenv(webhook.EnvSchedule); v != "" {
		s, err := webhook.ParseSchedule(v)
		if err != nil {
			return c, fmt.Errorf("%s: %w", webhook.EnvSchedule, err)
		}
		c.WebhookSchedule = s
	}
	if v := getenv("SWITCHYARD_WEBHOOK_LEASE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("SWITCHYARD_WEBHOOK_LEASE: want a positive duration such as 2m, got %q", v)
		}
		c.WebhookLease = d
	}
	c.SandboxSeed = 1
	if v := getenv("SWITCHYARD_SANDBOX_SEED"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return c, fmt.Errorf("SWITCHYARD_SANDBOX_SEED: want an integer, got %q", v)
		}
		c.SandboxSeed = n
	}
	if v := getenv("SWITCHYARD_MASTER_KEY"); v != "" {
		keys, err := parseMasterKeys(v)
		if err != nil {
			return c, fmt.Errorf("SWITCHYARD_MASTER_KEY: %w", err)
		}
		c.MasterKeys = keys
	} else if c.DatabaseURL != "" {
		// A random key would make every stored secret unreadable after a
		// restart; only the in-memory demo database can live with that.
		return c, fmt.Errorf("SWITCHYARD_MASTER_KEY is required with SWITCHYARD_DATABASE_URL (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)")
	}
	if c.AdminToken == "" && !c.Sandbox {
		return c, fmt.Errorf("SWITCHYARD_ADMIN_TOKEN is required outside sandbox mode")
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		return c, fmt.Errorf("SWITCHYARD_ADMIN_TOKEN must be at least 16 characters")
	}
	return c, nil
}

// parseMasterKeys reads "BASE64" (version 1) or "VERSION:BASE64,..." so an
// operator can add a new key while old secrets still open.
func parseMasterKeys(v string) (map[int][]byte, error) {
	keys := map[int][]byte{}
	for i, part := range strings.Split(v, ",") {
		version, b64 := 1, strings.TrimSpace(part)
		if ver, rest, ok := strings.Cut(b64, ":"); ok {
			n, err := strconv.Atoi(ver)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("key %d: version must be a positive integer", i+1)
			}
			version, b64 = n, rest
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("key %d: want base64 of exactly 32 bytes", i+1)
		}
		if _, dup := keys[version]; dup {
			return nil, fmt.Errorf("key version %d given twice", version)
		}
		keys[version] = key
	}
	return keys, nil
}
