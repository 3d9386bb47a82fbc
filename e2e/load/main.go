// Command load drives Switchyard with concurrent shoppers and reports what it
// sustains: complete payments per second, per-step latency, the
// orchestrator's own time per request (the Server-Timing "self" figure, which
// excludes the time spent waiting for the gateway), error counts, and a
// consistency check at the end.
//
// Each shopper repeats one payment:
//
//	POST /orders                 create an order
//	POST /txns (format=json)     pay it with the frictionless sandbox card 4242…
//	GET  /orders/{order_id}      read it back: it must be CHARGED
//
// Against a running server (-url, loopback only, sandbox mode, -admin-token):
//
//	go run ./e2e/load -url http://127.0.0.1:8080 -admin-token adm_… -c 32 -n 20000
//
// Or in-process: the whole app (server/app) is booted in this process on a
// fresh database, created on the MySQL/MariaDB server named by -dsn and dropped
// afterwards, or on the embedded engine when -dsn is empty:
//
//	go run ./e2e/load -dsn 'root@tcp(127.0.0.1:3306)/' -c 32 -d 30s -cpuprofile cpu.pprof
//
// The tool creates its own merchant and sandbox gateway account (unique
// names) through the admin API, so it can run against a server in use. It is
// bounded: it stops after -n payments or -d, whichever comes first, and talks
// to loopback addresses only. It exits non-zero when a payment failed or the
// final check disagrees.
//
// By default shoppers run closed-loop: each starts its next payment when the
// previous one ends, so throughput is what -c shoppers achieve. With -rate,
// payments start on a fixed schedule instead (an open model): a payment's
// latency is measured from when it was due, so a server falling behind shows
// in the tail instead of slowing the load down (no coordinated omission).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

// Hard bounds, whatever the flags say.
const (
	maxConcurrency = 1024
	maxPayments    = 5_000_000
	maxDuration    = 30 * time.Minute
	maxWarmup      = 5 * time.Minute
)

type options struct {
	url        string
	dsn        string
	adminToken string
	c          int
	n          int64
	d          time.Duration
	warmup     time.Duration
	rate       float64
	timeout    time.Duration
	cpuprofile string
	serverLog  string
	gwLatency  int
	sqlCount   bool
	dbStatus   bool
	keepDB     bool
}

func main() {
	os.Exit(run())
}

func run() int {
	var o options
	// A FlagSet of our own: the embedded database engine's packages
	// register flags of their own on flag.CommandLine.
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: go run ./e2e/load [flags]   (see the package comment: go doc ./e2e/load)")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.url, "url", "", "base URL of a running Switchyard in sandbox mode (loopback only); empty boots the app in this process")
	fs.StringVar(&o.dsn, "dsn", "", "in-process only: go-sql-driver DSN of a MySQL/MariaDB server (loopback) whose user may create databases, e.g. 'root@tcp(127.0.0.1:3306)/'; a fresh sy_load_<random> database is created and dropped afterwards. Empty: the embedded engine")
	fs.StringVar(&o.adminToken, "admin-token", "", "admin API token (required with -url; generated in-process)")
	fs.IntVar(&o.c, "c", 32, "concurrent shoppers")
	fs.Int64Var(&o.n, "n", 10000, "payments to measure (after warmup); 0 = as many as -d allows")
	fs.DurationVar(&o.d, "d", 0, "longest measured phase; 0 = until -n payments (capped at 30m). Setting -d alone also sets -n to 0")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "run shoppers this long before measuring (those payments are checked, not measured)")
	fs.Float64Var(&o.rate, "rate", 0, "open model: start this many payments per second, at most -c at a time (0: closed loop)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "in-process only: write a CPU profile of the measured phase to this file (samples carry the label side=client or side=server)")
	fs.StringVar(&o.serverLog, "server-log", "discard", "in-process only: the app's logs: discard (JSON at info level, written nowhere: the formatting cost stays), stderr, or off")
	fs.IntVar(&o.gwLatency, "gateway-latency", 0, "sandbox processor latency in ms (the gateway's own think time)")
	fs.BoolVar(&o.sqlCount, "sqlcount", false, "in-process with -dsn only: route the app's database connections through a counting proxy and report statements and round trips per payment (adds latency: throughput figures of such a run are not representative)")
	fs.BoolVar(&o.dbStatus, "dbstatus", true, "with -dsn: report MariaDB/MySQL global status deltas (Com_*, fsyncs) per payment; server-wide, so other clients' work is included")
	fs.BoolVar(&o.keepDB, "keep-db", false, "in-process with -dsn: do not drop the database afterwards")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "load: unexpected arguments %q\n", fs.Args())
		return 2
	}

	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["d"] && !set["n"] {
		o.n = 0
	}
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := runLoad(ctx, &o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}

func (o *options) validate() error {
	switch {
	case o.c < 1 || o.c > maxConcurrency:
		return fmt.Errorf("-c must be between 1 and %d", maxConcurrency)
	case o.n < 0 || o.n > maxPayments:
		return fmt.Errorf("-n must be between 0 and %d", maxPayments)
	case o.d < 0 || o.d > maxDuration:
		return fmt.Errorf("-d must be between 0 and %s", maxDuration)
	case o.n == 0 && o.d == 0:
		return errors.New("give -n or -d: the run must be bounded")
	case o.warmup < 0 || o.warmup > maxWarmup:
		return fmt.Errorf("-warmup must be between 0 and %s", maxWarmup)
	case o.rate < 0 || o.rate > 1e6:
		return errors.New("-rate must be between 0 and 1e6")
	case o.timeout <= 0:
		return errors.New("-timeout must be positive")
	case o.gwLatency < 0 || o.gwLatency > 10_000:
		return errors.New("-gateway-latency must be between 0 and 10000 ms")
	}
	if o.d == 0 {
		o.d = maxDuration
	}
	if o.url != "" {
		if o.dsn != "" || o.cpuprofile != "" || o.sqlCount || o.keepDB {
			return errors.New("-dsn, -cpuprofile, -sqlcount and -keep-db only apply in-process (without -url)")
		}
		if o.adminToken == "" {
			return errors.New("-url needs -admin-token (the sandbox processors and the admin API require it)")
		}
		if err := checkLoopbackURL(o.url); err != nil {
			return err
		}
	}
	if o.sqlCount && o.dsn == "" {
		return errors.New("-sqlcount needs -dsn")
	}
	switch o.serverLog {
	case "discard", "stderr", "off":
	default:
		return errors.New("-server-log must be discard, stderr or off")
	}
	if o.dsn != "" {
		if err := checkLoopbackDSN(o.dsn); err != nil {
			return err
		}
	}
	return nil
}

// runLoad sets up the target (in-process or remote), runs warmup and the
// measured phase, prints the report and the final check. It reports whether
// every payment succeeded and every count agreed.
func runLoad(ctx context.Context, o *options) (bool, error) {
	var tg *target
	var err error
	if o.url != "" {
		tg = &target{url: strings.TrimRight(o.url, "/"), adminToken: o.adminToken}
	} else {
		tg, err = bootInProcess(ctx, o, serverLogger(o.serverLog))
		if err != nil {
			return false, err
		}
	}
	defer tg.close()

	cl := newClient(o.c, o.timeout)
	defer cl.close()
	if err := cl.waitHealthy(ctx, tg.url, 30*time.Second); err != nil {
		return false, err
	}
	shop, err := setupShop(ctx, cl, tg, o.gwLatency)
	if err != nil {
		return false, err
	}
	fmt.Printf("target %s  merchant %s  processor %s  c=%d  %s\n", tg.describe(), shop.merchantID, shop.processor, o.c, modeString(o))

	r := newRunner(cl, tg, shop, o)
	if o.warmup > 0 {
		fmt.Printf("warmup %s …\n", o.warmup)
		r.phase(ctx, false, 0, o.warmup)
	}

	var profile *os.File
	if o.cpuprofile != "" {
		if profile, err = os.Create(o.cpuprofile); err != nil {
			return false, err
		}
		if err := pprof.StartCPUProfile(profile); err != nil {
			profile.Close()
			return false, err
		}
	}
	before := takeSnapshot(ctx, tg)
	fmt.Printf("measuring (%s) …\n", boundString(o))
	res := r.phase(ctx, true, o.n, o.d)
	after := takeSnapshot(ctx, tg)
	if profile != nil {
		pprof.StopCPUProfile()
		if err := profile.Close(); err != nil {
			return false, err
		}
	}

	report(os.Stdout, o, res, before, after)
	checkOK := r.check(ctx, os.Stdout)
	if res.failed > 0 {
		fmt.Printf("FAIL: %d payments failed\n", res.failed)
	}
	if ctx.Err() != nil {
		fmt.Println("interrupted: the figures cover the payments made until then")
	}
	if profile != nil {
		fmt.Printf("CPU profile: %s  (go tool pprof -top -tagfocus=side=server %s)\n", o.cpuprofile, o.cpuprofile)
	}
	return res.failed == 0 && checkOK, nil
}

func modeString(o *options) string {
	if o.rate > 0 {
		return fmt.Sprintf("open model at %.0f payments/s", o.rate)
	}
	return "closed loop"
}

func boundString(o *options) string {
	switch {
	case o.n > 0 && o.d < maxDuration:
		return fmt.Sprintf("%d payments or %s", o.n, o.d)
	case o.n > 0:
		return fmt.Sprintf("%d payments", o.n)
	}
	return o.d.String()
}

// serverLogger is the in-process app's logger.
func serverLogger(mode string) *slog.Logger {
	switch mode {
	case "stderr":
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	case "off":
		return slog.New(slog.DiscardHandler)
	}
	// What production does (JSON at info level), minus the write.
	return slog.New(slog.NewJSONHandler(io.Discard, nil))
}
