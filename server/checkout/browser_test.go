package checkout_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"switchyard/sdkapi"
	"switchyard/server/api"
	"switchyard/server/checkout"
	"switchyard/server/live"
	"switchyard/server/orchestrator"
	"switchyard/server/pay"
)

// chromePath finds a Chrome or Chromium binary: $SWITCHYARD_CHROME, else
// one on $PATH.
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

// withSDK mounts the SDK API and the live hub next to the checkout, as
// server/app does.
func withSDK(t *testing.T) harnessOption {
	return func(h *harness, svc *orchestrator.Service, cfg *checkout.Config) {
		hub := live.NewHub(live.Config{Log: slog.New(slog.DiscardHandler), Current: sdkapi.CurrentEvent(svc)})
		t.Cleanup(hub.Close)
		h.onChange = hub.Publish
		h.liveConns = hub.Connections
		sdk, err := sdkapi.NewServer(sdkapi.Config{Service: svc, Hub: hub, PublicURL: h.srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		h.extra = append(h.extra, api.Surface(sdk))
	}
}

// pageProbe runs in every page before its own scripts: it records CSP
// violations and stands in for the app bridges.
const pageProbe = `
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) { window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });
window.__bridge = [];
window.ReactNativeWebView = { postMessage: function (m) { window.__bridge.push(['rn', m]); } };
window.JSInterface = { onProcessResult: function (m) { window.__bridge.push(['android', m]); } };
window.webkit = { messageHandlers: { switchyard: { postMessage: function (m) { window.__bridge.push(['ios', JSON.stringify(m)]); } } } };
`

// browser starts a headless Chrome for the test (skipping it when there is
// none, or in -short mode) and returns a function giving each subtest a
// fresh tab with pageProbe installed.
func browser(t *testing.T) func(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
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
		t.Skipf("cannot start %s: %v", exe, err)
	}
	return func(t *testing.T) context.Context {
		tctx, cancelT := chromedp.NewContext(bctx)
		ctx, cancelTimeout := context.WithTimeout(tctx, 90*time.Second)
		t.Cleanup(func() { cancelTimeout(); cancelT() })
		// A small phone: headless Chrome's window has a larger minimum.
		do(t, ctx, chromedp.EmulateViewport(360, 740), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument,
				page.AddScriptToEvaluateOnNewDocumentParams{Source: pageProbe})
			return err
		}))
		return ctx
	}
}

// do runs steps, failing the test with where the page was.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		loc, _ := chromedp.Run(c, chromedp.Location())
		status, _ := chromedp.Run(c, chromedp.Evaluate[string](`((document.getElementById('sy-status')||{}).textContent||'') + ' | ' +
			Array.prototype.map.call(document.querySelectorAll('.field-error:not([hidden])'), function (e) { return e.id + ': ' + e.textContent; }).join('; ')`))
		t.Fatalf("browser: %v (at %s, status %q)", err, loc, status)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JS expression until it is truthy, across page
// navigations (which make a single evaluation fail).
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

const payButton = chromedp.CSS(`form[data-method="CARD"] button[type="submit"]`)

func fillCard(number string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitEnabled(payButton),
		chromedp.SendKeys(chromedp.ID("card_number"), number),
		chromedp.SendKeys(chromedp.ID("card_exp_month"), "12"),
		chromedp.SendKeys(chromedp.ID("card_exp_year"), strconv.Itoa(time.Now().Year()%100+3)),
		chromedp.SendKeys(chromedp.ID("card_security_code"), "123"),
	)
}

// checkPage checks what must hold on any payment page the test stops on:
// no CSP violation, nothing wider than the 360px screen.
func checkPage(t *testing.T, ctx context.Context) {
	t.Helper()
	if v := eval[[]string](t, ctx, `window.__csp`); len(v) > 0 {
		t.Errorf("CSP violations: %v", v)
	}
	if w := eval[bool](t, ctx, `document.documentElement.scrollWidth <= window.innerWidth`); !w {
		t.Errorf("the page is wider than the %dpx window", eval[int](t, ctx, `window.innerWidth`))
	}
}

// waitLive waits until n websockets are open; n = 0 lets the sockets of
// earlier subtests' tabs go, n > 0 also gives the page a moment to
// authenticate.
func (h *harness) waitLive(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for (n == 0) != (h.liveConns() == 0) || h.liveConns() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d websockets open, want %d", h.liveConns(), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n > 0 {
		time.Sleep(300 * time.Millisecond)
	}
}

// luhnComplete appends the check digit to prefix.
func luhnComplete(prefix string) string {
	sum := 0
	for i := len(prefix) - 1; i >= 0; i-- {
		d := int(prefix[i] - '0')
		if (len(prefix)-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return prefix + strconv.Itoa((10-sum%10)%10)
}

// TestBrowser drives the page's script in headless Chrome against the whole
// stack: SDK API, live websocket, sandbox gateway and its ACS page.
func TestBrowser(t *testing.T) {
	tab := browser(t)
	h := newHarness(t, withSDK(t))
	demo := h.merchant("demo", h.srv.URL+"/demo/result")
	bare := h.merchant("bare", "")
	n := 0
	newOrder := func(m *pay.Merchant) *pay.Order {
		n++
		return h.order(m, pay.OrderInput{OrderID: "br_" + strconv.Itoa(n)})
	}
	atResult := func(t *testing.T, ctx context.Context, wantStatus string) {
		t.Helper()
		do(t, ctx, waitFor(`location.pathname === "/demo/result" && document.getElementById("sy-signature")`))
		if v := eval[string](t, ctx, `document.getElementById("sy-signature").textContent`); !strings.Contains(v, "Signature verified") {
			t.Errorf("result page: %q", v)
		}
		if q := eval[string](t, ctx, `new URLSearchParams(location.search).get("status")`); q != wantStatus {
			t.Errorf("result status %q, want %s", q, wantStatus)
		}
	}

	t.Run("card succeeds and returns to the merchant", func(t *testing.T) {
		ctx := tab(t)
		o := newOrder(demo.m)
		do(t, ctx, chromedp.Navigate(h.srv.URL+"/pay/"+o.ID), fillCard("4242 4242 4242 4242"))
		checkPage(t, ctx)
		do(t, ctx, chromedp.Click(payButton))
		atResult(t, ctx, "CHARGED")
	})

	t.Run("3-D Secure through the ACS page", func(t *testing.T) {
		ctx := tab(t)
		o := newOrder(demo.m)
		do(t, ctx, chromedp.Navigate(h.srv.URL+"/pay/"+o.ID), fillCard("4000000000003220"), chromedp.Click(payButton),
			chromedp.WaitVisible(chromedp.CSS(`button[value="approve"]`)),
			chromedp.Click(chromedp.CSS(`button[value="approve"]`)))
		atResult(t, ctx, "CHARGED")
	})

	t.Run("decline, then retry", func(t *testing.T) {
		ctx := tab(t)
		o := newOrder(bare.m)
		do(t, ctx, chromedp.Navigate(h.srv.URL+"/pay/"+o.ID), fillCard("4000000000000002"), chromedp.Click(payButton),
			waitFor(`document.getElementById("sy-status").textContent.indexOf("declined") >= 0`),
			chromedp.WaitEnabled(payButton))
		checkPage(t, ctx)
		if v := eval[string](t, ctx, `document.getElementById("card_security_code").value`); v != "" {
			t.Errorf("the security code stayed in the form after the attempt")
		}
		if v := eval[bool](t, ctx, `!document.getElementById("sy-methods").hidden && !document.querySelector('[data-method="UPI"][role="tab"]').disabled`); !v {
			t.Errorf("instruments not available after a decline")
		}
		var evt struct {
			Event   string            `json:"event"`
			Payload map[string]string `json:"payload"`
		}
		if msgs := eval[[][]string](t, ctx, `window.__bridge`); len(msgs) != 3 {
			t.Errorf("bridge messages after a decline: %v", msgs)
		} else if err := json.Unmarshal([]byte(msgs[0][1]), &evt); err != nil || evt.Event != "process_result" || evt.Payload["status"] != "authorization_failed" {
			t.Errorf("bridge message %s", msgs[0][1])
		}
		do(t, ctx, chromedp.SetValue(chromedp.ID("card_number"), "4242424242424242"),
			chromedp.SendKeys(chromedp.ID("card_security_code"), "123"), chromedp.Click(payButton),
			waitFor(`!document.getElementById("sy-done").hidden`))
		checkPage(t, ctx)
		txns, err := h.svc.OrderTxns(context.Background(), o)
		if err != nil || len(txns) != 2 || txns[1].Status != pay.StatusCharged {
			t.Errorf("txns after retry: %v", err)
		}
	})

	t.Run("bridges get process_result", func(t *testing.T) {
		ctx := tab(t)
		o := newOrder(bare.m)
		do(t, ctx, chromedp.Navigate(h.srv.URL+"/pay/"+o.ID), fillCard("4242424242424242"), chromedp.Click(payButton),
			waitFor(`!document.getElementById("sy-done").hidden && window.__bridge.length === 3`))
		msgs := eval[[][]string](t, ctx, `window.__bridge`)
		for i, want := range []string{"rn", "android", "ios"} {
			var evt struct {
				Event   string            `json:"event"`
				Payload map[string]string `json:"payload"`
			}
			if msgs[i][0] != want || json.Unmarshal([]byte(msgs[i][1]), &evt) != nil || evt.Event != "process_result" ||
				evt.Payload["status"] != "charged" || evt.Payload["order_id"] != o.OrderID || evt.Payload["txn_id"] == "" {
				t.Errorf("bridge message %d: %v", i, msgs[i])
			}
		}
		if s := eval[string](t, ctx, `document.getElementById("sy-status").textContent`); !strings.Contains(s, "Payment successful") {
			t.Errorf("status %q", s)
		}
		checkPage(t, ctx)
	})

	t.Run("client-side validation", func(t *testing.T) {
		ctx := tab(t)
		o := newOrder(bare.m)
		do(t, ctx, chromedp.Navigate(h.srv.URL+"/pay/"+o.ID), fillCard("4242424242424241"), chromedp.Click(payButton),
			waitFor(`!document.getElementById("card_number-error").hidden`))
		if v := eval[string](t, ctx, `document.getElementById("card_number").getAttribute("aria-invalid")`); v != "true" {
			t.Errorf("aria-invalid %q", v)
		}
		if v := eval[string](t, ctx, `document.activeElement.id`); v != "card_number" {
			t.Errorf("focus on %q, want the card number", v)
		}
		// Typing clears the message.
		do(t, ctx, chromedp.SendKeys(chromedp.ID("card_number"), "0"), waitFor(`document.getElementById("card_number-error").hidden`))
		if txns, _ := h.svc.OrderTxns(context.Background(), o); len(txns) != 0 {
			t.Errorf("an invalid card reached the server")
		}
	})

	t.Run("server validation shows next to the field", func(t *testing.T) {
		ctx := tab(t)
		o := newOrder(bare.m)
		// Passes the checksum; no network the server knows.
		do(t, ctx, chromedp.Navigate(h.srv.URL+"/pay/"+o.ID), fillCard(luhnComplete("999999999999999")), chromedp.Click(payButton),
			waitFor(`!document.getElementById("card_number-error").hidden`))
		if v := eval[string](t, ctx, `document.getElementById("card_number-error").textContent`); !strings.Contains(v, "not supported") {
			t.Errorf("card number error %q", v)
		}
		checkPage(t, ctx)
	})

	t.Run("tabs work from the keyboard", func(t *testing.T) {
		ctx := tab(t)
		o := newOrder(bare.m)
		do(t, ctx, chromedp.Navigate(h.srv.URL+"/pay/"+o.ID), chromedp.WaitEnabled(payButton),
			chromedp.Focus(chromedp.ID("sy-tab-CARD")), chromedp.SendKeys(chromedp.ID("sy-tab-CARD"), kb.ArrowRight))
		if v := eval[bool](t, ctx, `document.activeElement.id === "sy-tab-UPI" && document.getElementById("sy-tab-UPI").getAttribute("aria-selected") === "true" && !document.getElementById("sy-panel-UPI").hidden && document.getElementById("sy-panel-CARD").hidden`); !v {
			t.Errorf("ArrowRight did not move to the UPI tab")
		}
		do(t, ctx, chromedp.SendKeys(chromedp.ID("sy-tab-UPI"), kb.End))
		if v := eval[string](t, ctx, `document.activeElement.getAttribute("data-method")`); v != "WALLET" {
			t.Errorf("End moved to %q", v)
		}
	})

	t.Run("UPI collect waits, then moves on by itself", func(t *testing.T) {
		ctx := tab(t)
		o := newOrder(demo.m)
		do(t, ctx, chromedp.Navigate(h.srv.URL+"/pay/"+o.ID), chromedp.WaitEnabled(payButton),
			chromedp.Click(chromedp.ID("sy-tab-UPI")),
			chromedp.SendKeys(chromedp.ID("upi_vpa"), "success@upi"),
			chromedp.Click(chromedp.CSS(`button[value="UPI_COLLECT"]`)),
			waitFor(`!document.getElementById("sy-wait").hidden`))
		if v := eval[string](t, ctx, `document.getElementById("sy-countdown").textContent`); !strings.HasPrefix(v, "4:") && v != "5:00" {
			t.Errorf("countdown %q", v)
		}
		if v := eval[string](t, ctx, `document.getElementById("sy-wait-message").textContent`); !strings.Contains(v, "UPI app") {
			t.Errorf("wait message %q", v)
		}
		checkPage(t, ctx)
		atResult(t, ctx, "CHARGED")
	})

	t.Run("UPI intent shows the app link", func(t *testing.T) {
		ctx := tab(t)
		o := newOrder(demo.m)
		do(t, ctx, chromedp.Navigate(h.srv.URL+"/pay/"+o.ID), chromedp.WaitEnabled(payButton),
			chromedp.Click(chromedp.ID("sy-tab-UPI")),
			chromedp.Click(chromedp.CSS(`button[value="UPI_PAY"]`)),
			waitFor(`!document.getElementById("sy-intent").hidden`))
		if v := eval[string](t, ctx, `document.getElementById("sy-intent").getAttribute("href")`); !strings.HasPrefix(v, "upi://") {
			t.Errorf("intent link %q", v)
		}
		atResult(t, ctx, "CHARGED")
	})

	t.Run("a payment finished elsewhere moves the page on", func(t *testing.T) {
		ctx := tab(t)
		o := newOrder(demo.m)
		h.waitLive(t, 0)
		do(t, ctx, chromedp.Navigate(h.srv.URL+"/pay/"+o.ID), chromedp.WaitEnabled(payButton))
		h.waitLive(t, 1)
		// Another tab pays through 3-D Secure.
		out := h.startTxn(demo.m, o, card("4000000000003220"))
		r := h.postForm(out.Next.URL, map[string][]string{"decision": {"approve"}})
		resultPage(t, h.get(r.location()), "CHARGED")
		atResult(t, ctx, "CHARGED")
	})

	t.Run("iframe via switchyard.js reports to the merchant page", func(t *testing.T) {
		sdkJS, err := os.ReadFile("../../web/switchyard.js")
		if err != nil {
			t.Fatal(err)
		}
		// The merchant's site: another origin (localhost, not 127.0.0.1).
		shopSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/switchyard.js":
				w.Header().Set("Content-Type", "text/javascript")
				w.Write(sdkJS)
			case "/":
				w.Header().Set("Content-Type", "text/html")
				fmt.Fprintf(w, `<!doctype html><div id="pay"></div><script src="/switchyard.js"></script><script>
window.__results = [];
Switchyard.open({paymentLink: %q, mode: "iframe", container: "#pay",
  onResult: function (r) { window.__results.push(r); }});
</script>`, r.URL.Query().Get("link"))
			default:
				fmt.Fprint(w, "merchant return page")
			}
		}))
		l, err := net.Listen("tcp", "localhost:0")
		if err != nil {
			t.Skipf("no localhost listener: %v", err)
		}
		shopSrv.Listener = l
		shopSrv.Start()
		defer shopSrv.Close()
		shopURL := "http://localhost:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		framed := h.merchant("framed", shopURL+"/return")
		o := h.order(framed.m, pay.OrderInput{OrderID: "br_framed"})

		ctx := tab(t)
		link := h.srv.URL + "/pay/" + o.ID
		h.waitLive(t, 0)
		do(t, ctx, chromedp.Navigate(shopURL+"/?link="+url.QueryEscape(link)),
			waitFor(`document.querySelector("#pay iframe")`))
		if src := eval[string](t, ctx, `document.querySelector("#pay iframe").src`); src != link+"?iframe=true" {
			t.Errorf("iframe src %q", src)
		}
		// Once the framed page listens, pay from elsewhere: the framed
		// page hears it and tells its parent.
		h.waitLive(t, 1)
		out := h.startTxn(framed.m, o, card("4242424242424242"))
		if out.Txn.Status != pay.StatusCharged {
			t.Fatalf("txn %s", out.Txn.Status)
		}
		do(t, ctx, waitFor(`window.__results.length > 0`))
		res := eval[[]map[string]string](t, ctx, `window.__results`)
		if res[0]["status"] != "charged" || res[0]["order_id"] != "br_framed" || !strings.HasPrefix(res[0]["return_url"], shopURL+"/return?") {
			t.Errorf("onResult got %v", res)
		}
	})

	t.Run("the finish page waits for a server-to-server txn", func(t *testing.T) {
		r := h.do(http.MethodPut, "/sandbox/v1/processors/A", strings.NewReader(`{"late_success_after_ms": 2000}`),
			http.Header{"Authorization": {"Bearer " + adminToken}, "Content-Type": {"application/json"}})
		if r.Code != http.StatusOK {
			t.Fatalf("configuring the sandbox: %d %s", r.Code, r.Body)
		}
		ctx := tab(t)
		o := newOrder(demo.m)
		out := h.startTxn(demo.m, o, pay.TxnInput{PaymentMethodType: pay.MethodUPI, TxnType: "UPI_COLLECT", UPIVPA: "pending@upi"})
		do(t, ctx, chromedp.Navigate(out.Next.URL), waitFor(`document.getElementById("sy-wait")`))
		checkPage(t, ctx)
		atResult(t, ctx, "CHARGED")
	})
}
