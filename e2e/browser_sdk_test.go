package e2e_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// browserSDKResult is what switchyard.js hands the merchant's onResult.
type browserSDKResult struct {
	Status    string `json:"status"`
	OrderID   string `json:"order_id"`
	TxnID     string `json:"txn_id"`
	ReturnURL string `json:"return_url"`
}

// TestBrowserSDK embeds the hosted checkout in a merchant's page with the
// web SDK (web/switchyard.js), in iframe and popup modes, from another site
// (localhost, where Switchyard is 127.0.0.1): the shopper pays inside the
// frame or the popup, and the merchant page's onResult gets "charged" from
// the checkout's origin only.
func TestBrowserSDK(t *testing.T) {
	exe := browserExe(t)
	s := boot(t)
	bctx := browserStart(t, exe)
	site := newBrowserSite(t)
	// The shop page is on localhost: an allowed return host, so the
	// checkout may be framed by it and posts its result to it.
	sh := newBrowserShop(t, s, site, "embedded", "localhost")
	returnURL := site.LocalhostURL + "/return"

	// shopPageFor opens the merchant's page for a payment link in a mode.
	shopPageFor := func(t *testing.T, link, mode string) *browserTab {
		t.Helper()
		tb := newBrowserTab(t, bctx)
		tb.do(t, chromedp.Navigate(site.LocalhostURL+"/shop?mode="+mode+"&link="+url.QueryEscape(link)),
			browserUntil(`window.Switchyard && window.__results`))
		return tb
	}
	// checkResult waits for onResult and checks it reported the order
	// charged, with the signed return URL, and nothing else: not the
	// forged result (browserForge) from another origin than the checkout's.
	checkResult := func(t *testing.T, tb *browserTab, orderID string) {
		t.Helper()
		tb.do(t, browserUntil(`window.__results.length > 0`))
		res := browserEval[[]browserSDKResult](t, tb, `window.__results`)
		if len(res) != 1 || res[0].Status != "charged" || res[0].OrderID != orderID || res[0].TxnID == "" {
			t.Fatalf("onResult got %+v, want one charged result for %s", res, orderID)
		}
		r := res[0]
		if !strings.HasPrefix(r.ReturnURL, returnURL+"?") {
			t.Errorf("result return_url %q, want the order's return URL %s", r.ReturnURL, returnURL)
		} else if err := browserVerifySignature(sh.creds.ResponseKey, strings.TrimPrefix(r.ReturnURL, returnURL+"?")); err != nil {
			t.Errorf("result return_url: %v", err)
		}
	}

	t.Run("iframe", func(t *testing.T) {
		orderID, link := sh.order(t, returnURL)
		tb := shopPageFor(t, link, "iframe")
		tb.do(t, browserUntil(`document.querySelector("#pay iframe")`), browserForge)
		if src := browserEval[string](t, tb, `document.querySelector("#pay iframe").src`); src != link+"?iframe=true" {
			t.Errorf("iframe src %q, want %s?iframe=true", src, link)
		}
		// The frame is another site's: Chromium runs it as a target of
		// its own, where the shopper's typing and clicks go.
		frame := browserAttach(t, bctx, tb, "iframe", link)
		frame.do(t, browserFillCard("4242424242424242"), chromedp.Click(browserPayButton("CARD")))
		checkResult(t, tb, orderID)
		// Then the frame goes on to the merchant's return URL, on the shop
		// page's own origin.
		sh.landOnReturnIn(t, tb, `document.querySelector("#pay iframe").contentWindow`, site.LocalhostURL, orderID, "CHARGED")
	})

	t.Run("popup", func(t *testing.T) {
		orderID, link := sh.order(t, returnURL)
		tb := shopPageFor(t, link, "popup")
		popup := browserOpenPopup(t, bctx, tb, link)
		tb.do(t, browserForge)
		popup.do(t, chromedp.WaitEnabled(browserPayButton("UPI")),
			chromedp.Click(chromedp.ID("sy-tab-UPI")),
			chromedp.SendKeys(chromedp.ID("upi_vpa"), "success@upi"),
			chromedp.Click(chromedp.CSS(`button[value="UPI_COLLECT"]`)))
		checkResult(t, tb, orderID)
		sh.landOnReturn(t, popup, site.LocalhostURL, orderID, "CHARGED")
		browserClosePopup(t, tb, popup)
	})

	// The same with a payment that leaves the checkout page for the
	// bank's: the merchant's page must still hear how it ended.
	t.Run("popup, 3-D Secure", func(t *testing.T) {
		orderID, link := sh.order(t, returnURL)
		tb := shopPageFor(t, link, "popup")
		popup := browserOpenPopup(t, bctx, tb, link)
		popup.do(t, browserFillCard("4000000000003220"), chromedp.Click(browserPayButton("CARD")))
		browserDecide(t, popup, "Approve")
		sh.landOnReturn(t, popup, site.LocalhostURL, orderID, "CHARGED")
		tb.within(t, 5*time.Second, "onResult heard nothing of a 3-D Secure payment made in the popup, now CHARGED",
			browserUntil(`window.__results.length > 0`))
		checkResult(t, tb, orderID)
		browserClosePopup(t, tb, popup)
	})

	t.Run("iframe, 3-D Secure", func(t *testing.T) {
		orderID, link := sh.order(t, returnURL)
		tb := shopPageFor(t, link, "iframe")
		tb.do(t, browserUntil(`document.querySelector("#pay iframe")`))
		frame := browserAttach(t, bctx, tb, "iframe", link)
		frame.do(t, browserFillCard("4000000000003220"), chromedp.Click(browserPayButton("CARD")))
		if err := frame.tryWithin(6*time.Second, chromedp.WaitVisible(browserDecision("Approve"))); err != nil {
			// Chromium tells the embedding page why it refused the frame.
			t.Fatalf("the sandbox's 3-D Secure page did not show in the merchant's iframe (%v)%s%s",
				err, frame.log.errors(), tb.log.errors())
		}
		browserDecide(t, frame, "Approve")
		tb.within(t, 5*time.Second, "onResult heard nothing of a 3-D Secure payment made in the iframe",
			browserUntil(`window.__results.length > 0`))
		checkResult(t, tb, orderID)
		sh.landOnReturnIn(t, tb, `document.querySelector("#pay iframe").contentWindow`, site.LocalhostURL, orderID, "CHARGED")
	})
}

// browserForge posts the shop page a result of the right shape from its own
// origin, which switchyard.js must not pass on.
var browserForge = chromedp.Evaluate[chromedp.Void](`window.postMessage({event: "process_result",
	payload: {status: "charged", order_id: "forged", txn_id: "forged", return_url: ""}}, "*")`)

// browserOpenPopup clicks the shop page's pay button and returns the popup that
// switchyard.js opens on link.
func browserOpenPopup(t *testing.T, bctx context.Context, tb *browserTab, link string) *browserTab {
	t.Helper()
	opened := chromedp.WaitNewTarget(tb.ctx, func(i *target.Info) bool { return strings.HasPrefix(i.URL, link) })
	tb.do(t, chromedp.Click(chromedp.ID("pay-now")))
	select {
	case id, ok := <-opened:
		if ok {
			return newBrowserTab(t, bctx, chromedp.WithTargetID(id))
		}
	case <-time.After(20 * time.Second):
	}
	t.Fatalf("no popup opened on %s", link)
	return nil
}

// browserClosePopup closes the popup as the shopper would after paying, and checks
// switchyard.js does not then report the paid order as aborted.
func browserClosePopup(t *testing.T, tb, popup *browserTab) {
	t.Helper()
	if err := chromedp.Cancel(popup.ctx); err != nil {
		t.Logf("closing the popup: %v", err)
	}
	// switchyard.js looks every 500 ms.
	tb.do(t, browserUntil(`window.__handle.window.closed`), chromedp.Sleep(time.Second))
	if res := browserEval[[]browserSDKResult](t, tb, `window.__results`); len(res) != 1 || res[0].Status != "charged" {
		t.Errorf("onResult calls after the shopper closed the popup of a paid order: %+v", res)
	}
}

// browserAttach returns the target of kind ("iframe", "page") whose URL starts
// with prefix, in the browser of bctx and tb, as a tab to drive.
func browserAttach(t *testing.T, bctx context.Context, tb *browserTab, kind, prefix string) *browserTab {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		infos, err := chromedp.Targets(tb.ctx)
		if err != nil {
			t.Fatalf("listing targets: %v", err)
		}
		for _, i := range infos {
			if i.Type == kind && strings.HasPrefix(i.URL, prefix) {
				return newBrowserTab(t, bctx, chromedp.WithTargetID(i.TargetID))
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s target at %s", kind, prefix)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
