package checkout

import (
	"io/fs"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/labstack/echo/v4"

	"switchyard/server/orchestrator"
	"switchyard/server/pay"
	"switchyard/templates"
)

func testConfig() Config {
	return Config{Service: orchestrator.New(orchestrator.Config{}), Log: slog.New(slog.DiscardHandler),
		PublicURL: "https://pay.example"}
}

// templatesWithout copies the embedded templates, leaving out one file and
// replacing others.
func templatesWithout(t *testing.T, drop string, replace map[string]string) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	entries, err := fs.ReadDir(templates.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == drop {
			continue
		}
		b, err := fs.ReadFile(templates.FS, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = &fstest.MapFile{Data: b}
	}
	for name, body := range replace {
		out[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return out
}

func TestNewFailsFast(t *testing.T) {
	if _, err := New(testConfig()); err != nil {
		t.Fatalf("New with the embedded templates: %v", err)
	}
	for name, tfs := range map[string]fs.FS{
		"missing page":      templatesWithout(t, "pay_wait.html", nil),
		"missing partial":   templatesWithout(t, "checkout_forms.html", nil),
		"syntax error":      templatesWithout(t, "", map[string]string{"pay_paid.html": `{{define "pay_paid.html"}}{{if}}{{end}}`}),
		"wrong define name": templatesWithout(t, "", map[string]string{"pay_paid.html": `{{define "paid"}}x{{end}}`}),
	} {
		cfg := testConfig()
		cfg.templates = tfs
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	cfg := testConfig()
	cfg.Service = nil
	if _, err := New(cfg); err == nil {
		t.Errorf("New without a service succeeded")
	}
}

func TestDemoRouteOnlyInSandbox(t *testing.T) {
	for _, sandbox := range []bool{false, true} {
		cfg := testConfig()
		cfg.Sandbox = sandbox
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		e := echo.New()
		s.Routes(e)
		has := slices.ContainsFunc(e.Routes(), func(r *echo.Route) bool { return r.Path == "/demo/result" })
		if has != sandbox {
			t.Errorf("sandbox=%v: /demo/result mounted=%v", sandbox, has)
		}
	}
}

// TestVerifyReturnSignature uses DESIGN §7's test vector.
func TestVerifyReturnSignature(t *testing.T) {
	q, err := url.ParseQuery("cart=a+b*%7E&order_id=ord_42&status=CHARGED&status_id=21" +
		"&signature=bsVvkHCLhEqtmEZ6Jln3r%252FJFAAHzworwT1kYnFNQUPQ%253D&signature_algorithm=HMAC-SHA256")
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Get("signature"); got != "bsVvkHCLhEqtmEZ6Jln3r%2FJFAAHzworwT1kYnFNQUPQ%3D" {
		t.Fatalf("signature decodes to %q", got)
	}
	if signed, ok := verifyReturnSignature("test_response_key", q); !signed || !ok {
		t.Errorf("test vector: signed=%v verified=%v", signed, ok)
	}
	if _, ok := verifyReturnSignature("other_key", q); ok {
		t.Errorf("verified with the wrong key")
	}
	q.Set("status", "AUTHORIZATION_FAILED")
	if _, ok := verifyReturnSignature("test_response_key", q); ok {
		t.Errorf("verified a tampered status")
	}
	q.Set("status", "CHARGED")
	q.Set("signature_algorithm", "MD5")
	if _, ok := verifyReturnSignature("test_response_key", q); ok {
		t.Errorf("verified with another algorithm")
	}
	q.Del("signature")
	if signed, _ := verifyReturnSignature("test_response_key", q); signed {
		t.Errorf("unsigned query reported as signed")
	}
}

func TestDisplayAmount(t *testing.T) {
	for _, c := range []struct {
		m    pay.Money
		want string
	}{
		{pay.Money{Amount: 10000, Currency: "INR"}, "₹100.00"},
		{pay.Money{Amount: 1050, Currency: "USD"}, "$10.50"},
		{pay.Money{Amount: 1, Currency: "EUR"}, "€0.01"},
		{pay.Money{Amount: 500, Currency: "JPY"}, "¥500"},
		{pay.Money{Amount: 1234, Currency: "BHD"}, "BHD 1.234"},
		{pay.Money{Amount: 123456, Currency: "SGD"}, "SGD 1234.56"},
	} {
		if got := displayAmount(c.m); got != c.want {
			t.Errorf("displayAmount(%v) = %q, want %q", c.m, got, c.want)
		}
	}
}

func TestFrameAncestorsAndOrigins(t *testing.T) {
	m := &pay.Merchant{
		PaymentRedirectURL: "https://Shop.Example:8443/return?x=1",
		AllowedReturnHosts: []string{"shop.example", "*.shop.example", "evil.example; script-src *", "'unsafe-inline'", "a b"},
	}
	got := frameAncestors(m)
	want := []string{"'self'", "https://shop.example:8443", "shop.example:*", "*.shop.example:*"}
	if !slices.Equal(got, want) {
		t.Errorf("frameAncestors = %q, want %q", got, want)
	}
	if got := frameAncestors(&pay.Merchant{PaymentRedirectURL: "javascript:alert(1)"}); !slices.Equal(got, []string{"'self'"}) {
		t.Errorf("frameAncestors of a bad URL = %q", got)
	}

	for _, c := range []struct {
		returnURL, redirect, want string
	}{
		{"https://www.shop.example/thanks", "https://shop.example/r", "https://www.shop.example"},
		{"https://evil.example/x", "https://shop.example/r", "https://shop.example"},
		{"", "http://localhost:3000/r", "http://localhost:3000"},
		{"", "", ""},
	} {
		m := &pay.Merchant{PaymentRedirectURL: c.redirect, AllowedReturnHosts: []string{"*.shop.example"}}
		if got := merchantOrigin(m, &pay.Order{ReturnURL: c.returnURL}); got != c.want {
			t.Errorf("merchantOrigin(%q, %q) = %q, want %q", c.returnURL, c.redirect, got, c.want)
		}
	}
}

func TestCSP(t *testing.T) {
	s, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	csp := s.csp("n0nce", nil)
	for _, want := range []string{"script-src 'nonce-n0nce'", "connect-src 'self' wss://pay.example", "frame-ancestors 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if !s.hsts {
		t.Errorf("https public URL without HSTS")
	}
}
