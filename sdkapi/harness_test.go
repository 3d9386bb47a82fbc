package sdkapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"switchyard/sdkapi"
	"switchyard/server/api"
	"switchyard/server/connector"
	"switchyard/server/connector/sandbox"
	"switchyard/server/live"
	"switchyard/server/orchestrator"
	"switchyard/server/pay"
	"switchyard/server/store"
	"switchyard/server/storetest"
	"switchyard/server/token"
)

// update rewrites the golden files instead of comparing against them:
//
//	go test ./sdkapi/ -run Golden -update
var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// adminToken is the admin API's and the sandbox control API's bearer token.
const adminToken = "test-admin-token-123456"

// clock is the token issuer's clock, which tests move forward.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// stack is the whole server as app.Open builds it, over real HTTP on a fresh
// database, with one merchant "shop".
type stack struct {
	URL      string
	DB       *store.DB
	Svc      *orchestrator.Service
	Hub      *live.Hub
	Clock    *clock
	Merchant *pay.Merchant
}

type stackOption func(*live.Config)

// withHub adjusts the hub's configuration.
func withHub(fn func(*live.Config)) stackOption { return stackOption(fn) }

func newStack(t *testing.T, opts ...stackOption) *stack {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	db := storetest.Open(t)

	var handler http.Handler
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(w, r)
	}))
	publicURL := "http://" + hs.Listener.Addr().String()

	clk := &clock{now: time.Now()}
	key, err := token.NewKey(clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := token.New(publicURL, []token.Key{key}, token.DefaultTTL, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	// The service tells the hub of changes; the hub asks the service for
	// current statuses: the hub is assigned before any request runs.
	var hub *live.Hub
	svc := orchestrator.New(orchestrator.Config{
		DB: db, Tokens: tokens, Log: log, PublicURL: publicURL, BcryptCost: bcrypt.MinCost, RenderOrder: api.OrderJSON,
		Connectors: connector.Registry{"sandbox": sandbox.Factory(sandbox.ConnectorConfig{
			BaseURL: publicURL + "/sandbox", NotifyKey: []byte("test-notify-key")})},
		OnChange: func(ev orchestrator.OrderEvent) { hub.Publish(ev) },
	})
	hcfg := live.Config{Log: log, Current: sdkapi.CurrentEvent(svc)}
	for _, o := range opts {
		o(&hcfg)
	}
	hub = live.NewHub(hcfg)
	sdk, err := sdkapi.NewServer(sdkapi.Config{Service: svc, Hub: hub, PublicURL: publicURL,
		AllowedOrigins: []string{"https://shop.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sandbox.NewService(sandbox.ServiceConfig{
		DB: sqlx.NewDb(db.SQL(), "mysql"), AdminToken: adminToken, Seed: 1, Log: log, PublicURL: publicURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{
		Service: svc, DB: db, Log: log, AdminToken: adminToken,
		Ready: db.Ready, Metrics: prometheus.NewRegistry(),
		Surfaces: []api.Surface{sdk, sandboxSurface{sandbox: sb, svc: svc}},
	})
	handler = srv.Handler()
	hs.Start()
	sb.Start(context.Background())
	// Cleanups run last-in first-out: sockets close and the sandbox's
	// worker stops, then the server, then (storetest's) the database.
	t.Cleanup(hs.Close)
	t.Cleanup(func() { sb.Close() })
	t.Cleanup(hub.Close)

	ctx := context.Background()
	m := orchestrator.NewMerchant("shop", "Shop & Co")
	m.PaymentRedirectURL = "https://shop.example.com/return"
	m.EnabledPaymentMethods = []string{pay.MethodCard, pay.MethodUPI, pay.MethodNB}
	if _, err := svc.CreateMerchant(ctx, m); err != nil {
		t.Fatal(err)
	}
	// INR: CARD, UPI, WALLET (WALLET is not enabled by the merchant).
	// USD: CARD, NB, WALLET. A disabled account would add UPI in USD.
	for _, g := range []*pay.GatewayAccount{
		{Name: "A", Enabled: true, PaymentMethods: []string{"CARD", "UPI", "WALLET"}, Currencies: []string{"INR"}, Priority: 1},
		{Name: "B", Enabled: true, PaymentMethods: []string{"CARD", "NB", "WALLET"}, Currencies: []string{"USD"}, Priority: 2},
		{Name: "C", Enabled: false, PaymentMethods: []string{"UPI"}, Currencies: []string{"USD"}, Priority: 3},
	} {
		g.MerchantID, g.Connector = m.ID, "sandbox"
		g.Credentials = map[string]string{"processor": "proc_" + g.Name}
		if _, err := svc.PutGateway(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if m, err = svc.Merchant(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	return &stack{URL: publicURL, DB: db, Svc: svc, Hub: hub, Clock: clk, Merchant: m}
}

// order creates an order of the merchant and returns it with a client auth
// token for it.
func (s *stack) order(t *testing.T, orderID, amount, currency string) (*pay.Order, string) {
	t.Helper()
	o, _, err := s.Svc.CreateOrder(context.Background(), s.Merchant, pay.OrderInput{
		OrderID: orderID, Amount: amount, Currency: currency, Description: "Two books",
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Svc.IssueClientToken(o)
	if err != nil {
		t.Fatal(err)
	}
	return o, tok.Token
}

// response is an HTTP response, read in full.
type response struct {
	Code   int
	Header http.Header
	Body   []byte
}

// do sends a request with the client auth token (none when empty). body is
// a string sent as is (contentType labels it) or a value sent as JSON.
func (s *stack) do(t *testing.T, method, path, tok string, body any, contentType string, extra ...string) *response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r, contentType = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{Code: resp.StatusCode, Header: resp.Header, Body: data}
}

// want fails unless the response has status code, then decodes the body
// into v (when not nil), refusing fields v does not declare: the wire types
// must describe every field sent.
func (r *response) want(t *testing.T, code int, v any) *response {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d; body:\n%s", r.Code, code, r.Body)
	}
	if v != nil {
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("body does not decode into %T: %v\n%s", v, err, r.Body)
		}
	}
	return r
}

// wantError fails unless the response is an error of status code naming
// the given fields (in any order; none to skip the check).
func (r *response) wantError(t *testing.T, code int, fields ...string) sdkapi.ErrorResponse {
	t.Helper()
	var e sdkapi.ErrorResponse
	r.want(t, code, &e)
	if len(fields) > 0 {
		got := map[string]bool{}
		for _, f := range e.ErrorInfo.Fields {
			got[f.FieldName] = true
		}
		for _, f := range fields {
			if !got[f] {
				t.Fatalf("error fields %+v do not name %q\n%s", e.ErrorInfo.Fields, f, r.Body)
			}
		}
	}
	return e
}

// golden compares got (JSON) with testdata/name.golden.json, or rewrites it
// under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatal(err)
	}
	pretty, _ := json.MarshalIndent(v, "", "  ")
	pretty = append(pretty, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pretty, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(pretty, want) {
		t.Fatalf("%s differs from the golden file (run with -update if intended)\ngot:\n%s\nwant:\n%s", path, pretty, want)
	}
}

// sandboxSurface mounts the sandbox processors at /sandbox/ and, standing
// in for the checkout package, the gateway notification endpoint the
// sandbox's UPI outcomes arrive at.
type sandboxSurface struct {
	sandbox *sandbox.Service
	svc     *orchestrator.Service
}

func (s sandboxSurface) Routes(e *echo.Echo) {
	e.Any("/sandbox/*", echo.WrapHandler(s.sandbox.Handler()))
	e.POST("/webhooks/gateway/:merchant_id/:gateway", func(c echo.Context) error {
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		if err := s.svc.HandleNotification(c.Request().Context(), c.Param("merchant_id"), c.Param("gateway"), c.Request(), body); err != nil {
			return err
		}
		return c.NoContent(http.StatusOK)
	})
}
