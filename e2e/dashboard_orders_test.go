package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Sandbox test cards (DESIGN §8).
const (
	dashCardSuccess  = "4242424242424242"
	dashCardDeclined = "4000000000000002"
)

// pay pays order orderID over the merchant API (POST /txns) with card and
// returns the resulting txn status.
func (h *dashHarness) pay(c credentials, orderID, card string) string {
	h.t.Helper()
	var out struct {
		Status string `json:"status"`
	}
	h.merchantAPI(c.APIKey, http.MethodPost, "/txns", url.Values{
		"order_id": {orderID}, "payment_method_type": {"CARD"}, "card_number": {card},
		"card_exp_month": {"12"}, "card_exp_year": {strconv.Itoa(time.Now().Year() + 3)},
		"card_security_code": {"123"}, "name_on_card": {"Dash Test"}, "format": {"json"},
	}).want(h.t, http.StatusOK).decode(h.t, &out)
	return out.Status
}

// dashOrderStatus is the part of GET /orders/{id} these tests read.
type dashOrderStatus struct {
	Status         string      `json:"status"`
	AmountRefunded json.Number `json:"amount_refunded"`
	Refunds        []struct {
		UniqueRequestID string      `json:"unique_request_id"`
		Amount          json.Number `json:"amount"`
		Status          string      `json:"status"`
		InitiatedBy     string      `json:"initiated_by"`
	} `json:"refunds"`
}

func (h *dashHarness) orderStatus(c credentials, orderID string) dashOrderStatus {
	h.t.Helper()
	var o dashOrderStatus
	h.merchantAPI(c.APIKey, http.MethodGet, "/orders/"+orderID, nil).want(h.t, http.StatusOK).decode(h.t, &o)
	return o
}

// dashArtifactsDir is where tests leave files for people to look at:
// $SWITCHYARD_ARTIFACTS, else switchyard-artifacts in the temp dir.
func dashArtifactsDir(t *testing.T) string {
	dir := os.Getenv("SWITCHYARD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "switchyard-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// dashScreenshot saves the whole page as name in the artifacts directory.
func dashScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dashArtifactsDir(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// The orders and analytics pages in a real browser at phone width: search
// an order and open it, refund from its page, and watch analytics follow a
// new payment without a reload.
func TestDashboardOrdersAndAnalyticsInBrowser(t *testing.T) {
	exe := browserExe(t)
	h := newDashHarness(t)
	shop := h.createMerchant("shop_orders")
	other := h.createMerchant("shop_other")
	h.createOrder(shop, "ord_paid_1", "100.00")
	h.createOrder(shop, "ord_declined_1", "25.50")
	h.createOrder(shop, "ord_new_1", "10.00")
	h.createOrder(other, "ord_paid_2", "70.00")
	if st := h.pay(shop, "ord_paid_1", dashCardSuccess); st != "CHARGED" {
		t.Fatalf("paying ord_paid_1: %s", st)
	}
	declined := h.pay(shop, "ord_declined_1", dashCardDeclined)
	if declined == "CHARGED" || declined == "" {
		t.Fatalf("paying ord_declined_1 with the declined card: %s", declined)
	}
	h.pay(other, "ord_paid_2", dashCardSuccess)
	tab := dashBrowser(t, exe)

	t.Run("search an order by id and open it", func(t *testing.T) {
		ctx := tab(t)
		h.loginBrowser(t, ctx, shop)
		dashCheckPage(t, ctx)
		// The home page lists the merchant's orders, and only its own.
		listed := dashEval[[]string](t, ctx, `Array.from(document.querySelectorAll('#orders-table tbody tr')).map(r => r.dataset.orderId)`)
		if strings.Join(listed, " ") != "ord_new_1 ord_declined_1 ord_paid_1" {
			t.Fatalf("orders listed: %v", listed)
		}
		dashDo(t, ctx, chromedp.SendKeys(chromedp.ID("q"), "ord_pa"), dashSubmit(`.order-search button[type="submit"]`, "/dashboard/orders"))
		dashCheckPage(t, ctx)
		listed = dashEval[[]string](t, ctx, `Array.from(document.querySelectorAll('#orders-table tbody tr')).map(r => r.dataset.orderId)`)
		if len(listed) != 1 || listed[0] != "ord_paid_1" {
			t.Fatalf("search ord_pa found %v, want ord_paid_1 only", listed)
		}
		if row := dashEval[string](t, ctx, `document.querySelector('#orders-table tbody tr').innerText`); !strings.Contains(row, "CHARGED") ||
			!strings.Contains(row, "100.00 INR") || !strings.Contains(row, "sandbox_a") || !strings.Contains(row, "4242") {
			t.Errorf("row of ord_paid_1: %q", row)
		}
		dashDo(t, ctx, dashSubmit(`#orders-table a`, "/dashboard/orders/ord_paid_1"))
		dashCheckPage(t, ctx)
		if got := dashEval[string](t, ctx, `document.getElementById('order-status').textContent`); got != "CHARGED" {
			t.Errorf("order status %q", got)
		}
		timeline := dashEval[string](t, ctx, `document.getElementById('txn-timeline').innerText`)
		for _, want := range []string{"Attempt 1", "CHARGED", "shop_orders-ord_paid_1-1", "Routing decision", "sandbox_a", "Gateway calls"} {
			if !strings.Contains(timeline, want) {
				t.Errorf("timeline lacks %q:\n%s", want, timeline)
			}
		}
		if n := dashEval[int](t, ctx, `document.querySelectorAll('#webhook-events > li').length`); n < 2 {
			t.Errorf("%d webhook events on the order, want its TXN_CREATED and ORDER_SUCCEEDED", n)
		}

		// Filters: the declined order by its status; nothing by another
		// gateway.
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/orders?status="+url.QueryEscape(declined)), dashWaitPath("/dashboard/orders"))
		listed = dashEval[[]string](t, ctx, `Array.from(document.querySelectorAll('#orders-table tbody tr')).map(r => r.dataset.orderId)`)
		if len(listed) != 1 || listed[0] != "ord_declined_1" {
			t.Errorf("status %s lists %v", declined, listed)
		}
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/orders?method=UPI"), dashWaitPath("/dashboard/orders"),
			browserUntil(`document.getElementById('orders-empty')`))
		// Another merchant's order id in the URL: not found, as if it did
		// not exist.
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/orders/ord_paid_2"), dashWaitPath("/dashboard/orders/ord_paid_2"))
		if title := dashEval[string](t, ctx, `document.querySelector('h1').textContent`); title != "Not found" {
			t.Errorf("another merchant's order shows %q", title)
		}
		dashCheckPage(t, ctx)
	})

	t.Run("refund from the detail page", func(t *testing.T) {
		ctx := tab(t)
		h.loginBrowser(t, ctx, shop)
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/orders/ord_paid_1"), dashWaitPath("/dashboard/orders/ord_paid_1"))
		if v := dashEval[string](t, ctx, `document.getElementById('amount').value`); v != "100.00" {
			t.Errorf("refund amount prefilled with %q, want everything refundable", v)
		}
		// Too much: refused next to the field, nothing refunded.
		dashDo(t, ctx, chromedp.SetValue(chromedp.ID("amount"), "150.00"), dashSubmit(`#refund-form button[type="submit"]`, "/dashboard/orders/ord_paid_1/refunds"))
		dashCheckPage(t, ctx)
		if msg := dashEval[string](t, ctx, `(document.getElementById('amount-error')||{}).textContent||''`); !strings.Contains(msg, "at most 100") {
			t.Errorf("over-refund message %q, want the refundable amount", msg)
		}
		if dashEval[string](t, ctx, `document.getElementById('amount').getAttribute('aria-invalid')`) != "true" {
			t.Error("refused amount not marked aria-invalid")
		}
		if o := h.orderStatus(shop, "ord_paid_1"); len(o.Refunds) != 0 {
			t.Fatalf("refused refund created refunds: %+v", o.Refunds)
		}
		dashDo(t, ctx, chromedp.SetValue(chromedp.ID("amount"), "40.00"), dashSubmit(`#refund-form button[type="submit"]`, "/dashboard/orders/ord_paid_1"))
		dashCheckPage(t, ctx)
		if flash := dashEval[string](t, ctx, `document.querySelector('.dash-flash').textContent`); !strings.Contains(flash, "40.00 INR") {
			t.Errorf("flash after refund: %q", flash)
		}
		rows := dashEval[string](t, ctx, `document.getElementById('refunds-table').innerText`)
		if !strings.Contains(rows, "40.00 INR") || !strings.Contains(rows, "DASHBOARD") {
			t.Errorf("refunds on the page: %q", rows)
		}
		o := h.orderStatus(shop, "ord_paid_1")
		if len(o.Refunds) != 1 || o.Refunds[0].Amount.String() != "40" && o.Refunds[0].Amount.String() != "40.00" ||
			o.Refunds[0].InitiatedBy != "DASHBOARD" || !strings.HasPrefix(o.Refunds[0].UniqueRequestID, "dash_") {
			t.Fatalf("refunds in GET /orders/ord_paid_1: %+v", o.Refunds)
		}
		if !strings.Contains(rows, o.Refunds[0].Status) {
			t.Errorf("page shows %q, API says refund is %s", rows, o.Refunds[0].Status)
		}
		if v := dashEval[string](t, ctx, `document.getElementById('amount').value`); v != "60.00" {
			t.Errorf("refundable after refunding 40.00: %q, want 60.00", v)
		}
		dashScreenshot(t, ctx, "dashboard-order.png")
	})

	t.Run("analytics update live", func(t *testing.T) {
		ctx := tab(t)
		h.loginBrowser(t, ctx, shop)
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/analytics?range=1h"), dashWaitPath("/dashboard/analytics"),
			browserUntil(`document.getElementById('analytics-live-status').dataset.live === 'on'`))
		dashCheckPage(t, ctx)
		total := func(chart, series string) string {
			return dashEval[string](t, ctx, `(document.querySelector('#`+chart+` g[data-series="`+series+`"]')||{dataset:{}}).dataset.total||''`)
		}
		// ord_paid_1 (charged) and ord_declined_1: two attempts at
		// sandbox_a, by card; the other merchant's payment is not here.
		if got := total("volume-by-gateway", "sandbox_a"); got != "2" {
			t.Errorf("volume chart total for sandbox_a %q, want 2", got)
		}
		if got := total("volume-by-method", "CARD"); got != "2" {
			t.Errorf("volume chart total for CARD %q, want 2", got)
		}
		if got := dashEval[string](t, ctx, `document.getElementById('total-rate').textContent`); got != "50.0%" {
			t.Errorf("success rate %q, want 50.0%%", got)
		}
		if n := dashEval[int](t, ctx, `document.querySelectorAll('#top-failures tbody tr').length`); n != 1 {
			t.Errorf("%d failure reasons, want 1", n)
		}
		// A payment made elsewhere shows up without a reload.
		dashDo(t, ctx, dashRunJS(`window.__notReloaded = true`), dashRunJS(`document.getElementById('wrap-by-gateway').focus()`))
		h.createOrder(shop, "ord_live_1", "5.00")
		h.pay(shop, "ord_live_1", dashCardSuccess)
		dashDo(t, ctx, browserUntil(`(document.querySelector('#volume-by-gateway g[data-series="sandbox_a"]')||{dataset:{}}).dataset.total === '3'`),
			browserUntil(`document.getElementById('total-successes').textContent === '2'`))
		if !dashEval[bool](t, ctx, `window.__notReloaded === true`) {
			t.Error("the page reloaded instead of updating in place")
		}
		// A keyboard user in the table stays there.
		if id := dashEval[string](t, ctx, `document.activeElement.id`); id != "wrap-by-gateway" {
			t.Errorf("focus moved to %q by the update", id)
		}
		if got := dashEval[string](t, ctx, `document.getElementById('total-rate').textContent`); got != "66.7%" {
			t.Errorf("success rate after the live payment %q, want 66.7%%", got)
		}
		// Charged before refunds: 100.00 + 5.00.
		if got := dashEval[string](t, ctx, `document.getElementById('total-charged').textContent`); got != "105.00 INR" {
			t.Errorf("charged %q, want 105.00 INR", got)
		}
		dashCheckPage(t, ctx)
		dashDo(t, ctx, dashRunJS(`document.activeElement.blur()`))
		dashScreenshot(t, ctx, "dashboard-analytics.png")
	})
}

// One merchant's session never reaches another merchant's orders: not in
// the list, not by id (404, as for an order that does not exist), not to
// refund, not to resend its webhooks.
func TestDashboardOrdersOfAnotherMerchant(t *testing.T) {
	h := newDashHarness(t)
	a := h.createMerchant("shop_a")
	b := h.createMerchant("shop_b")
	h.createOrder(b, "ord_b_1", "50.00")
	h.pay(b, "ord_b_1", dashCardSuccess)
	h.createOrder(a, "ord_a_1", "20.00")
	h.pay(a, "ord_a_1", dashCardSuccess)

	sa, sb := h.login(a), h.login(b)
	page := sb.get("/dashboard/orders/ord_b_1").want(t, http.StatusOK).Body
	event := regexp.MustCompile(`data-event-id="([^"]+)"`).FindStringSubmatch(page)
	if event == nil {
		t.Fatal("merchant B's order page shows no webhook event")
	}

	sa.get("/dashboard/orders/ord_b_1").want(t, http.StatusNotFound)
	sa.get("/dashboard/orders/no_such_order").want(t, http.StatusNotFound)
	if list := sa.get("/dashboard/orders?q=ord_b").want(t, http.StatusOK).Body; strings.Contains(list, "ord_b_1") {
		t.Error("merchant A's search lists merchant B's order")
	}
	token := sa.csrf("/dashboard/orders/ord_a_1")
	sa.post("/dashboard/orders/ord_b_1/refunds", url.Values{"csrf_token": {token}, "amount": {"1.00"},
		"unique_request_id": {"steal_1"}}).want(t, http.StatusNotFound)
	sa.post("/dashboard/orders/ord_a_1/events/"+event[1]+"/resend", url.Values{"csrf_token": {token}}).want(t, http.StatusNotFound)
	if o := h.orderStatus(b, "ord_b_1"); len(o.Refunds) != 0 {
		t.Fatalf("merchant B's order was refunded through merchant A's session: %+v", o.Refunds)
	}
	// The analytics of A count A's payment only.
	if body := sa.get("/dashboard/analytics/charts?range=1h").want(t, http.StatusOK).Body; !strings.Contains(body, `id="total-attempts">1<`) {
		t.Errorf("merchant A's analytics do not show exactly its one attempt:\n%.1500s", body)
	}
}

// Submitting one rendering of the refund form twice (a double click, a
// resubmitted POST) refunds once: the form's unique_request_id makes the
// second submit a replay.
func TestDashboardRefundFormIsIdempotent(t *testing.T) {
	h := newDashHarness(t)
	shop := h.createMerchant("shop_r")
	h.createOrder(shop, "ord_r_1", "30.00")
	h.pay(shop, "ord_r_1", dashCardSuccess)
	s := h.login(shop)
	page := s.get("/dashboard/orders/ord_r_1").want(t, http.StatusOK).Body
	m := regexp.MustCompile(`name="unique_request_id" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no unique_request_id in the refund form")
	}
	form := url.Values{"csrf_token": {s.csrf("/dashboard/orders/ord_r_1")}, "unique_request_id": {m[1]}, "amount": {"10.00"}}
	for range 2 {
		res := s.post("/dashboard/orders/ord_r_1/refunds", form)
		if res.Code != http.StatusSeeOther || res.Header.Get("Location") != "/dashboard/orders/ord_r_1" {
			t.Fatalf("refund post: %d to %q: %.500s", res.Code, res.Header.Get("Location"), res.Body)
		}
	}
	if o := h.orderStatus(shop, "ord_r_1"); len(o.Refunds) != 1 {
		t.Fatalf("%d refunds after submitting one form twice, want 1: %+v", len(o.Refunds), o.Refunds)
	}
	// The rest, then nothing is left to refund: the form gives way to a note.
	page = s.get("/dashboard/orders/ord_r_1").want(t, http.StatusOK).Body
	m = regexp.MustCompile(`name="unique_request_id" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil || m[1] == form.Get("unique_request_id") || !strings.Contains(page, `value="20.00"`) {
		t.Fatalf("second rendering of the form: request id %v (first %s), 20.00 prefilled: %v", m, form.Get("unique_request_id"), strings.Contains(page, `value="20.00"`))
	}
	s.post("/dashboard/orders/ord_r_1/refunds", url.Values{"csrf_token": {form.Get("csrf_token")}, "unique_request_id": {m[1]},
		"amount": {"20.00"}}).want(t, http.StatusSeeOther)
	page = s.get("/dashboard/orders/ord_r_1").want(t, http.StatusOK).Body
	if strings.Contains(page, `id="refund-form"`) || !strings.Contains(page, `id="refund-note"`) {
		t.Errorf("fully refunded order still offers a refund form")
	}
	if o := h.orderStatus(shop, "ord_r_1"); len(o.Refunds) != 2 {
		t.Fatalf("%d refunds, want 2", len(o.Refunds))
	}
	// Without the CSRF token nothing happens.
	delete(form, "csrf_token")
	form.Set("unique_request_id", "dash_other")
	if res := s.post("/dashboard/orders/ord_r_1/refunds", form); res.Code != http.StatusForbidden {
		t.Errorf("refund without CSRF token: %d", res.Code)
	}
}

// Bad filters are refused with the field named, not ignored.
func TestDashboardOrderFiltersValidated(t *testing.T) {
	h := newDashHarness(t)
	shop := h.createMerchant("shop_f")
	s := h.login(shop)
	for _, tc := range []struct{ query, field string }{
		{"from=2026-13-01", "from"},
		{"to=yesterday", "to"},
		{"from=2026-03-10&to=2026-03-01", "to"},
		{"status=PAID", "status"},
		{"method=CASH", "method"},
		{"before=garbage", "before"},
	} {
		res := s.get("/dashboard/orders?" + tc.query)
		if res.Code != http.StatusUnprocessableEntity || !strings.Contains(res.Body, `id="`+tc.field+`-error"`) {
			t.Errorf("%s: status %d, error on %s shown: %v", tc.query, res.Code, tc.field, strings.Contains(res.Body, tc.field+"-error"))
		}
	}
	s.get("/dashboard/analytics?range=2y").want(t, http.StatusBadRequest)
}

// The order page lists each webhook event of the order with its delivery
// attempts, and "Send again" delivers it once more.
func TestDashboardOrderWebhookDeliveries(t *testing.T) {
	h := newDashHarness(t)
	var received atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(hook.Close)
	shop := h.createMerchant("shop_w")
	h.admin(http.MethodPatch, "/merchants/shop_w", map[string]any{"webhook_url": hook.URL + "/hooks"}).want(t, http.StatusOK)
	h.createOrder(shop, "ord_w_1", "12.00")
	h.pay(shop, "ord_w_1", dashCardSuccess)
	s := h.login(shop)

	succeeded := regexp.MustCompile(`(?s)data-event-id="([^"]+)">\s*<h3><code>ORDER_SUCCEEDED</code> <span class="status status-delivered">delivered</span>.*?HTTP 200`)
	var page string
	dashWaitUntil(t, "ORDER_SUCCEEDED delivered on the order page", func() bool {
		page = s.get("/dashboard/orders/ord_w_1").want(t, http.StatusOK).Body
		return succeeded.MatchString(page)
	})
	event := succeeded.FindStringSubmatch(page)[1]
	before := received.Load()
	res := s.post("/dashboard/orders/ord_w_1/events/"+event+"/resend", url.Values{"csrf_token": {s.csrf("/dashboard/orders/ord_w_1")}})
	if res.Code != http.StatusSeeOther || res.Header.Get("Location") != "/dashboard/orders/ord_w_1" {
		t.Fatalf("resend: %d to %q", res.Code, res.Header.Get("Location"))
	}
	dashWaitUntil(t, "the event sent again", func() bool { return received.Load() > before })
	dashWaitUntil(t, "a second attempt listed", func() bool {
		page = s.get("/dashboard/orders/ord_w_1").want(t, http.StatusOK).Body
		_, item, _ := strings.Cut(page, `data-event-id="`+event+`"`)
		item, _, _ = strings.Cut(item, "</li>")
		return strings.Count(item, "HTTP 200") == 2
	})
}

// dashWaitUntil polls cond for up to 20 seconds.
func dashWaitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The list pages through the orders newest first, each exactly once, and the
// filters stay on every page.
func TestDashboardOrdersPagination(t *testing.T) {
	h := newDashHarness(t)
	shop := h.createMerchant("shop_pages")
	for i := range 27 {
		h.createOrder(shop, fmt.Sprintf("ord_%02d", i), "1.00")
	}
	h.createOrder(shop, "other_1", "1.00")
	s := h.login(shop)
	rowID := regexp.MustCompile(`<tr data-order-id="([^"]+)"`)
	older := regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	var seen []string
	path := "/dashboard/orders?q=ord_"
	for pages := 0; path != ""; pages++ {
		if pages == 3 {
			t.Fatal("more than 2 pages for 27 orders")
		}
		body := s.get(path).want(t, http.StatusOK).Body
		for _, m := range rowID.FindAllStringSubmatch(body, -1) {
			seen = append(seen, m[1])
		}
		path = ""
		if m := older.FindStringSubmatch(body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
			if !strings.Contains(path, "q=ord_") {
				t.Fatalf("next page link %s lost the search", path)
			}
		}
		if pages == 1 && !strings.Contains(body, "Newest orders") {
			t.Error("second page has no link back to the first")
		}
	}
	if len(seen) != 27 || seen[0] != "ord_26" || seen[26] != "ord_00" {
		t.Fatalf("paged through %d orders: %v", len(seen), seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] == seen[i-1] {
			t.Fatalf("%s listed twice", seen[i])
		}
	}
}
