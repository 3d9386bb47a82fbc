package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime/pprof"
	"time"

	"github.com/go-sql-driver/mysql"

	"switchyard/server/app"
)

// target is the Switchyard under load: a running server, or the app booted in
// this process.
type target struct {
	url        string
	adminToken string

	// In-process only.
	app     *app.App
	cancel  context.CancelFunc
	done    chan error
	backend string
	// admin is a pool on the MySQL/MariaDB server (no database selected):
	// it creates and drops the load database and reads global status.
	admin  *sql.DB
	dbName string
	// dbPort is the database server's TCP port, to find its process.
	dbPort string
	keepDB bool
	proxy  *sqlProxy
	// dbStatus: read the server's global status around the measured phase.
	dbStatus bool
}

func (t *target) inProcess() bool { return t.app != nil }

func (t *target) describe() string {
	if !t.inProcess() {
		return t.url
	}
	return fmt.Sprintf("%s (in-process, %s)", t.url, t.backend)
}

// bootInProcess opens the app on a fresh database and serves it on a free
// loopback port. The server's goroutines carry the profiler label
// side=server.
func bootInProcess(ctx context.Context, o *options, log *slog.Logger) (_ *target, err error) {
	t := &target{adminToken: "adm_load_" + randHex(12), keepDB: o.keepDB, dbStatus: o.dbStatus, backend: "embedded engine"}
	defer func() {
		if err != nil {
			t.close()
		}
	}()
	dsn := ""
	if o.dsn != "" {
		if dsn, err = t.createDatabase(ctx, o.dsn, o.sqlCount); err != nil {
			return nil, err
		}
	}
	key := make([]byte, 32)
	rand.Read(key)
	cfg := app.Config{
		Addr:        "127.0.0.1:0",
		DatabaseURL: dsn,
		Sandbox:     true,
		AdminToken:  t.adminToken,
		MasterKeys:  map[int][]byte{1: key},
		SandboxSeed: 1,
	}
	t.app, err = app.Open(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("app.Open: %w", err)
	}
	t.url = t.app.URL()
	runCtx, cancel := context.WithCancel(context.Background())
	t.cancel, t.done = cancel, make(chan error, 1)
	a := t.app
	// Goroutines inherit profiler labels from the goroutine that starts
	// them: every connection the server accepts, and every call its
	// connectors make to the sandbox, is labelled side=server.
	go pprof.Do(runCtx, pprof.Labels("side", "server"), func(ctx context.Context) {
		t.done <- a.Run(ctx)
	})
	return t, nil
}

// createDatabase creates sy_load_<random> on the server named by base and
// returns the app's DSN for it (through the counting proxy if asked).
func (t *target) createDatabase(ctx context.Context, base string, viaProxy bool) (string, error) {
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		return "", fmt.Errorf("-dsn: %w", err)
	}
	admin := cfg.Clone()
	admin.DBName = ""
	connector, err := mysql.NewConnector(admin)
	if err != nil {
		return "", fmt.Errorf("-dsn: %w", err)
	}
	t.admin = sql.OpenDB(connector)
	t.admin.SetMaxOpenConns(2)
	var version string
	if err := t.admin.QueryRowContext(ctx, `SELECT VERSION()`).Scan(&version); err != nil {
		return "", fmt.Errorf("MySQL at %s: %w", cfg.Addr, err)
	}
	t.backend = "MySQL/MariaDB " + version
	if cfg.Net != "unix" {
		if _, port, err := net.SplitHostPort(cfg.Addr); err == nil {
			t.dbPort = port
		}
	}
	name := "sy_load_" + randHex(6)
	// utf8mb4 explicitly: the server default may still be latin1 (MariaDB).
	if _, err := t.admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4"); err != nil {
		return "", fmt.Errorf("MySQL at %s: create database: %w", cfg.Addr, err)
	}
	t.dbName = name
	cfg.DBName = name
	if viaProxy {
		if t.proxy, err = startSQLProxy(cfg.Addr); err != nil {
			return "", err
		}
		cfg.Addr = t.proxy.addr()
		t.backend += ", via the counting proxy"
	}
	return cfg.FormatDSN(), nil
}

// close stops the in-process app and drops its database. Safe on a
// partially set up target.
func (t *target) close() {
	if t.cancel != nil {
		t.cancel()
		select {
		case err := <-t.done:
			if err != nil {
				fmt.Fprintln(os.Stderr, "load: app.Run:", err)
			}
		case <-time.After(30 * time.Second):
			fmt.Fprintln(os.Stderr, "load: app.Run still running 30s after cancel")
		}
	}
	if t.app != nil {
		if err := t.app.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "load: app.Close:", err)
		}
	}
	if t.proxy != nil {
		t.proxy.close()
	}
	if t.admin != nil {
		if t.dbName != "" && !t.keepDB {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if _, err := t.admin.ExecContext(ctx, "DROP DATABASE `"+t.dbName+"`"); err != nil {
				fmt.Fprintf(os.Stderr, "load: drop database %s: %v\n", t.dbName, err)
			}
			cancel()
		} else if t.dbName != "" {
			fmt.Printf("kept database %s\n", t.dbName)
		}
		t.admin.Close()
	}
}

// checkLoopbackURL refuses a -url whose host is not a loopback address (or
// a name resolving only to loopback addresses).
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url %q: want an absolute http(s) URL", raw)
	}
	if err := checkLoopbackHost(u.Hostname()); err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	return nil
}

// checkLoopbackDSN refuses a -dsn naming a non-loopback TCP address.
func checkLoopbackDSN(dsn string) error {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return fmt.Errorf("-dsn: %w", err)
	}
	switch cfg.Net {
	case "unix":
		return nil
	case "tcp", "tcp4", "tcp6", "":
	default:
		return fmt.Errorf("-dsn: network %q: want tcp on a loopback address or unix", cfg.Net)
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		host = cfg.Addr
	}
	if err := checkLoopbackHost(host); err != nil {
		return fmt.Errorf("-dsn: %w", err)
	}
	return nil
}

func checkLoopbackHost(host string) error {
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return fmt.Errorf("%s is not a loopback address: this tool only loads this machine", host)
		}
		return nil
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", host, err)
	}
	if len(ips) == 0 {
		return fmt.Errorf("%s resolves to nothing", host)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("%s resolves to %s, not a loopback address: this tool only loads this machine", host, ip)
		}
	}
	return nil
}

// errNotLoopback is returned by the client's dialer for any other address.
var errNotLoopback = errors.New("refusing to connect to a non-loopback address")

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
