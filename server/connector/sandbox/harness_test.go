package sandbox_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"switchyard/server/connector"
	"switchyard/server/connector/sandbox"
	"switchyard/server/pay"
	"switchyard/server/storetest"
)

const adminToken = "test-admin-token"

// harness is a sandbox service on a fresh database behind a real HTTP
// server, its worker running.
type harness struct {
	t   *testing.T
	svc *sandbox.Service
	srv *httptest.Server
	db  *sqlx.DB
}

func newHarness(t *testing.T, seed int64) *harness {
	t.Helper()
	dsn := storetest.DSN(t)
	db, err := sqlx.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc, err := sandbox.NewService(sandbox.ServiceConfig{
		DB: db, AdminToken: adminToken, Seed: seed, Log: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	svc.Start(t.Context())
	// Runs first: stops the worker and releases held requests, so the
	// server's Close doesn't wait on them.
	t.Cleanup(func() { svc.Close() })
	return &harness{t: t, svc: svc, srv: srv, db: db}
}

// testLogger logs through t, at warning level and above: what would be
// worth a look in a failing test.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// account is a gateway account on processor.
func account(processor string) *pay.GatewayAccount {
	return &pay.GatewayAccount{MerchantID: "m1", Name: "sandbox_" + processor, Connector: "sandbox", Enabled: true,
		Credentials: map[string]string{"processor": processor}}
}

var notifyKey = []byte("test-notify-key")

// connector returns a connector of an account on processor.
func (h *harness) connector(processor string) *sandbox.Connector {
	h.t.Helper()
	return h.connectorWith(processor, &http.Client{Timeout: 10 * time.Second})
}

func (h *harness) connectorWith(processor string, client *http.Client) *sandbox.Connector {
	h.t.Helper()
	c, err := sandbox.NewConnector(sandbox.ConnectorConfig{BaseURL: h.srv.URL + "/sandbox", Client: client, NotifyKey: notifyKey},
		account(processor))
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// configure PUTs body to processor's control endpoint and fails unless 200.
func (h *harness) configure(processor string, body string) {
	h.t.Helper()
	status, out := h.admin(http.MethodPut, processor, body, adminToken)
	if status != http.StatusOK {
		h.t.Fatalf("PUT processor %s %s: %d %s", processor, body, status, out)
	}
}

func (h *harness) admin(method, processor, body, token string) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+"/sandbox/v1/processors/"+processor, bytes.NewBufferString(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

type counters struct {
	Attempts       int64 `json:"attempts"`
	Charged        int64 `json:"charged"`
	AmountCharged  int64 `json:"amount_charged"`
	Refunded       int64 `json:"refunded"`
	AmountRefunded int64 `json:"amount_refunded"`
}

type processorView struct {
	SuccessRate         float64            `json:"success_rate"`
	SuccessRateByMethod map[string]float64 `json:"success_rate_by_method"`
	LatencyMS           int                `json:"latency_ms"`
	Down                bool               `json:"down"`
	Timeout             bool               `json:"timeout"`
	ThreeDS             string             `json:"three_ds"`
	LateSuccessAfterMS  int                `json:"late_success_after_ms"`
	Counters            counters           `json:"counters"`
}

func (h *harness) processor(name string) processorView {
	h.t.Helper()
	status, out := h.admin(http.MethodGet, name, "", adminToken)
	if status != http.StatusOK {
		h.t.Fatalf("GET processor %s: %d %s", name, status, out)
	}
	var v processorView
	if err := json.Unmarshal(out, &v); err != nil {
		h.t.Fatal(err)
	}
	return v
}

var txnSeq struct {
	sync.Mutex
	n int
}

// newTxnID returns a txn id unique within the test binary.
func newTxnID() string {
	txnSeq.Lock()
	defer txnSeq.Unlock()
	txnSeq.n++
	return fmt.Sprintf("m1-ord%d-1", txnSeq.n)
}

func cardPayment(number string) connector.Payment {
	return connector.Payment{
		TxnID: newTxnID(), Amount: pay.Money{Amount: 10050, Currency: "INR"}, MethodType: pay.MethodCard, Method: "VISA",
		Card:      &pay.Card{Number: number, ExpMonth: "12", ExpYear: "2099", CVV: "123", Brand: "VISA"},
		ReturnURL: "https://shop.example/pay/return?session=s1",
	}
}

// wantOutcome checks a result's outcome and raw code.
func wantOutcome(t *testing.T, what string, got connector.Result, outcome connector.Outcome, code string) {
	t.Helper()
	if got.Outcome != outcome || (code != "" && got.RespCode != code) {
		t.Errorf("%s: outcome %s (code %q, %q), want %s (code %q)", what, got.Outcome, got.RespCode, got.RespMessage, outcome, code)
	}
}

// noRedirects is a client that hands back redirects instead of following them.
var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}
