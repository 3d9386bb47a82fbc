package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"switchyard/server/app"
	"switchyard/server/storetest"
)

const adminToken = "adm_dashboard_test_0123456789"

// harness is the whole application (app.Open, sandbox mode) on a fresh
// database, served on a loopback port: the dashboard tests drive it the
// way a merchant's browser does.
type harness struct {
	t   *testing.T
	URL string
	App *app.App
	// client does not follow redirects and keeps no cookies.
	client *http.Client
}

func newHarness(t *testing.T, opts ...func(*app.Config)) *harness {
	t.Helper()
	cfg := app.Config{
		Addr: "127.0.0.1:0", DatabaseURL: storetest.DSN(t), Sandbox: true, AdminToken: adminToken,
		MasterKeys: map[int][]byte{storetest.MasterKeyVersion: storetest.MasterKey()},
	}
	for _, o := range opts {
		o(&cfg)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	// Registered after storetest's cleanup, so it runs first: the app lets
	// go of the database before the database goes away.
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("app.Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("app.Run still running 30s after its context was cancelled")
		}
		if err := a.Close(); err != nil {
			t.Errorf("app.Close: %v", err)
		}
	})
	base := a.URL()
	if !strings.HasPrefix(base, "http://"+cfg.Addr) && cfg.Addr != "127.0.0.1:0" {
		// A public URL of its own (https behind a proxy): requests go to
		// the listen address.
		base = "http://" + cfg.Addr
	}
	return &harness{t: t, URL: base, App: a, client: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is an HTTP response read whole.
type response struct {
	Code   int
	Header http.Header
	Body   string
}

func (r response) want(t *testing.T, code int) response {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d; body: %.2000s", r.Code, code, r.Body)
	}
	return r
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("decoding %T: %v; body: %s", v, err, r.Body)
	}
}

// send makes a request with client c; headers are name, value pairs.
func (h *harness) send(c *http.Client, method, path, contentType, body string, headers ...string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{Code: res.StatusCode, Header: res.Header, Body: string(b)}
}

// admin calls the admin API with a JSON body (v may be nil).
func (h *harness) admin(method, path string, v any) response {
	h.t.Helper()
	body := ""
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			h.t.Fatal(err)
		}
		body = string(b)
	}
	return h.send(h.client, method, "/admin/v1"+path, "application/json", body, "Authorization", "Bearer "+adminToken)
}

// merchantAPI calls the merchant API with an API key and a form body.
func (h *harness) merchantAPI(apiKey, method, path string, form url.Values) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.SetBasicAuth(apiKey, "")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{Code: res.StatusCode, Header: res.Header, Body: string(b)}
}

// credentials are a merchant's secrets as the admin API returns them.
type credentials struct {
	MerchantID        string `json:"merchant_id"`
	APIKey            string `json:"api_key"`
	ResponseKey       string `json:"response_key"`
	DashboardLogin    string `json:"dashboard_login"`
	DashboardPassword string `json:"dashboard_password"`
}

// createMerchant creates a merchant with a sandbox gateway account (every
// method, INR) through the admin API.
func (h *harness) createMerchant(id string) credentials {
	h.t.Helper()
	var c credentials
	h.admin(http.MethodPost, "/merchants", map[string]any{
		"merchant_id": id, "name": "Shop " + id,
		"payment_redirect_url": "https://shop.example/payment-result",
		"allowed_return_hosts": []string{"shop.example"},
	}).want(h.t, http.StatusCreated).decode(h.t, &c)
	h.admin(http.MethodPut, "/merchants/"+id+"/gateways/sandbox_a", map[string]any{
		"connector": "sandbox", "enabled": true, "credentials": map[string]string{"processor": "A"},
		"payment_methods": []string{"CARD", "UPI", "NB", "WALLET"}, "currencies": []string{"INR"},
	}).want(h.t, http.StatusCreated)
	return c
}

// createOrder creates an order over the merchant API and returns its
// payment link.
func (h *harness) createOrder(c credentials, orderID, amount string) string {
	h.t.Helper()
	var out struct {
		PaymentLinks struct {
			Web string `json:"web"`
		} `json:"payment_links"`
	}
	h.merchantAPI(c.APIKey, http.MethodPost, "/orders", url.Values{
		"order_id": {orderID}, "amount": {amount}, "currency": {"INR"}, "customer_id": {"cust_1"},
	}).want(h.t, http.StatusOK).decode(h.t, &out)
	if out.PaymentLinks.Web == "" {
		h.t.Fatalf("order %s has no payment link", orderID)
	}
	return out.PaymentLinks.Web
}

// session is a logged-in dashboard client over plain HTTP (cookies kept,
// redirects not followed), for what a browser cannot be made to do: forged
// cross-site posts, another merchant's ids.
type session struct {
	h      *harness
	client *http.Client
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// loginClient is an HTTP client with a cookie jar that does not follow
// redirects.
func (h *harness) loginClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login logs c in over HTTP, as the login form does.
func (h *harness) login(c credentials) *session {
	h.t.Helper()
	s := &session{h: h, client: h.loginClient()}
	token := s.csrf("/dashboard")
	res := s.post("/dashboard", url.Values{"csrf_token": {token}, "login": {c.DashboardLogin}, "password": {c.DashboardPassword}})
	if res.Code != http.StatusSeeOther || res.Header.Get("Location") != "/dashboard/orders" {
		h.t.Fatalf("login: status %d, location %q", res.Code, res.Header.Get("Location"))
	}
	return s
}

func (s *session) get(path string) response {
	s.h.t.Helper()
	return s.h.send(s.client, http.MethodGet, path, "", "")
}

// post posts a form from the dashboard's own origin.
func (s *session) post(path string, form url.Values) response {
	s.h.t.Helper()
	return s.h.send(s.client, http.MethodPost, path, "application/x-www-form-urlencoded", form.Encode(), "Origin", s.h.URL)
}

// csrf returns the CSRF token of the page at path.
func (s *session) csrf(path string) string {
	s.h.t.Helper()
	res := s.get(path).want(s.h.t, http.StatusOK)
	m := csrfInput.FindStringSubmatch(res.Body)
	if m == nil {
		s.h.t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

// chromePath finds Chrome or Chromium: $SWITCHYARD_CHROME, else on $PATH.
func chromePath() string {
	if p := os.Getenv("SWITCHYARD_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// pageProbe runs in every page before its own scripts: it records CSP
// violations, which checkPage reports.
const pageProbe = `
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) { window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });
`

// browser starts headless Chromium for the test and returns a function
// giving each subtest a fresh tab (phone-sized: 375 × 740). It skips only
// when no browser is installed; one that is installed but does not start
// fails the test.
func browser(t *testing.T) func(t *testing.T) context.Context {
	t.Helper()
	exe := chromePath()
	if exe == "" {
		t.Skip("no Chrome/Chromium found (set SWITCHYARD_CHROME)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(cancelB)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("cannot start %s: %v", exe, err)
	}
	return func(t *testing.T) context.Context {
		// Each tab is its own browser context: its own cookie jar, so one
		// subtest's login does not leak into the next.
		tctx, cancelT := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
		ctx, cancelTimeout := context.WithTimeout(tctx, 90*time.Second)
		t.Cleanup(func() { cancelTimeout(); cancelT() })
		do(t, ctx, chromedp.EmulateViewport(375, 740), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument,
				page.AddScriptToEvaluateOnNewDocumentParams{Source: pageProbe})
			return err
		}))
		return ctx
	}
}

// do runs steps, failing the test with where the page was and what it said.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		loc, _ := chromedp.Run(c, chromedp.Location())
		body, _ := chromedp.Run(c, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 600) : ''`))
		t.Fatalf("browser: %v (at %s, page %q)", err, loc, body)
	}
}

// eval evaluates a JS expression in the tab.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JS expression until it is truthy, across navigations.
func waitFor(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			ok, err := chromedp.Evaluate[bool]("!!("+expr+")")(ctx, tg)
			if err == nil && ok {
				return chromedp.Void{}, nil
			}
			if time.Now().After(deadline) {
				return chromedp.Void{}, fmt.Errorf("timed out waiting for %s (last error: %v)", expr, err)
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// waitPath waits until the tab's location path is path and the page has
// loaded.
func waitPath(path string) chromedp.Action[chromedp.Void] {
	return waitFor(`location.pathname === ` + jsString(path) + ` && document.readyState === "complete"`)
}

// js runs a JS expression for its effect.
func js(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[any](expr)(ctx, tg)
		return chromedp.Void{}, err
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// loginBrowser logs the tab in through the login form and waits for the
// landing page (/dashboard/orders).
func (h *harness) loginBrowser(t *testing.T, ctx context.Context, c credentials) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(h.URL+"/dashboard"),
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("login"), c.DashboardLogin),
		chromedp.SendKeys(chromedp.ID("password"), c.DashboardPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		waitPath("/dashboard/orders"))
}

// submit clicks a form's submit button and waits for the page that answers.
func submit(sel string, wantPath string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		js(`window.__submitted = true`),
		chromedp.Click(chromedp.CSS(sel)),
		waitFor(`!window.__submitted && location.pathname === `+jsString(wantPath)+` && document.readyState === "complete"`),
	)
}

// checkPage checks what every dashboard page must hold: no CSP violation,
// nothing wider than the phone-width window, every form control labelled.
func checkPage(t *testing.T, ctx context.Context) {
	t.Helper()
	if v := eval[[]string](t, ctx, `window.__csp`); len(v) > 0 {
		t.Errorf("CSP violations: %v", v)
	}
	if w := eval[bool](t, ctx, `document.documentElement.scrollWidth <= window.innerWidth`); !w {
		t.Errorf("%s is wider than the %dpx window (%dpx): %v", eval[string](t, ctx, `location.pathname`),
			eval[int](t, ctx, `window.innerWidth`), eval[int](t, ctx, `document.documentElement.scrollWidth`),
			eval[[]string](t, ctx, `Array.prototype.filter.call(document.querySelectorAll('body *'), function (e) {
				return e.getBoundingClientRect().right > window.innerWidth + 1;
			}).slice(0, 5).map(function (e) { return e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right); })`))
	}
	unlabelled := eval[[]string](t, ctx, `Array.prototype.filter.call(
		document.querySelectorAll('input:not([type=hidden]), select, textarea'),
		function (el) { return !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'); }
	).map(function (el) { return el.name || el.id; })`)
	if len(unlabelled) > 0 {
		t.Errorf("form controls without a label: %v", unlabelled)
	}
	if low := eval[[]string](t, ctx, contrastProbe); len(low) > 0 {
		t.Errorf("text below WCAG AA contrast (4.5:1; 3:1 for large text): %v", low)
	}
}

// contrastProbe lists visible text whose colour against its (nearest
// opaque) background is below WCAG AA.
const contrastProbe = `(function () {
	function rgb(s) { var m = s.match(/[\d.]+/g) || [0, 0, 0, 0]; return m.map(Number); }
	function lum(c) {
		var a = c.slice(0, 3).map(function (v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
		return 0.2126 * a[0] + 0.7152 * a[1] + 0.0722 * a[2];
	}
	function bg(el) {
		for (; el; el = el.parentElement) {
			var c = rgb(getComputedStyle(el).backgroundColor);
			if (c.length < 4 || c[3] > 0.9) return c;
		}
		return [255, 255, 255];
	}
	var out = [];
	document.querySelectorAll('body *').forEach(function (el) {
		var text = Array.prototype.some.call(el.childNodes, function (n) { return n.nodeType === 3 && n.textContent.trim(); });
		var r = el.getBoundingClientRect();
		if (!text || r.width < 2 || r.height < 2) return;
		var cs = getComputedStyle(el);
		if (cs.visibility === 'hidden' || cs.display === 'none') return;
		var l1 = lum(rgb(cs.color)), l2 = lum(bg(el));
		var ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
		var large = parseFloat(cs.fontSize) >= 24 || (parseFloat(cs.fontSize) >= 18.66 && parseInt(cs.fontWeight, 10) >= 700);
		if (ratio < (large ? 3 : 4.5)) out.push(el.tagName + ' "' + el.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2));
	});
	return out;
})()`
