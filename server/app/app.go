package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"switchyard/sdkapi"
	"switchyard/server/api"
	"switchyard/server/checkout"
	"switchyard/server/connector"
	"switchyard/server/connector/sandbox"
	"switchyard/server/dashboard"
	"switchyard/server/live"
	"switchyard/server/orchestrator"
	"switchyard/server/pay"
	"switchyard/server/payout"
	"switchyard/server/store"
	"switchyard/server/token"
	"switchyard/server/webhook"
)

// App is a running Switchyard: its database, services and HTTP server.
type App struct {
	Config   Config
	Log      *slog.Logger
	DB       *store.DB
	Service  *orchestrator.Service
	embedded *store.Embedded
	listener net.Listener
	server   *http.Server
	hub      *live.Hub
	sandbox  *sandbox.Service
	recon    *orchestrator.Reconciler
	relay    *webhook.Relay
	payouts  *payout.Worker
}

// Open builds the whole application: it opens (or starts) the database,
// migrates it, loads the token signing keys, builds the services and the HTTP
// server, and binds the listen address, so PublicURL is known. Run serves.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (_ *App, err error) {
	a := &App{Config: cfg, Log: log}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()

	if cfg.MasterKeys == nil {
		// Demo mode: the in-memory database dies with the process, so a
		// per-process key loses nothing.
		cfg.MasterKeys = map[int][]byte{1: []byte(pay.RandomHex(16))}
	}
	sealer, err := pay.NewSealer(cfg.MasterKeys)
	if err != nil {
		return nil, err
	}
	dsn := cfg.DatabaseURL
	if dsn == "" {
		if a.embedded, err = store.StartEmbedded(ctx, "switchyard"); err != nil {
			return nil, fmt.Errorf("starting the embedded database: %w", err)
		}
		dsn = a.embedded.DSN()
	}
	if a.DB, err = store.Open(ctx, dsn, sealer); err != nil {
		return nil, err
	}
	if err := a.DB.Migrate(ctx, log); err != nil {
		return nil, err
	}

	a.listener, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + a.listener.Addr().String()
	}
	if cfg.AdminToken == "" {
		cfg.AdminToken = "adm_" + pay.RandomHex(16)
	}
	a.Config = cfg

	tokens, err := a.tokenIssuer(ctx)
	if err != nil {
		return nil, err
	}

	// Every txn's connector is built from this registry. The sandbox
	// connector reaches the sandbox processors over HTTP on the loopback
	// address, like any gateway; they are mounted only in sandbox mode.
	registry := connector.Registry{"sandbox": sandbox.Factory(sandbox.ConnectorConfig{
		BaseURL:   "http://" + loopback(a.listener.Addr()) + "/sandbox",
		NotifyKey: deriveKey(cfg.MasterKeys, "sandbox-notify"),
	})}
	mounts := map[string]http.Handler{}
	if cfg.Sandbox {
		a.sandbox, err = sandbox.NewService(sandbox.ServiceConfig{
			DB: sqlx.NewDb(a.DB.SQL(), "mysql"), AdminToken: cfg.AdminToken, Seed: cfg.SandboxSeed,
			Log: log.With("component", "sandbox"), PublicURL: cfg.PublicURL,
		})
		if err != nil {
			return nil, err
		}
		mounts["/sandbox/"] = a.sandbox.Handler()
	}

	// The service publishes committed changes to the hub, and the hub reads
	// current statuses from the service: one of them is captured late. The
	// webhook relay, built below, is told too, so it claims the change's
	// outbox rows at once rather than at its next poll.
	var hub *live.Hub
	var payouts *payout.Service
	a.Service = orchestrator.New(orchestrator.Config{
		DB: a.DB, Tokens: tokens, Log: log, PublicURL: cfg.PublicURL, Connectors: registry,
		OnChange: func(ev orchestrator.OrderEvent) {
			hub.Publish(ev)
			a.relay.Notify()
			if ev.Status == pay.StatusCharged {
				// A pay-and-fulfill payout may be waiting for this charge;
				// the worker would find it at its next poll anyway.
				payouts.Notify()
			}
		},
		RenderOrder: api.OrderJSON,
	})
	hub = live.NewHub(live.Config{Log: log.With("component", "live"), Current: sdkapi.CurrentEvent(a.Service)})
	a.hub = hub
	if err := a.Service.LoadRouting(ctx); err != nil {
		log.Warn("routing estimates not restored; starting cold", "err", err)
	}
	interval := cfg.ReconcileInterval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	a.recon = orchestrator.NewReconciler(a.Service, interval)
	sdk, err := sdkapi.NewServer(sdkapi.Config{Service: a.Service, Hub: hub, PublicURL: cfg.PublicURL})
	if err != nil {
		return nil, err
	}
	pages, err := checkout.New(checkout.Config{Service: a.Service, Log: log, PublicURL: cfg.PublicURL, Sandbox: cfg.Sandbox})
	if err != nil {
		return nil, err
	}

	dash, err := dashboard.New(dashboard.Config{
		Service: a.Service, DB: a.DB, Log: log.With("component", "dashboard"), PublicURL: cfg.PublicURL, AssetURL: pages.AssetURL,
		Hub: hub,
	})
	if err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(a.DB.SQL(), "switchyard"))
	a.relay, err = webhook.New(webhook.Config{
		DB: a.DB, Log: log.With("component", "webhook"), Schedule: cfg.WebhookSchedule, Lease: cfg.WebhookLease,
		Metrics: reg,
	})
	if err != nil {
		return nil, err
	}
	// Payouts reach the sandbox payout rails over HTTP too; without the
	// sandbox there is no rail yet, and every method is refused as unknown.
	rails := connector.PayoutRails{}
	if cfg.Sandbox {
		if rails, err = sandbox.PayoutRails(sandbox.ConnectorConfig{BaseURL: "http://" + loopback(a.listener.Addr()) + "/sandbox"}); err != nil {
			return nil, err
		}
	}
	payouts = payout.New(payout.Config{
		DB: a.DB, Payments: a.Service, Rails: rails, Log: log.With("component", "payout"),
		PollInterval: cfg.PayoutPollInterval, SettleCheck: cfg.PayoutSettleCheck, Lease: cfg.PayoutLease,
		StuckAfter: cfg.PayoutStuckAfter,
	})
	a.payouts = payout.NewWorker(payouts)
	srv := api.New(api.Config{
		Service: a.Service, DB: a.DB, Log: log, AdminToken: cfg.AdminToken, Sandbox: cfg.Sandbox,
		Ready: a.DB.Ready, Metrics: reg, Surfaces: []api.Surface{sdk, pages, dash}, Mounts: mounts, Payouts: payouts,
	})
	a.server = &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return a, nil
}

// tokenIssuer loads the client-token signing keys, creating the first one on
// a fresh database. Keys are shared through the database so every replica
// verifies every other's tokens.
func (a *App) tokenIssuer(ctx context.Context) (*token.Issuer, error) {
	stored, err := a.DB.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	active := false
	for _, k := range stored {
		active = active || k.RetiredAt.IsZero()
	}
	if !active {
		k, err := token.NewKey(a.DB.Now())
		if err != nil {
			return nil, err
		}
		if err := a.DB.RotateSigningKey(ctx, store.SigningKey{ID: k.ID, Secret: k.Secret, CreatedAt: k.CreatedAt}); err != nil {
			return nil, err
		}
		if stored, err = a.DB.SigningKeys(ctx); err != nil {
			return nil, err
		}
	}
	keys := make([]token.Key, len(stored))
	for i, k := range stored {
		keys[i] = token.Key{ID: k.ID, Secret: k.Secret, CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt}
	}
	return token.New(a.Config.PublicURL, keys, token.DefaultTTL, nil)
}

// URL is the base URL the server is reachable at.
func (a *App) URL() string { return a.Config.PublicURL }

// Run serves HTTP until ctx is cancelled, then drains: it stops accepting,
// lets in-flight requests finish (up to 20 s) and returns.
func (a *App) Run(ctx context.Context) error {
	if a.sandbox != nil {
		a.sandbox.Start(ctx)
	}
	a.recon.Start(ctx)
	a.relay.Start(ctx)
	a.payouts.Start(ctx)
	errc := make(chan error, 1)
	go func() { errc <- a.server.Serve(a.listener) }()
	a.Log.Info("serving", "addr", a.listener.Addr().String(), "public_url", a.Config.PublicURL)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down: draining in-flight requests")
	// First the payout worker: its attempts in flight finish against rails
	// that still answer (the sandbox's are served here), and are recorded
	// with their callbacks, which the relay below still sends.
	a.payouts.Close()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Release what http.Server.Shutdown does not track: sandbox requests
	// held open by its timeout mode, and websockets (closed with 1001).
	if a.sandbox != nil {
		a.sandbox.Close()
	}
	a.hub.Close()
	a.recon.Close()
	err := a.server.Shutdown(shutdownCtx)
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	// After the requests: claiming stopped with ctx; what the relay holds
	// unsent goes back to the outbox, requests in flight get a few seconds,
	// and every outcome is recorded.
	a.relay.Close()
	return err
}

// Close releases the database and the embedded engine. Call it after Run
// returns (or instead of Run).
func (a *App) Close() error {
	var errs []error
	if a.listener != nil {
		a.listener.Close()
	}
	if a.hub != nil {
		a.hub.Close()
	}
	if a.sandbox != nil {
		errs = append(errs, a.sandbox.Close())
	}
	if a.payouts != nil {
		a.payouts.Close()
	}
	if a.relay != nil {
		errs = append(errs, a.relay.Close())
	}
	if a.DB != nil {
		errs = append(errs, a.DB.Close())
	}
	if a.embedded != nil {
		errs = append(errs, a.embedded.Close())
	}
	return errors.Join(errs...)
}

// loopback turns a listen address into one this process can dial: an
// unspecified host (0.0.0.0, ::) becomes 127.0.0.1.
func loopback(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// deriveKey derives a purpose-bound key from the newest master key, so a
// secret such as the sandbox notification key stays the same across
// restarts without being configured separately.
func deriveKey(keys map[int][]byte, purpose string) []byte {
	newest := 0
	for v := range keys {
		newest = max(newest, v)
	}
	mac := hmac.New(sha256.New, keys[newest])
	mac.Write([]byte("switchyard:" + purpose))
	return mac.Sum(nil)
}
