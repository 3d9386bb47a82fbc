package checkout_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/net/html"

	"switchyard/server/api"
	"switchyard/server/checkout"
	"switchyard/server/connector"
	"switchyard/server/connector/sandbox"
	"switchyard/server/orchestrator"
	"switchyard/server/pay"
	"switchyard/server/store"
	"switchyard/server/storetest"
	"switchyard/server/token"
)

const adminToken = "adm_checkout_test_0123456789"

// harness is the real stack (store, orchestrator with the sandbox connector,
// the sandbox service, api with the checkout surface) behind an HTTP server.
type harness struct {
	t   *testing.T
	db  *store.DB
	svc *orchestrator.Service
	srv *httptest.Server
	// client does not follow redirects.
	client *http.Client
	// clockOffset shifts the checkout's clock (expiry checks).
	clockOffset atomic.Int64
	// extra are mounted next to checkout (e.g. the SDK API).
	extra []api.Surface
	// onChange, if set by an option, hears every committed status change.
	onChange func(orchestrator.OrderEvent)
	// liveConns, if set by an option, counts open websockets.
	liveConns func() int
}

// mount serves an http.Handler under a path prefix, as an api.Surface.
type mount struct {
	prefix string
	h      http.Handler
}

func (m mount) Routes(e *echo.Echo) { e.Any(m.prefix+"*", echo.WrapHandler(m.h)) }

type harnessOption func(h *harness, svc *orchestrator.Service, cfg *checkout.Config)

func newHarness(t *testing.T, opts ...harnessOption) *harness {
	t.Helper()
	h := &harness{t: t, db: storetest.Open(t)}
	log := testLogger(t)

	var handler atomic.Value
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.Load().(http.Handler).ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)

	key, err := token.NewKey(h.db.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := token.New(h.srv.URL, []token.Key{key}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sandbox.NewService(sandbox.ServiceConfig{
		DB: sqlx.NewDb(h.db.SQL(), "mysql"), AdminToken: adminToken, Log: log, PublicURL: h.srv.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.svc = orchestrator.New(orchestrator.Config{
		DB: h.db, Tokens: tokens, Log: log, PublicURL: h.srv.URL, BcryptCost: bcrypt.MinCost, RenderOrder: api.OrderJSON,
		Connectors: connector.Registry{"sandbox": sandbox.Factory(sandbox.ConnectorConfig{
			BaseURL: h.srv.URL + "/sandbox", NotifyKey: []byte("checkout-test-notify-key"),
		})},
		OnChange: func(ev orchestrator.OrderEvent) {
			if h.onChange != nil {
				h.onChange(ev)
			}
		},
	})
	cfg := checkout.Config{
		Service: h.svc, Log: log, PublicURL: h.srv.URL, Sandbox: true,
		Now: func() time.Time { return time.Now().Add(time.Duration(h.clockOffset.Load())) },
	}
	for _, o := range opts {
		o(h, h.svc, &cfg)
	}
	co, err := checkout.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	surfaces := append([]api.Surface{co, mount{"/sandbox/", sb.Handler()}}, h.extra...)
	srv := api.New(api.Config{
		Service: h.svc, DB: h.db, Log: log, AdminToken: adminToken, Sandbox: true, Ready: h.db.Ready,
		Metrics: prometheus.NewRegistry(), Surfaces: surfaces,
	})
	handler.Store(srv.Handler())
	sb.Start(context.Background())
	// Runs before the server closes: stops the worker and releases
	// requests the sandbox holds.
	t.Cleanup(func() { sb.Close() })

	h.client = &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return h
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// shop is the usual test merchant: a Payment Redirect URL, allowed return
// hosts, every method on one sandbox gateway account (INR).
type shop struct {
	m           *pay.Merchant
	responseKey string
}

func (h *harness) merchant(id, redirectURL string, hosts ...string) shop {
	h.t.Helper()
	ctx := context.Background()
	m := orchestrator.NewMerchant(id, "Shop & Co")
	m.PaymentRedirectURL = redirectURL
	m.AllowedReturnHosts = hosts
	creds, err := h.svc.CreateMerchant(ctx, m)
	if err != nil {
		h.t.Fatal(err)
	}
	_, err = h.svc.PutGateway(ctx, &pay.GatewayAccount{
		MerchantID: id, Name: "sandbox_a", Connector: "sandbox", Enabled: true,
		Credentials:    map[string]string{"processor": "A"},
		PaymentMethods: append([]string(nil), pay.PaymentMethodTypes...), Currencies: []string{"INR"},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if m, err = h.svc.Merchant(ctx, id); err != nil {
		h.t.Fatal(err)
	}
	return shop{m: m, responseKey: creds.ResponseKey}
}

func (h *harness) order(m *pay.Merchant, in pay.OrderInput) *pay.Order {
	h.t.Helper()
	if in.Amount == "" {
		in.Amount = "100.00"
	}
	if in.Currency == "" {
		in.Currency = "INR"
	}
	o, _, err := h.svc.CreateOrder(context.Background(), m, in)
	if err != nil {
		h.t.Fatal(err)
	}
	return o
}

// response is an HTTP response read whole.
type response struct {
	Code   int
	Header http.Header
	Body   string
}

func (r response) location() string { return r.Header.Get("Location") }

// resultPage checks r is the result page a gateway's return lands on, for
// an order in status, and returns the return URL it goes on to.
func resultPage(t *testing.T, r response, status string) string {
	t.Helper()
	if r.Code != http.StatusOK {
		t.Fatalf("return: %d %s, want 200 and the result page", r.Code, r.Body)
	}
	root := byID(parseHTML(t, r.Body), "sy-checkout")
	if root == nil {
		t.Fatalf("return: no #sy-checkout in %s", r.Body)
	}
	mode, _ := attr(root, "data-mode")
	got, _ := attr(root, "data-status")
	to, _ := attr(root, "data-return-url")
	if mode != "result" || got != status || to == "" {
		t.Fatalf("result page: mode %q status %q return URL %q, want result, %s and a URL", mode, got, to, status)
	}
	return to
}

func (h *harness) do(method, path string, body io.Reader, header http.Header) response {
	h.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = h.srv.URL + path
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{Code: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

func (h *harness) get(path string) response { return h.do(http.MethodGet, path, nil, nil) }

func (h *harness) postForm(path string, form url.Values) response {
	return h.do(http.MethodPost, path, strings.NewReader(form.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
}

// startTxn starts a txn on order o as the hosted page would.
func (h *harness) startTxn(m *pay.Merchant, o *pay.Order, in pay.TxnInput) *orchestrator.TxnOutcome {
	h.t.Helper()
	out, err := h.svc.StartTxn(context.Background(), m, o.ID, in)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

func card(number string) pay.TxnInput {
	return pay.TxnInput{PaymentMethodType: pay.MethodCard, CardNumber: number, CardExpMonth: "12",
		CardExpYear: "2040", CardSecurityCode: "123", NameOnCard: "A Shopper"}
}

// ---- HTML helpers ----

func parseHTML(t *testing.T, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func attr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

// findAll returns the element nodes under n for which match is true, in
// document order.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func tag(name string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == name }
}

func byAttr(name, value string) func(*html.Node) bool {
	return func(n *html.Node) bool { v, ok := attr(n, name); return ok && v == value }
}

func byID(doc *html.Node, id string) *html.Node {
	if n := findAll(doc, byAttr("id", id)); len(n) > 0 {
		return n[0]
	}
	return nil
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}
