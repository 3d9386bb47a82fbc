package e2e_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// browserPayButton is the pay button of the form of a payment method type.
func browserPayButton(method string) chromedp.CSS {
	return chromedp.CSS(`form[data-method="` + method + `"] button[type="submit"]`)
}

// browserDecision is the sandbox page's button with this label (Approve, Fail).
func browserDecision(label string) string {
	return `//button[normalize-space()="` + label + `"]`
}

// browserDecide clicks Approve or Fail on the sandbox's 3-D Secure, bank or wallet
// page, and waits for the browser to leave it.
func browserDecide(t *testing.T, tb *browserTab, label string) {
	t.Helper()
	tb.do(t, chromedp.WaitVisible(browserDecision(label)))
	if loc := browserEval[string](t, tb, `location.pathname`); !strings.HasPrefix(loc, "/sandbox/") {
		t.Fatalf("at %s, want the sandbox's page", loc)
	}
	tb.do(t, chromedp.Click(browserDecision(label)))
	tb.within(t, 5*time.Second, "the shopper is stuck on the sandbox's page after clicking "+label, browserLeftSandbox)
}

// browserLeftSandbox waits until the tab is no longer on a sandbox page, or no
// longer there at all: a cross-site iframe that goes on to its parent's
// site stops being a target of its own.
func browserLeftSandbox(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
	gone, err := chromedp.Detached(ctx)
	if err != nil {
		return chromedp.Void{}, err
	}
	for {
		select {
		case <-gone:
			return chromedp.Void{}, nil
		default:
		}
		path, err := chromedp.Evaluate[string](`location.pathname`)(ctx, tg)
		if err == nil && !strings.HasPrefix(path, "/sandbox/") {
			return chromedp.Void{}, nil
		}
		select {
		case <-gone:
			return chromedp.Void{}, nil
		case <-ctx.Done():
			return chromedp.Void{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// browserType replaces what a text field holds as a shopper does: select all,
// delete, type.
func browserType(id, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Focus(chromedp.ID(id)),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.KeyEvent(kb.Backspace),
		chromedp.SendKeys(chromedp.ID(id), text),
	)
}

// browserFillCard picks the Card tab and types a card into the form: number,
// expiry, security code, name.
func browserFillCard(number string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitEnabled(browserPayButton("CARD")),
		chromedp.Click(chromedp.ID("sy-tab-CARD")),
		browserType("card_number", number),
		browserType("card_exp_month", "12"),
		browserType("card_exp_year", strconv.Itoa(time.Now().Year()%100+3)),
		browserType("card_security_code", "123"),
		browserType("name_on_card", "Asha Rao"),
	)
}

// browserStatusText is the text of the page's live status region.
const browserStatusText = `document.getElementById("sy-status").textContent`

// TestBrowserCheckout pays through the hosted checkout in a real Chromium
// against the whole server (on MySQL when SWITCHYARD_TEST_DATABASE_URL is
// set): every flow ends on the merchant's return URL, whose signature the
// merchant's side verifies, and the Order Status API agrees with it.
func TestBrowserCheckout(t *testing.T) {
	exe := browserExe(t)
	s := boot(t)
	bctx := browserStart(t, exe)
	site := newBrowserSite(t)

	t.Run("frictionless card", func(t *testing.T) {
		sh := newBrowserShop(t, s, site, "frictionless")
		// The merchant's own query parameters come back, signed too.
		orderID, link := sh.order(t, site.URL+"/return?ref=cart 42*~")
		tb := newBrowserTab(t, bctx)
		tb.do(t, chromedp.Navigate(link), browserFillCard("4242 4242 4242 4242"), chromedp.Click(browserPayButton("CARD")))
		r := sh.landOnReturn(t, tb, site.URL, orderID, "CHARGED")
		if got := r.Query.Get("ref"); got != "cart 42*~" {
			t.Errorf("the return URL's own parameter ref = %q, want %q", got, "cart 42*~")
		}
		tb.clean(t)
	})

	t.Run("3-D Secure approved", func(t *testing.T) {
		sh := newBrowserShop(t, s, site, "threeds")
		orderID, link := sh.order(t, "")
		// A second tab has the payment page of the same order open, as when
		// the shopper left it behind: its websocket hears the outcome.
		observer := newBrowserTab(t, bctx)
		observer.do(t, chromedp.Navigate(link), chromedp.WaitEnabled(browserPayButton("CARD")))
		browserWaitLive(t, observer, orderID, "NEW")

		payer := newBrowserTab(t, bctx)
		payer.do(t, chromedp.Navigate(link), browserFillCard("4000 0000 0000 3220"), chromedp.Click(browserPayButton("CARD")))
		browserDecide(t, payer, "Approve")
		sh.landOnReturn(t, payer, site.URL, orderID, "CHARGED")
		payer.clean(t)

		// The server committed and pushed CHARGED before it redirected:
		// the other tab's socket had it no later than the payer's browser
		// had the merchant's page.
		frame, msg, ok := observer.log.liveFrame(orderID, "CHARGED")
		if !ok {
			t.Fatalf("the observing page's websocket never got CHARGED")
		}
		if msg.StatusID != 21 || msg.TxnID == "" {
			t.Errorf("live message %+v", msg)
		}
		landed, ok := payer.log.find(func(e browserEvent) bool {
			return e.Kind == "response" && e.Document && strings.HasPrefix(e.URL, site.URL+"/return?")
		})
		if !ok {
			t.Fatalf("no response of the merchant's /return in the payer's tab")
		}
		if frame.At > landed.At {
			t.Errorf("CHARGED reached the other tab's websocket %.0f ms after the payer landed on the merchant's page",
				(frame.At-landed.At)*1000)
		}
		// And the left-behind page moves on by itself.
		sh.landOnReturn(t, observer, site.URL, orderID, "CHARGED")
		browserPushedBeforeLeaving(t, observer, site, orderID)
		observer.clean(t)
	})

	t.Run("3-D Secure failed, then another card", func(t *testing.T) {
		sh := newBrowserShop(t, s, site, "threedsfail")
		orderID, link := sh.order(t, "")
		tb := newBrowserTab(t, bctx)
		tb.do(t, chromedp.Navigate(link), browserFillCard("4000000000003220"), chromedp.Click(browserPayButton("CARD")))
		browserDecide(t, tb, "Fail")
		// A final failure goes back to the merchant, signed.
		sh.landOnReturn(t, tb, site.URL, orderID, "AUTHENTICATION_FAILED")

		// The order stays payable: the link shows why the attempt failed
		// and takes another card.
		tb.do(t, chromedp.Navigate(link), chromedp.WaitEnabled(browserPayButton("CARD")))
		if msg := browserEval[string](t, tb, browserStatusText); !strings.Contains(msg, "could not be authenticated") {
			t.Errorf("payment page after a failed authentication says %q", msg)
		}
		tb.do(t, browserFillCard("4242424242424242"), chromedp.Click(browserPayButton("CARD")))
		sh.landOnReturn(t, tb, site.URL, orderID, "CHARGED")
		tb.clean(t)
	})

	t.Run("declined card, then retry", func(t *testing.T) {
		sh := newBrowserShop(t, s, site, "declined")
		orderID, link := sh.order(t, "")
		tb := newBrowserTab(t, bctx)
		tb.do(t, chromedp.Navigate(link), browserFillCard("4000000000000002"), chromedp.Click(browserPayButton("CARD")),
			browserUntil(browserStatusText+`.indexOf("declined") >= 0`), chromedp.WaitEnabled(browserPayButton("CARD")))
		// The shopper stays on the page, told why; the merchant hears
		// nothing yet.
		if loc := browserEval[string](t, tb, `location.href`); loc != link {
			t.Errorf("after a decline the tab is at %s, want the payment page", loc)
		}
		if n := len(site.returnsFor(orderID)); n != 0 {
			t.Errorf("the merchant got %d returns after a decline that the shopper can retry", n)
		}
		var o struct {
			Status    string `json:"status"`
			StatusID  int    `json:"status_id"`
			TxnDetail struct {
				ErrorMessage string `json:"error_message"`
			} `json:"txn_detail"`
		}
		s.get(t, "/orders/"+orderID, basic(sh.creds.APIKey)).want(t, http.StatusOK).decode(t, &o)
		if o.Status != "AUTHORIZATION_FAILED" || o.StatusID != 27 {
			t.Errorf("Order Status API after the decline: %s/%d, want AUTHORIZATION_FAILED/27", o.Status, o.StatusID)
		}
		// The page gives the reason the API gives.
		msg := browserEval[string](t, tb, browserStatusText)
		if reason := o.TxnDetail.ErrorMessage; reason == "" || !strings.Contains(msg, reason) || !strings.Contains(msg, "not been charged") {
			t.Errorf("decline message %q, want it to say the shopper was not charged and why (%q)", msg, reason)
		}
		tb.do(t, browserFillCard("4242424242424242"), chromedp.Click(browserPayButton("CARD")))
		sh.landOnReturn(t, tb, site.URL, orderID, "CHARGED")
		tb.clean(t)
	})

	t.Run("netbanking", func(t *testing.T) {
		sh := newBrowserShop(t, s, site, "netbanking")
		orderID, link := sh.order(t, "")
		tb := newBrowserTab(t, bctx)
		tb.do(t, chromedp.Navigate(link), chromedp.WaitEnabled(browserPayButton("NB")),
			chromedp.Click(chromedp.ID("sy-tab-NB")),
			chromedp.SetValue(chromedp.ID("nb_bank"), "NB_ICICI"),
			chromedp.Click(browserPayButton("NB")),
			chromedp.WaitVisible(browserDecision("Approve")))
		if h := browserEval[string](t, tb, `document.querySelector("h1").textContent`); !strings.Contains(h, "ICICI") {
			t.Errorf("bank page heading %q, want the chosen bank", h)
		}
		browserDecide(t, tb, "Approve")
		sh.landOnReturn(t, tb, site.URL, orderID, "CHARGED")
		browserCheckMethod(t, sh, orderID, "NB", "NB_ICICI")
		tb.clean(t)
	})

	t.Run("wallet", func(t *testing.T) {
		sh := newBrowserShop(t, s, site, "wallet")
		orderID, link := sh.order(t, "")
		tb := newBrowserTab(t, bctx)
		tb.do(t, chromedp.Navigate(link), chromedp.WaitEnabled(browserPayButton("WALLET")),
			chromedp.Click(chromedp.ID("sy-tab-WALLET")),
			chromedp.Click(chromedp.CSS(`label[for="wallet_PHONEPE"]`)),
			chromedp.Click(browserPayButton("WALLET")),
			chromedp.WaitVisible(browserDecision("Approve")))
		if h := browserEval[string](t, tb, `document.querySelector("h1").textContent`); !strings.Contains(h, "PhonePe") {
			t.Errorf("wallet page heading %q, want the chosen wallet", h)
		}
		browserDecide(t, tb, "Approve")
		sh.landOnReturn(t, tb, site.URL, orderID, "CHARGED")
		browserCheckMethod(t, sh, orderID, "WALLET", "PHONEPE")
		tb.clean(t)
	})

	t.Run("UPI collect approved later", func(t *testing.T) {
		sh := newBrowserShop(t, s, site, "upi")
		// pending@upi is approved late, by the sandbox's webhook.
		sh.configureProcessor(t, `{"late_success_after_ms": 3000}`)
		orderID, link := sh.order(t, "")
		tb := newBrowserTab(t, bctx)
		tb.do(t, chromedp.Navigate(link), chromedp.WaitEnabled(browserPayButton("UPI")),
			chromedp.Click(chromedp.ID("sy-tab-UPI")),
			chromedp.SendKeys(chromedp.ID("upi_vpa"), "pending@upi"),
			chromedp.Click(chromedp.CSS(`button[value="UPI_COLLECT"]`)),
			browserUntil(`!document.getElementById("sy-wait").hidden`))
		if msg := browserEval[string](t, tb, `document.getElementById("sy-wait-message").textContent`); !strings.Contains(msg, "UPI app") {
			t.Errorf("waiting message %q", msg)
		}
		var o order
		s.get(t, "/orders/"+orderID, basic(sh.creds.APIKey)).want(t, http.StatusOK).decode(t, &o)
		if o.Status == "CHARGED" {
			t.Fatalf("the order is CHARGED while the page still waits: the approval came too early to test the push:%s", tb.log.summary())
		}
		sh.landOnReturn(t, tb, site.URL, orderID, "CHARGED")
		browserPushedBeforeLeaving(t, tb, site, orderID)
		tb.clean(t)
	})

	t.Run("phone viewport", func(t *testing.T) {
		sh := newBrowserShop(t, s, site, "phone")
		_, link := sh.order(t, "")
		tb := newBrowserTab(t, bctx)
		tb.do(t, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait, chromedp.EmulateScale(2)),
			chromedp.Navigate(link), chromedp.WaitEnabled(browserPayButton("CARD")))
		browserNoOverflow(t, tb, "card form")
		png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		path, err := filepath.Abs(filepath.Join("artifacts", "checkout-phone.png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("phone screenshot (360×740 CSS px, touch): %s", path)
		// Every instrument fits the screen, tapped like on a phone.
		for _, m := range []string{"UPI", "NB", "WALLET", "CARD"} {
			tb.do(t, chromedp.Tap(chromedp.ID("sy-tab-"+m)),
				browserUntil(`!document.getElementById("sy-panel-`+m+`").hidden`))
			browserNoOverflow(t, tb, m+" form")
		}
	})
}

// browserWaitLive waits until tab's websocket has received the order's current
// status, which the server sends once the socket is subscribed.
func browserWaitLive(t *testing.T, tb *browserTab, orderID, status string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, _, ok := tb.log.liveFrame(orderID, status); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page's websocket did not report %s for %s", status, orderID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// browserPushedBeforeLeaving checks, from the tab's network log, that the payment
// page learned of CHARGED from its websocket (no status poll before it) and
// only then went to the merchant's return URL.
func browserPushedBeforeLeaving(t *testing.T, tb *browserTab, site *browserSite, orderID string) {
	t.Helper()
	frame, msg, ok := tb.log.liveFrame(orderID, "CHARGED")
	if !ok {
		t.Fatalf("the page's websocket never received CHARGED for %s", orderID)
	}
	if msg.StatusID != 21 || msg.TxnID == "" || msg.At == "" {
		t.Errorf("live message %+v", msg)
	}
	leave, ok := tb.log.find(func(e browserEvent) bool {
		return e.Kind == "request" && e.Document && strings.HasPrefix(e.URL, site.URL+"/return?")
	})
	if !ok {
		t.Fatalf("no navigation to the merchant's /return in the tab's network log")
	}
	if frame.Seq > leave.Seq || frame.At > leave.At {
		t.Errorf("CHARGED arrived on the websocket (#%d, %.3f) after the page left for the merchant (#%d, %.3f):%s",
			frame.Seq, frame.At, leave.Seq, leave.At, tb.log.summary())
	}
	if poll, ok := tb.log.find(func(e browserEvent) bool {
		return e.Kind == "request" && strings.Contains(e.URL, "/sdk/v1/status") && e.Seq < frame.Seq
	}); ok {
		t.Errorf("the page polled %s before the push, so the push is not what moved it on:%s", poll.URL, tb.log.summary())
	}
}

// browserNoOverflow fails the test if the page is wider than its window.
func browserNoOverflow(t *testing.T, tb *browserTab, what string) {
	t.Helper()
	w := browserEval[[]int](t, tb, `[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]`)
	if w[0] > w[2] || w[1] > w[2] {
		t.Errorf("%s: the page is %d px (body %d px) wide in a %d px window", what, w[0], w[1], w[2])
	}
}

// browserCheckMethod checks the Order Status API's payment method of a paid order.
func browserCheckMethod(t *testing.T, sh *browserShop, orderID, methodType, method string) {
	t.Helper()
	var o struct {
		PaymentMethodType string `json:"payment_method_type"`
		PaymentMethod     string `json:"payment_method"`
	}
	sh.s.get(t, "/orders/"+url.PathEscape(orderID), basic(sh.creds.APIKey)).want(t, http.StatusOK).decode(t, &o)
	if o.PaymentMethodType != methodType || o.PaymentMethod != method {
		t.Errorf("Order Status API: payment_method_type %q, payment_method %q; want %s, %s",
			o.PaymentMethodType, o.PaymentMethod, methodType, method)
	}
}
