package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"switchyard/server/app"
	"switchyard/server/storetest"
)

// adminToken is the operator token every booted server accepts.
const adminToken = "adm_e2e_0123456789abcdef"

// server is a booted Switchyard reached over HTTP.
type server struct {
	URL    string
	App    *app.App
	client *http.Client
}

// boot opens the whole application on a fresh database (storetest: MySQL
// when SWITCHYARD_TEST_DATABASE_URL is set, else an embedded engine), serves
// it on a free loopback port, and shuts it down when tb ends.
func boot(tb testing.TB) *server {
	tb.Helper()
	// Warnings and errors only: one line per request would bury the test's
	// own output (and slow the benchmarks).
	return bootWith(tb, slog.LevelWarn, nil, nil)
}

// testClock is a booted app's database clock, which the router and the
// reconciler read too: real time plus an offset the test moves forward, so
// probe pacing and reconciliation delays (a minute, ten days) pass at once.
// Read from many goroutines, so atomic.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time {
	return time.Now().UTC().Add(time.Duration(c.offset.Load()))
}

// advance moves the clock forward by d.
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// bootClocked is boot with two changes made before the app starts serving
// (so no goroutine of the app reads the clock field while it is replaced):
// the database clock is a testClock and the reconciler's interval is an
// hour, so the test runs reconciliation passes itself. It logs errors only.
func bootClocked(tb testing.TB) (*server, *testClock) {
	tb.Helper()
	clock := &testClock{}
	s := bootWith(tb, slog.LevelError,
		func(cfg *app.Config) { cfg.ReconcileInterval = time.Hour },
		func(a *app.App) { a.DB.Now = clock.now })
	return s, clock
}

// bootWith is boot with the configuration changed by tune, logs at level and
// above, and prepare (if not nil) run on the opened app before it serves.
func bootWith(tb testing.TB, level slog.Level, tune func(*app.Config), prepare func(*app.App)) *server {
	tb.Helper()
	cfg := app.Config{
		Addr:        "127.0.0.1:0",
		DatabaseURL: storetest.DSN(tb),
		Sandbox:     true,
		AdminToken:  adminToken,
		MasterKeys:  map[int][]byte{storetest.MasterKeyVersion: storetest.MasterKey()},
	}
	if tune != nil {
		tune(&cfg)
	}
	log := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: level}))
	a, err := app.Open(context.Background(), cfg, log)
	if err != nil {
		tb.Fatalf("app.Open: %v", err)
	}
	if prepare != nil {
		prepare(a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	transport := &http.Transport{MaxIdleConns: 100, MaxIdleConnsPerHost: 100}
	// Registered after storetest's, so it runs first: the app lets go of
	// the database before the database goes away.
	tb.Cleanup(func() {
		transport.CloseIdleConnections()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("app.Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			tb.Errorf("app.Run still running 30s after its context was cancelled")
		}
		if err := a.Close(); err != nil {
			tb.Errorf("app.Close: %v", err)
		}
	})
	return &server{URL: a.URL(), App: a, client: &http.Client{Transport: transport, Timeout: 30 * time.Second}}
}

// response is an HTTP response read whole.
type response struct {
	Code   int
	Header http.Header
	Body   []byte
}

// auth sets a request's Authorization header.
type auth func(*http.Request)

// basic authenticates as a merchant: the API key as user name, no password.
func basic(apiKey string) auth {
	return func(r *http.Request) { r.SetBasicAuth(apiKey, "") }
}

// bearer authenticates as the operator.
func bearer(token string) auth {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// send makes one request; it does not fail the test, so benchmarks may call
// it from RunParallel's goroutines. contentType and body may be empty;
// headers are name, value pairs.
func (s *server) send(method, path string, a auth, contentType, body string, headers ...string) (response, error) {
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	if a != nil {
		a(req)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := s.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: reading the body: %w", method, path, err)
	}
	return response{Code: res.StatusCode, Header: res.Header, Body: b}, nil
}

func (s *server) do(tb testing.TB, method, path string, a auth, contentType, body string, headers ...string) response {
	tb.Helper()
	r, err := s.send(method, path, a, contentType, body, headers...)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func (s *server) get(tb testing.TB, path string, a auth) response {
	tb.Helper()
	return s.do(tb, http.MethodGet, path, a, "", "")
}

// postForm posts an application/x-www-form-urlencoded body.
func (s *server) postForm(tb testing.TB, path string, a auth, form url.Values, headers ...string) response {
	tb.Helper()
	return s.do(tb, http.MethodPost, path, a, "application/x-www-form-urlencoded", form.Encode(), headers...)
}

// postJSON posts v as application/json; a string is sent as it is.
func (s *server) postJSON(tb testing.TB, path string, a auth, v any, headers ...string) response {
	tb.Helper()
	body, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		body = string(b)
	}
	return s.do(tb, http.MethodPost, path, a, "application/json", body, headers...)
}

// want fails the test unless the response has the given status code.
func (r response) want(tb testing.TB, code int) response {
	tb.Helper()
	if r.Code != code {
		tb.Fatalf("status %d, want %d; body: %s", r.Code, code, r.Body)
	}
	return r
}

// decode unmarshals the body into v, numbers as json.Number.
func (r response) decode(tb testing.TB, v any) {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		tb.Fatalf("decoding %T: %v; body: %s", v, err, r.Body)
	}
}

// credentials is the admin API's answer to creating a merchant.
type credentials struct {
	MerchantID        string `json:"merchant_id"`
	APIKey            string `json:"api_key"`
	ResponseKey       string `json:"response_key"`
	DashboardLogin    string `json:"dashboard_login"`
	DashboardPassword string `json:"dashboard_password"`
}

// createMerchant creates a merchant through the admin API and returns its
// secrets.
func (s *server) createMerchant(tb testing.TB, id string) credentials {
	tb.Helper()
	var c credentials
	s.postJSON(tb, "/admin/v1/merchants", bearer(adminToken), map[string]any{
		"merchant_id": id, "name": "Shop " + id,
		"payment_redirect_url": "https://shop.example/payment-result",
		"allowed_return_hosts": []string{"shop.example"},
	}).want(tb, http.StatusCreated).decode(tb, &c)
	if c.MerchantID != id || !strings.HasPrefix(c.APIKey, "sk_") || c.ResponseKey == "" {
		tb.Fatalf("created merchant: %+v", c)
	}
	return c
}

// order is the Order Status API's order object (the fields these tests read).
type order struct {
	ID            string      `json:"id"`
	OrderID       string      `json:"order_id"`
	MerchantID    string      `json:"merchant_id"`
	CustomerID    string      `json:"customer_id"`
	CustomerEmail string      `json:"customer_email"`
	Amount        json.Number `json:"amount"`
	Currency      string      `json:"currency"`
	Status        string      `json:"status"`
	StatusID      int         `json:"status_id"`
	ReturnURL     string      `json:"return_url"`
	OrderExpiry   string      `json:"order_expiry"`
	PaymentLinks  struct {
		Web string `json:"web"`
	} `json:"payment_links"`
	Juspay *struct {
		ClientAuthToken       string `json:"client_auth_token"`
		ClientAuthTokenExpiry string `json:"client_auth_token_expiry"`
	} `json:"juspay"`
}

// session is POST /session's answer.
type session struct {
	Status       string `json:"status"`
	ID           string `json:"id"`
	OrderID      string `json:"order_id"`
	PaymentLinks struct {
		Web    string `json:"web"`
		Expiry string `json:"expiry"`
	} `json:"payment_links"`
	SDKPayload struct {
		RequestID string            `json:"requestId"`
		Service   string            `json:"service"`
		Payload   map[string]string `json:"payload"`
	} `json:"sdk_payload"`
}

// apiError is the error shape of every failed request.
type apiError struct {
	Status       string `json:"status"`
	ErrorCode    string `json:"error_code"`
	ErrorMessage string `json:"error_message"`
	ErrorInfo    struct {
		UserMessage      string `json:"user_message"`
		DeveloperMessage string `json:"developer_message"`
		Code             string `json:"code"`
		Category         string `json:"category"`
		Fields           []struct {
			FieldName string `json:"field_name"`
			Reason    string `json:"reason"`
		} `json:"fields"`
	} `json:"error_info"`
}

// wantError checks r is an error response with the given HTTP status and the
// documented error shape, and returns it.
func wantError(tb testing.TB, r response, code int) apiError {
	tb.Helper()
	r.want(tb, code)
	var e apiError
	r.decode(tb, &e)
	if e.Status == "" || e.ErrorCode == "" || e.ErrorMessage == "" || e.ErrorInfo.Code == "" ||
		e.ErrorInfo.Category == "" || e.ErrorInfo.UserMessage == "" {
		tb.Errorf("error response lacks fields of the error shape: %s", r.Body)
	}
	return e
}

// sameAmount fails the test unless got (a JSON number or decimal string) and
// want are the same decimal value, compared exactly.
func sameAmount(tb testing.TB, what, got, want string) {
	tb.Helper()
	g, ok1 := new(big.Rat).SetString(got)
	w, ok2 := new(big.Rat).SetString(want)
	if !ok1 || !ok2 || g.Cmp(w) != 0 {
		tb.Errorf("%s = %q, want %s", what, got, want)
	}
}

// jwtParts decodes a JWT's header and claims without verifying it.
func jwtParts(tb testing.TB, tok string) (header, claims map[string]any) {
	tb.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		tb.Fatalf("client auth token %q is not a JWT", tok)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			tb.Fatalf("client auth token part %d: %v", i, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			tb.Fatalf("client auth token part %d: %v", i, err)
		}
	}
	return header, claims
}

// parseTime parses the API's timestamps.
func parseTime(tb testing.TB, what, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatalf("%s %q: %v", what, s, err)
	}
	return t
}
