package e2e_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestDashboardKeyboard: from the top of a page, Tab reaches the skip link, then the
// nav in reading order, then the page's first field; the skip link moves
// focus to the main content.
func TestDashboardKeyboard(t *testing.T) {
	exe := browserExe(t)
	h := newDashHarness(t)
	tab := dashBrowser(t, exe)
	shop := h.createMerchant("shop_keys")
	ctx := tab(t)
	h.loginBrowser(t, ctx, shop)
	dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/settings"), dashWaitPath("/dashboard/settings"))
	var order []string
	for range 11 {
		dashDo(t, ctx, chromedp.KeyEvent(kb.Tab))
		order = append(order, dashEval[string](t, ctx, `(function (e) { return (e.id || e.textContent.trim()).replace(/\s+/g, ' '); })(document.activeElement)`))
	}
	want := []string{"Skip to content", "Orders", "Analytics", "Payment methods", "Gateways", "Routing", "Developers", "Settings", "Logout", "name", "payment_redirect_url"}
	if strings.Join(order, "|") != strings.Join(want, "|") {
		t.Errorf("focus order\n got %v\nwant %v", order, want)
	}
	dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/settings"), dashWaitPath("/dashboard/settings"),
		chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter), browserUntil(`document.activeElement.id === "main"`))
	dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/settings"), dashWaitPath("/dashboard/settings"), chromedp.KeyEvent(kb.Tab))
	if !dashEval[bool](t, ctx, `(function (r) { return r.left >= 0 && r.top >= 0 && r.width > 10; })(document.querySelector('.skip-link').getBoundingClientRect())`) {
		t.Errorf("the focused skip link is not visible")
	}
}
