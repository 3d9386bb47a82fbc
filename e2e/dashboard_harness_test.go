package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
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

// dashHarness is the whole application (app.Open, sandbox mode) on a fresh
// database, served on a loopback port: the dashboard tests drive it the
// way a merchant's browser does. Unlike boot's server, its configuration
// can be changed (an https public URL) and its client sees redirects rather
// than following them, as the dashboard's POST-redirect-GET is under test.
type dashHarness struct {
	t   *testing.T
	URL string
	App *app.App
	// client does not follow redirects and keeps no cookies.
	client *http.Client
}

// newDashHarness boots the app for t, with opts applied to its
// configuration first, and shuts it down when t ends.
func newDashHarness(t *testing.T, opts ...func(*app.Config)) *dashHarness {
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
	return &dashHarness{t: t, URL: base, App: a, client: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// dashResponse is an HTTP response read whole, its body as text.
type dashResponse struct {
	Code   int
	Header http.Header
	Body   string
}

func (r dashResponse) want(t *testing.T, code int) dashResponse {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d; body: %.2000s", r.Code, code, r.Body)
	}
	return r
}

func (r dashResponse) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("decoding %T: %v; body: %s", v, err, r.Body)
	}
}

// send makes a request with client c; headers are name, value pairs.
func (h *dashHarness) send(c *http.Client, method, path, contentType, body string, headers ...string) dashResponse {
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
	return dashResponse{Code: res.StatusCode, Header: res.Header, Body: string(b)}
}

// admin calls the admin API with a JSON body (v may be nil).
func (h *dashHarness) admin(method, path string, v any) dashResponse {
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
func (h *dashHarness) merchantAPI(apiKey, method, path string, form url.Values) dashResponse {
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
	return dashResponse{Code: res.StatusCode, Header: res.Header, Body: string(b)}
}

// createMerchant creates a merchant with a sandbox gateway account (every
// method, INR) through the admin API.
func (h *dashHarness) createMerchant(id string) credentials {
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
func (h *dashHarness) createOrder(c credentials, orderID, amount string) string {
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

// dashSession is a logged-in dashboard client over plain HTTP (cookies kept,
// redirects not followed), for what a browser cannot be made to do: forged
// cross-site posts, another merchant's ids.
type dashSession struct {
	h      *dashHarness
	client *http.Client
}

var dashCSRFInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// loginClient is an HTTP client with a cookie jar that does not follow
// redirects.
func (h *dashHarness) loginClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login logs c in over HTTP, as the login form does.
func (h *dashHarness) login(c credentials) *dashSession {
	h.t.Helper()
	s := &dashSession{h: h, client: h.loginClient()}
	token := s.csrf("/dashboard")
	res := s.post("/dashboard", url.Values{"csrf_token": {token}, "login": {c.DashboardLogin}, "password": {c.DashboardPassword}})
	if res.Code != http.StatusSeeOther || res.Header.Get("Location") != "/dashboard/orders" {
		h.t.Fatalf("login: status %d, location %q", res.Code, res.Header.Get("Location"))
	}
	return s
}

func (s *dashSession) get(path string) dashResponse {
	s.h.t.Helper()
	return s.h.send(s.client, http.MethodGet, path, "", "")
}

// post posts a form from the dashboard's own origin.
func (s *dashSession) post(path string, form url.Values) dashResponse {
	s.h.t.Helper()
	return s.h.send(s.client, http.MethodPost, path, "application/x-www-form-urlencoded", form.Encode(), "Origin", s.h.URL)
}

// csrf returns the CSRF token of the page at path.
func (s *dashSession) csrf(path string) string {
	s.h.t.Helper()
	res := s.get(path).want(s.h.t, http.StatusOK)
	m := dashCSRFInput.FindStringSubmatch(res.Body)
	if m == nil {
		s.h.t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

// dashPageProbe runs in every page before its own scripts: it records CSP
// violations, which dashCheckPage reports.
const dashPageProbe = `
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) { window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });
`

// dashBrowser starts headless Chromium (exe, from browserExe) for test t
// with browserStart, and returns a function giving each subtest a fresh tab
// (phone-sized: 375 × 740). Call it after newDashHarness, so the browser
// goes first at cleanup.
func dashBrowser(t *testing.T, exe string) func(t *testing.T) context.Context {
	t.Helper()
	bctx := browserStart(t, exe)
	return func(t *testing.T) context.Context {
		t.Helper()
		// Each tab is its own browser context: its own cookie jar, so one
		// subtest's login does not leak into the next.
		tctx, cancelT := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
		t.Cleanup(cancelT)
		// The first run opens the tab and binds its life to tctx: without
		// a deadline, which applies to the actions only.
		if err := chromedp.Do(tctx); err != nil {
			t.Fatalf("opening a tab: %v", err)
		}
		ctx, cancelTimeout := context.WithTimeout(tctx, 90*time.Second)
		t.Cleanup(cancelTimeout)
		dashDo(t, ctx, chromedp.EmulateViewport(375, 740), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument,
				page.AddScriptToEvaluateOnNewDocumentParams{Source: dashPageProbe})
			return err
		}))
		return ctx
	}
}

// dashDo runs steps, failing the test with where the page was and what it said.
func dashDo(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		loc, _ := chromedp.Run(c, chromedp.Location())
		body, _ := chromedp.Run(c, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 600) : ''`))
		t.Fatalf("browser: %v (at %s, page %q)", err, loc, body)
	}
}

// dashEval evaluates a JS expression in the tab.
func dashEval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// dashWaitPath waits until the tab's location path is path and the page has
// loaded.
func dashWaitPath(path string) chromedp.Action[chromedp.Void] {
	return browserUntil(`location.pathname === ` + browserJS(path) + ` && document.readyState === "complete"`)
}

// dashRunJS runs a JS expression for its effect.
func dashRunJS(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[any](expr)(ctx, tg)
		return chromedp.Void{}, err
	}
}

// loginBrowser logs the tab in through the login form and waits for the
// landing page (/dashboard/orders).
func (h *dashHarness) loginBrowser(t *testing.T, ctx context.Context, c credentials) {
	t.Helper()
	dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard"),
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("login"), c.DashboardLogin),
		chromedp.SendKeys(chromedp.ID("password"), c.DashboardPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		dashWaitPath("/dashboard/orders"))
}

// dashSubmit clicks a form's submit button and waits for the page that answers.
func dashSubmit(sel string, wantPath string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		dashRunJS(`window.__submitted = true`),
		chromedp.Click(chromedp.CSS(sel)),
		browserUntil(`!window.__submitted && location.pathname === `+browserJS(wantPath)+` && document.readyState === "complete"`),
	)
}

// dashCheckPage checks what every dashboard page must hold: no CSP violation,
// nothing wider than the phone-width window, every form control labelled.
func dashCheckPage(t *testing.T, ctx context.Context) {
	t.Helper()
	if v := dashEval[[]string](t, ctx, `window.__csp`); len(v) > 0 {
		t.Errorf("CSP violations: %v", v)
	}
	if w := dashEval[bool](t, ctx, `document.documentElement.scrollWidth <= window.innerWidth`); !w {
		t.Errorf("%s is wider than the %dpx window (%dpx): %v", dashEval[string](t, ctx, `location.pathname`),
			dashEval[int](t, ctx, `window.innerWidth`), dashEval[int](t, ctx, `document.documentElement.scrollWidth`),
			dashEval[[]string](t, ctx, `Array.prototype.filter.call(document.querySelectorAll('body *'), function (e) {
				return e.getBoundingClientRect().right > window.innerWidth + 1;
			}).slice(0, 5).map(function (e) { return e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right); })`))
	}
	unlabelled := dashEval[[]string](t, ctx, `Array.prototype.filter.call(
		document.querySelectorAll('input:not([type=hidden]), select, textarea'),
		function (el) { return !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'); }
	).map(function (el) { return el.name || el.id; })`)
	if len(unlabelled) > 0 {
		t.Errorf("form controls without a label: %v", unlabelled)
	}
	if low := dashEval[[]string](t, ctx, dashContrastProbe); len(low) > 0 {
		t.Errorf("text below WCAG AA contrast (4.5:1; 3:1 for large text): %v", low)
	}
}

// dashContrastProbe lists visible text whose colour against its (nearest
// opaque) background is below WCAG AA.
const dashContrastProbe = `(function () {
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
