// Package sandbox holds Switchyard's built-in sandbox processors: a simulated
// payment gateway (Service) that runs inside Switchyard in sandbox mode and is
// reached over real HTTP at /sandbox/…, and the connector (Connector) that
// talks to it exactly as an adapter talks to a real gateway.
//
// From the orchestrator's point of view the Service is an external system: it
// keeps its state in its own sandbox_* tables (migrations/00004_sandbox.sql),
// which nothing else reads or writes, through raw SQL in this package.
//
// Endpoints (all under /sandbox/; the caller mounts Handler there):
//
//	PUT  /sandbox/v1/processors/{name}          configure a processor (admin token)
//	GET  /sandbox/v1/processors/{name}          its configuration and counters (admin token)
//	POST /sandbox/v1/payments                   authorize (X-Sandbox-Processor names the processor)
//	GET  /sandbox/v1/payments/{txn_id}          payment status (for sync)
//	POST /sandbox/v1/payments/{txn_id}/complete finish after the shopper's action
//	POST /sandbox/v1/refunds                    refund (idempotent by refund_id)
//	GET  /sandbox/v1/refunds/{refund_id}        refund status
//	PUT  /sandbox/v1/payout-rails/{name}        configure a payout rail (admin token; see payouts.go)
//	POST /sandbox/v1/payouts                    initiate a payout (X-Sandbox-Rail names the rail)
//	GET  /sandbox/v1/payouts/{attempt_id}       payout status
//	GET  /sandbox/acs/{payment_id}              the 3-D Secure / bank / wallet page
//	POST /sandbox/acs/{payment_id}              the shopper's decision (Approve or Fail)
//
// Processors are created on first use with success_rate 1, no latency,
// three_ds "by_card", not down. Outcomes drawn from a success rate are a
// hash of (Seed, processor, txn_id), so a seed reproduces them.
//
// Every state change is one compare-and-set statement, so a status never
// regresses. On the embedded engine, which loses writes under concurrency, a
// Service additionally runs its statements one at a time (see db.go); one
// Service per embedded database.
package sandbox

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"switchyard/templates"
)

// ServiceConfig configures the sandbox processors.
type ServiceConfig struct {
	// DB is the database holding the sandbox_* tables.
	DB *sqlx.DB
	// AdminToken is the bearer token of the control API (required).
	AdminToken string
	// Seed makes success-rate outcomes reproducible: the same seed, processor
	// and txn_id always give the same outcome.
	Seed int64
	// Log receives operational logs (never request bodies or card data).
	// Nil discards.
	Log *slog.Logger
	// Client delivers asynchronous notifications to webhook URLs. Nil means
	// a client with a 10 s timeout.
	Client *http.Client
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// PublicURL is the base URL shoppers' browsers reach Switchyard at
	// (SWITCHYARD_PUBLIC_URL, e.g. "http://127.0.0.1:8080"); the ACS page's
	// URL is PublicURL + "/sandbox/acs/{id}". Empty: derived from each
	// request's Host (and TLS).
	PublicURL string
}

// Service is the simulated payment gateway: its HTTP API, its ACS pages and
// the worker that delivers asynchronous notifications.
type Service struct {
	db        *db
	adminHash [32]byte
	seed      int64
	log       *slog.Logger
	client    *http.Client
	now       func() time.Time
	publicURL string
	acs       *template.Template

	// closing is closed by Close: it stops the worker and releases requests
	// held open by a processor's timeout mode.
	closing   chan struct{}
	mu        sync.Mutex // guards cancel, started, closed
	cancel    context.CancelFunc
	started   bool
	closed    bool
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// NewService checks cfg, parses the ACS page template and detects the
// database engine. It starts nothing; see Start.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.DB == nil {
		return nil, errors.New("sandbox.NewService: DB is required")
	}
	if cfg.AdminToken == "" {
		return nil, errors.New("sandbox.NewService: AdminToken is required")
	}
	acs, err := template.ParseFS(templates.FS, acsTemplate)
	if err != nil {
		return nil, fmt.Errorf("sandbox.NewService: %w", err)
	}
	if acs = acs.Lookup(acsTemplate); acs == nil {
		return nil, fmt.Errorf("sandbox.NewService: %s does not define template %q", acsTemplate, acsTemplate)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := newDB(ctx, cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("sandbox.NewService: %w", err)
	}
	s := &Service{
		db:        d,
		adminHash: sha256.Sum256([]byte(cfg.AdminToken)),
		seed:      cfg.Seed,
		log:       cfg.Log,
		client:    cfg.Client,
		now:       cfg.Now,
		publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		acs:       acs,
		closing:   make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Handler serves the sandbox's endpoints; mount it at /sandbox/ (the patterns
// include the prefix).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /sandbox/v1/processors/{name}", s.admin(s.putProcessor))
	mux.HandleFunc("GET /sandbox/v1/processors/{name}", s.admin(s.getProcessor))
	mux.HandleFunc("POST /sandbox/v1/payments", s.createPayment)
	mux.HandleFunc("GET /sandbox/v1/payments/{txn_id}", s.getPayment)
	mux.HandleFunc("POST /sandbox/v1/payments/{txn_id}/complete", s.completePayment)
	mux.HandleFunc("POST /sandbox/v1/refunds", s.createRefund)
	mux.HandleFunc("GET /sandbox/v1/refunds/{refund_id}", s.getRefund)
	mux.HandleFunc("PUT /sandbox/v1/payout-rails/{name}", s.admin(s.putPayoutRail))
	mux.HandleFunc("GET /sandbox/v1/payout-rails/{name}", s.admin(s.getPayoutRail))
	mux.HandleFunc("POST /sandbox/v1/payout-rails/{name}/payouts/{attempt_id}/status", s.admin(s.forcePayoutStatus))
	mux.HandleFunc("POST /sandbox/v1/payouts", s.createPayout)
	mux.HandleFunc("GET /sandbox/v1/payouts/{attempt_id}", s.getPayout)
	mux.HandleFunc("GET /sandbox/acs/{id}", s.acsPage)
	mux.HandleFunc("POST /sandbox/acs/{id}", s.acsDecide)
	return mux
}

// Start runs the notification worker until ctx ends or Close is called.
// Calling it again, or after Close, does nothing.
func (s *Service) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Go(func() { s.runWorker(ctx) })
}

// Close stops the worker, waits for it and for the deliveries in flight, and
// releases requests held open by timeout mode. Safe to call more than once.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		if s.cancel != nil {
			s.cancel()
		}
		s.mu.Unlock()
		close(s.closing)
		s.wg.Wait()
	})
	return nil
}

// admin wraps a control-API handler with the bearer-token check. Both sides
// are hashed first so the constant-time compare doesn't leak the length.
func (s *Service) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(token))
		if !ok || subtle.ConstantTimeCompare(got[:], s.adminHash[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sandbox"`)
			writeError(w, http.StatusUnauthorized, codeUnauthorized, "a valid admin bearer token is required")
			return
		}
		h(w, r)
	}
}

// maxBody bounds every request body the sandbox reads.
const maxBody = 64 << 10

// decodeJSON reads r's body into v, refusing unknown fields. A failure is
// reported to the client as a 400 naming the field where possible, and
// decodeJSON returns false.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return true
	}
	var typeErr *json.UnmarshalTypeError
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		writeFields(w, []fieldError{{typeErr.Field, "must be a JSON " + jsonKind(typeErr.Type.Kind().String())}})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		writeFields(w, []fieldError{{field, "is not a known field"}})
	case errors.As(err, &maxErr):
		writeError(w, http.StatusRequestEntityTooLarge, codeInvalidRequest, "request body too large")
	default:
		writeError(w, http.StatusBadRequest, codeInvalidRequest, "request body must be a JSON object")
	}
	return false
}

func jsonKind(goKind string) string {
	switch goKind {
	case "float64", "float32", "int", "int64", "int32":
		return "number"
	case "bool":
		return "boolean"
	case "string":
		return "string"
	case "map", "struct":
		return "object"
	}
	return "value of another type"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{ErrorCode: code, ErrorMessage: msg})
}

// writeFields answers 400 naming every bad field.
func writeFields(w http.ResponseWriter, fields []fieldError) {
	msg := fields[0].Field + ": " + fields[0].Reason
	if len(fields) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(fields)-1)
	}
	writeJSON(w, http.StatusBadRequest, errorBody{ErrorCode: codeInvalidRequest, ErrorMessage: msg, Fields: fields})
}

// internalError logs err and answers 500 without detail. Clients treat a 500
// as "may have been processed".
func (s *Service) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("sandbox: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, codeInternal, "internal error")
}

// sleep waits d, or less if the request ends or the service closes; it
// reports whether the full time passed.
func (s *Service) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.closing:
	}
	return false
}

// maxHold bounds how long timeout mode holds a request open.
const maxHold = 2 * time.Minute

// hold implements timeout mode: the request was processed, and now it is
// never answered. It returns when the client gives up; if the service closes
// (or maxHold passes) first, the connection is cut without a response.
func (s *Service) hold(r *http.Request) {
	t := time.NewTimer(maxHold)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return
	case <-s.closing:
	case <-t.C:
	}
	panic(http.ErrAbortHandler)
}

// processTimeout bounds the processing of one request once admitted.
const processTimeout = 30 * time.Second

// processing returns the context a request is processed in once admitted:
// like a real gateway, the sandbox finishes what it started even when the
// client hangs up meanwhile (that is what makes a client timeout "unknown").
func processing(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), processTimeout)
}

func (s *Service) utcNow() time.Time { return s.now().UTC() }
