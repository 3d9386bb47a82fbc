package e2e_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser tests drive a real Chromium (chromedp) through the hosted
// checkout of a booted server (boot, harness_test.go), the sandbox's
// 3-D Secure, bank and wallet pages, and back to a merchant's site: a local
// httptest server that checks the return URL's signature as a Juspay
// merchant does.

// browserChrome finds the browser: $SWITCHYARD_CHROME, else Debian's
// /usr/bin/chromium, else a Chrome or Chromium on $PATH.
func browserChrome() string {
	if p := os.Getenv("SWITCHYARD_CHROME"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserUnavailable ends a test that cannot get a browser: a failure in CI (CI set),
// where the browser tests must run, a skip with the reason elsewhere.
func browserUnavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI is set: the browser tests must not skip)", msg)
	}
	t.Skip(msg)
}

// browserExe returns the Chromium the browser tests use, skipping (or, in
// CI, failing) the test when there is none. Call it before booting
// anything.
func browserExe(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	exe := browserChrome()
	if exe == "" {
		browserUnavailable(t, "no Chromium found: install Debian's chromium or set SWITCHYARD_CHROME")
	}
	return exe
}

// browserStart starts one headless Chromium (exe, from browserExe) for test
// t, with the launch options of server/checkout's browser test and a fresh
// user data directory; its subtests open tabs in it. Start it after booting
// the server: the browser then goes first at cleanup, taking its
// connections along, so the server's graceful shutdown does not wait for
// the sockets Chromium opens ahead of time.
func browserStart(t *testing.T, exe string) context.Context {
	t.Helper()
	// Created before the browser's cleanup is registered, so removed after
	// the browser has exited.
	dir := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		// Not cancelBrowser: it would wait for a browser that never
		// started.
		cancelAlloc()
		browserUnavailable(t, "cannot start %s: %v", exe, err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(bctx, 10*time.Second)
		defer cancel()
		chromedp.Cancel(c)
		cancelBrowser()
		cancelAlloc()
	})
	return bctx
}

// browserEvent is one event of a tab, in the order the browser sent them.
// At is the browser's monotonic clock in seconds, the same for every tab of
// the browser (console entries have none).
type browserEvent struct {
	Seq  int
	Kind string // "request", "response", "ws-frame", "console"
	// URL of a request or response (redirects included), or of what a
	// console entry is about.
	URL string
	// Document says a request or response is a page's document.
	Document bool
	// Payload of a websocket frame; Text of a console entry, Source its
	// origin ("security" for CSP, "javascript" for an uncaught exception).
	Payload string
	Source  string
	At      float64
}

// browserLog records a tab's requests, responses, websocket frames, console
// errors and uncaught exceptions from the DevTools protocol (chromedp
// enables the Network, Log and Runtime domains), so tests can tell what
// reached the page, and in which order, without touching the page.
type browserLog struct {
	mu     sync.Mutex
	events []browserEvent
}

// listen is a chromedp listener: it runs on the tab's reading goroutine and
// only appends.
func (l *browserLog) listen(ev any) {
	var e browserEvent
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		e = browserEvent{Kind: "request", URL: ev.Request.URL, Document: ev.Type == network.ResourceTypeDocument, At: float64(ev.Timestamp)}
	case *network.EventResponseReceived:
		e = browserEvent{Kind: "response", URL: ev.Response.URL, Document: ev.Type == network.ResourceTypeDocument, At: float64(ev.Timestamp)}
	case *network.EventWebSocketFrameReceived:
		if ev.Response == nil {
			return
		}
		e = browserEvent{Kind: "ws-frame", Payload: string(ev.Response.PayloadData), At: float64(ev.Timestamp)}
	case *log.EventEntryAdded:
		if ev.Entry == nil || ev.Entry.Level != log.EntryLevelError {
			return
		}
		e = browserEvent{Kind: "console", URL: ev.Entry.URL, Payload: ev.Entry.Text, Source: string(ev.Entry.Source)}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		if d == nil {
			return
		}
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		e = browserEvent{Kind: "console", URL: d.URL, Payload: text, Source: "javascript"}
	default:
		return
	}
	l.mu.Lock()
	e.Seq = len(l.events)
	l.events = append(l.events, e)
	l.mu.Unlock()
}

// errors returns the console errors and uncaught exceptions so far, one a
// line.
func (l *browserLog) errors() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.events {
		if e.Kind == "console" {
			fmt.Fprintf(&b, "\n\t%s: %s", e.Source, e.Payload)
		}
	}
	return b.String()
}

// summary lists the tab's requests, websocket frames and console errors,
// one a line, for failure messages.
func (l *browserLog) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.events {
		switch e.Kind {
		case "request":
			fmt.Fprintf(&b, "\n\t#%d %.3f %s %s", e.Seq, e.At, e.Kind, e.URL)
		case "ws-frame":
			fmt.Fprintf(&b, "\n\t#%d %.3f %s %s", e.Seq, e.At, e.Kind, e.Payload)
		case "console":
			fmt.Fprintf(&b, "\n\t#%d %s %s: %s", e.Seq, e.Kind, e.Source, e.Payload)
		}
	}
	return b.String()
}

// find returns the first event for which match is true.
func (l *browserLog) find(match func(browserEvent) bool) (browserEvent, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if match(e) {
			return e, true
		}
	}
	return browserEvent{}, false
}

// browserLiveStatus is a live websocket message (DESIGN §7).
type browserLiveStatus struct {
	Type     string `json:"type"`
	OrderID  string `json:"order_id"`
	Status   string `json:"status"`
	StatusID int    `json:"status_id"`
	TxnID    string `json:"txn_id"`
	At       string `json:"at"`
}

// liveFrame returns the first websocket frame pushing status for orderID.
func (l *browserLog) liveFrame(orderID, status string) (browserEvent, browserLiveStatus, bool) {
	var msg browserLiveStatus
	e, ok := l.find(func(e browserEvent) bool {
		var m browserLiveStatus
		if e.Kind != "ws-frame" || json.Unmarshal([]byte(e.Payload), &m) != nil {
			return false
		}
		if m.Type == "order.status" && m.OrderID == orderID && m.Status == status {
			msg = m
			return true
		}
		return false
	})
	return e, msg, ok
}

// browserTab is one browser tab (or another target, such as a cross-site iframe)
// and its log.
type browserTab struct {
	ctx context.Context
	log *browserLog
}

// newBrowserTab opens a tab in the browser of bctx for the rest of test t.
func newBrowserTab(t *testing.T, bctx context.Context, opts ...chromedp.ContextOption) *browserTab {
	t.Helper()
	l := &browserLog{}
	tctx, cancel := chromedp.NewContext(bctx, append(opts, chromedp.WithListener(l.listen))...)
	t.Cleanup(cancel)
	// The first run opens the tab and binds its life to tctx: without a
	// deadline, which applies to the actions only.
	if err := chromedp.Do(tctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(tctx, 60*time.Second)
	t.Cleanup(cancelTimeout)
	return &browserTab{ctx: ctx, log: l}
}

// do runs steps, failing the test with where the page was and what its
// status region said.
func (tb *browserTab) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		c, cancel := context.WithTimeout(context.WithoutCancel(tb.ctx), 3*time.Second)
		defer cancel()
		loc, _ := chromedp.Run(c, chromedp.Location())
		status, _ := chromedp.Run(c, chromedp.Evaluate[string](`((document.getElementById('sy-status')||{}).textContent||'') + ' | ' +
			Array.prototype.map.call(document.querySelectorAll('.field-error:not([hidden])'), function (e) { return e.id + ': ' + e.textContent; }).join('; ')`))
		t.Fatalf("browser: %v (at %s, status %q)%s", err, loc, status, tb.log.errors())
	}
}

// within runs steps with at most d for all of them, failing the test with
// what as the reason when they do not finish in time.
func (tb *browserTab) within(t *testing.T, d time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := tb.tryWithin(d, steps...); err != nil {
		t.Fatalf("%s (%v)%s", what, err, tb.log.errors())
	}
}

// tryWithin runs steps with at most d for all of them; the error says where
// the tab was.
func (tb *browserTab) tryWithin(d time.Duration, steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(tb.ctx, d)
	defer cancel()
	err := chromedp.Do(ctx, steps...)
	if err == nil {
		return nil
	}
	c, cancelLoc := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancelLoc()
	loc, _ := chromedp.Run(c, chromedp.Location())
	return fmt.Errorf("within %s: %w; at %s", d, err, loc)
}

// clean fails the test if the tab's pages threw an uncaught exception or
// violated their Content-Security-Policy.
func (tb *browserTab) clean(t *testing.T) {
	t.Helper()
	tb.log.mu.Lock()
	defer tb.log.mu.Unlock()
	for _, e := range tb.log.events {
		if e.Kind == "console" && (e.Source == "javascript" || e.Source == "security") {
			t.Errorf("%s error on %s: %s", e.Source, e.URL, e.Payload)
		}
	}
}

// browserEval evaluates a JavaScript expression in the tab's page.
func browserEval[T any](t *testing.T, tb *browserTab, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// browserUntil polls a JavaScript expression until it is truthy, across page
// navigations (during which an evaluation fails).
func browserUntil(expr string) chromedp.Action[chromedp.Void] {
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

// browserJS quotes s as a JavaScript string literal.
func browserJS(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// browserReturn is one request the merchant's site got on /return.
type browserReturn struct {
	RawQuery string
	Query    url.Values
}

// browserSite is the merchant's web site: it receives the shopper on
// /return (recording the query), serves the web SDK and a shop page that
// uses it. It listens on 127.0.0.1, so it is another origin than
// Switchyard (another port) when reached as 127.0.0.1, and another site
// too when reached as localhost.
type browserSite struct {
	URL string // http://127.0.0.1:port
	// LocalhostURL is the same server as http://localhost:port.
	LocalhostURL string

	mu      sync.Mutex
	returns []browserReturn
}

// browserShopPage is the merchant page that opens a payment link with
// switchyard.js. In iframe mode it opens it at once; in popup mode when the
// shopper clicks "Pay now", as pop-up blockers expect. Every onResult call
// lands in window.__results.
const browserShopPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>Your cart</h1>
<button id="pay-now" type="button">Pay now</button>
<div id="pay"></div>
<script src="/switchyard.js"></script>
<script>
window.__results = [];
var params = new URLSearchParams(location.search);
function openCheckout() {
  window.__handle = Switchyard.open({
    paymentLink: params.get("link"), mode: params.get("mode"), container: "#pay",
    onResult: function (r) { window.__results.push(r); }
  });
}
document.getElementById("pay-now").addEventListener("click", openCheckout);
if (params.get("mode") === "iframe") { openCheckout(); }
</script>
</body></html>`

func newBrowserSite(t *testing.T) *browserSite {
	t.Helper()
	sdk, err := os.ReadFile("../web/switchyard.js")
	if err != nil {
		t.Fatalf("reading the web SDK: %v", err)
	}
	m := &browserSite{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/return":
			m.mu.Lock()
			m.returns = append(m.returns, browserReturn{RawQuery: r.URL.RawQuery, Query: r.URL.Query()})
			m.mu.Unlock()
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<!doctype html><title>Order received</title><h1 id="merchant-return">Thank you for your order</h1>`)
		case "/switchyard.js":
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			w.Write(sdk)
		case "/shop":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, browserShopPage)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	m.URL = srv.URL
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	m.LocalhostURL = "http://localhost:" + port
	return m
}

// returnsFor returns the /return requests carrying order_id orderID.
func (m *browserSite) returnsFor(orderID string) []browserReturn {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []browserReturn
	for _, r := range m.returns {
		if r.Query.Get("order_id") == orderID {
			out = append(out, r)
		}
	}
	return out
}

// browserJavaURLEncode is java.net.URLEncoder.encode(s, "UTF-8"), which Juspay's
// verification samples use: letters, digits and ". - * _" stay, a space
// becomes "+", every other byte %XX in upper case. Written out here rather
// than borrowed from Switchyard, so the tests check it the way a merchant's
// code would.
func browserJavaURLEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '-', c == '*', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// browserVerifySignature checks a return URL's query the way a Juspay
// merchant does (reference/juspay-api.md §6): every parameter but signature
// and signature_algorithm, key and value encoded, sorted by encoded key,
// joined as k=v with &, the whole encoded again, HMAC-SHA256 with the
// response key, base64, encoded once more, compared with the signature
// parameter as a query parser hands it over (decoded once).
func browserVerifySignature(responseKey, rawQuery string) error {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fmt.Errorf("query %q: %w", rawQuery, err)
	}
	if alg := q.Get("signature_algorithm"); alg != "HMAC-SHA256" {
		return fmt.Errorf("signature_algorithm %q, want HMAC-SHA256", alg)
	}
	sig := q.Get("signature")
	if sig == "" {
		return fmt.Errorf("no signature in %q", rawQuery)
	}
	var pairs [][2]string
	for k, vs := range q {
		if k == "signature" || k == "signature_algorithm" {
			continue
		}
		if len(vs) != 1 {
			return fmt.Errorf("parameter %s given %d times", k, len(vs))
		}
		pairs = append(pairs, [2]string{browserJavaURLEncode(k), browserJavaURLEncode(vs[0])})
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i][0] < pairs[j][0] })
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p[0] + "=" + p[1]
	}
	mac := hmac.New(sha256.New, []byte(responseKey))
	mac.Write([]byte(browserJavaURLEncode(strings.Join(parts, "&"))))
	want := browserJavaURLEncode(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return fmt.Errorf("signature %q does not verify (want %q) for %q", sig, want, rawQuery)
	}
	return nil
}

// browserShop is a merchant created through the admin API for a browser test,
// with its own sandbox processor, redirecting to the merchant's site.
type browserShop struct {
	s         *server
	site      *browserSite
	creds     credentials
	processor string
	orders    int
}

// newBrowserShop creates merchant id with Payment Redirect URL site/return,
// allowed return hosts 127.0.0.1 plus hosts, and a sandbox gateway account
// sandbox_a for every method in INR on processor "proc_"+id.
func newBrowserShop(t *testing.T, s *server, site *browserSite, id string, hosts ...string) *browserShop {
	t.Helper()
	sh := &browserShop{s: s, site: site, processor: "proc_" + id}
	s.postJSON(t, "/admin/v1/merchants", bearer(adminToken), map[string]any{
		"merchant_id": id, "name": "Shop " + id,
		"payment_redirect_url": site.URL + "/return",
		"allowed_return_hosts": append([]string{"127.0.0.1"}, hosts...),
	}).want(t, http.StatusCreated).decode(t, &sh.creds)
	if sh.creds.ResponseKey == "" || sh.creds.APIKey == "" {
		t.Fatalf("created merchant: %+v", sh.creds)
	}
	// 201 Created: a new gateway account.
	s.do(t, http.MethodPut, "/admin/v1/merchants/"+id+"/gateways/sandbox_a", bearer(adminToken), "application/json",
		`{"connector": "sandbox", "credentials": {"processor": "`+sh.processor+`"},
		  "payment_methods": ["CARD", "UPI", "NB", "WALLET"], "currencies": ["INR"]}`).want(t, http.StatusCreated)
	return sh
}

// configureProcessor changes the shop's sandbox processor through the
// sandbox control API.
func (sh *browserShop) configureProcessor(t *testing.T, body string) {
	t.Helper()
	sh.s.do(t, http.MethodPut, "/sandbox/v1/processors/"+sh.processor, bearer(adminToken), "application/json", body).
		want(t, http.StatusOK)
}

// order creates an order through POST /session (with the merchant's
// return_url, when given) and returns its order_id and payment link.
func (sh *browserShop) order(t *testing.T, returnURL string) (orderID, link string) {
	t.Helper()
	sh.orders++
	orderID = fmt.Sprintf("br_%s_%d", sh.creds.MerchantID, sh.orders)
	form := url.Values{
		"order_id": {orderID}, "amount": {"249.50"}, "currency": {"INR"},
		"customer_id": {"cust_browser"}, "customer_email": {"shopper@example.com"},
		"description": {"Browser test order"},
	}
	if returnURL != "" {
		form.Set("return_url", returnURL)
	}
	var sess session
	sh.s.postForm(t, "/session", basic(sh.creds.APIKey), form).want(t, http.StatusOK).decode(t, &sess)
	if sess.OrderID != orderID || !strings.HasPrefix(sess.PaymentLinks.Web, sh.s.URL+"/pay/") {
		t.Fatalf("session: %+v", sess)
	}
	return orderID, sess.PaymentLinks.Web
}

// browserStatusIDs are Juspay's ids of the statuses the browser tests end in.
var browserStatusIDs = map[string]int{"CHARGED": 21, "AUTHENTICATION_FAILED": 26, "AUTHORIZATION_FAILED": 27}

// checkReturn checks one arrival on the merchant's /return: the signature
// verifies with the response key, it names the order and status, and the
// Order Status API agrees on status and status_id.
func (sh *browserShop) checkReturn(t *testing.T, r browserReturn, orderID, wantStatus string) {
	t.Helper()
	if err := browserVerifySignature(sh.creds.ResponseKey, r.RawQuery); err != nil {
		t.Errorf("return URL of %s: %v", orderID, err)
	}
	q := r.Query
	wantID := browserStatusIDs[wantStatus]
	if q.Get("order_id") != orderID || q.Get("status") != wantStatus || q.Get("status_id") != strconv.Itoa(wantID) {
		t.Errorf("return URL of %s: order_id %q, status %q, status_id %q; want %s/%d",
			orderID, q.Get("order_id"), q.Get("status"), q.Get("status_id"), wantStatus, wantID)
	}
	var o order
	sh.s.get(t, "/orders/"+url.PathEscape(orderID), basic(sh.creds.APIKey)).want(t, http.StatusOK).decode(t, &o)
	if o.OrderID != orderID || o.Status != q.Get("status") || strconv.Itoa(o.StatusID) != q.Get("status_id") {
		t.Errorf("Order Status API says %s %s/%d; the return URL said %s/%s",
			o.OrderID, o.Status, o.StatusID, q.Get("status"), q.Get("status_id"))
	}
}

// landOnReturn waits until the tab shows the merchant's /return page for
// orderID (reached through siteURL, the site's origin the return URL
// names), then checks what the merchant got there. It returns that arrival.
func (sh *browserShop) landOnReturn(t *testing.T, tb *browserTab, siteURL, orderID, wantStatus string) browserReturn {
	t.Helper()
	return sh.landOnReturnIn(t, tb, "window", siteURL, orderID, wantStatus)
}

// landOnReturnIn is landOnReturn for the window that the JavaScript
// expression win names in the tab's page, such as a frame of the merchant's
// origin (reading another origin's window throws until it gets there).
func (sh *browserShop) landOnReturnIn(t *testing.T, tb *browserTab, win, siteURL, orderID, wantStatus string) browserReturn {
	t.Helper()
	tb.do(t, browserUntil(`(function (w) { return w.location.origin + w.location.pathname === `+browserJS(siteURL+"/return")+
		` && new URLSearchParams(w.location.search).get("order_id") === `+browserJS(orderID)+
		` && w.document.getElementById("merchant-return"); })(`+win+`)`))
	// What the browser was sent to is what the merchant's server got.
	search := browserEval[string](t, tb, win+`.location.search`)
	var got *browserReturn
	for _, r := range sh.site.returnsFor(orderID) {
		if "?"+r.RawQuery == search {
			got = &r
		}
	}
	if got == nil {
		t.Fatalf("the merchant's site has no /return request with the browser's query %s", search)
	}
	sh.checkReturn(t, *got, orderID, wantStatus)
	return *got
}
