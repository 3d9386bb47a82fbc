package e2e_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// dashMerchantSite stands in for the merchant's own web server, where shoppers
// return after paying.
func dashMerchantSite(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>Shop</title><p id="shop">Thanks for shopping</p>`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

const dashPayButton = `form[data-method="CARD"] button[type="submit"]`

// dashPayByCard pays the hosted page the tab is on with a sandbox card that
// succeeds.
func dashPayByCard(t *testing.T, ctx context.Context) {
	t.Helper()
	dashDo(t, ctx,
		chromedp.WaitEnabled(chromedp.CSS(dashPayButton)),
		chromedp.SendKeys(chromedp.ID("card_number"), "4242 4242 4242 4242"),
		chromedp.SendKeys(chromedp.ID("card_exp_month"), "12"),
		chromedp.SendKeys(chromedp.ID("card_exp_year"), strconv.Itoa(time.Now().Year()%100+3)),
		chromedp.SendKeys(chromedp.ID("card_security_code"), "123"),
		chromedp.Click(chromedp.CSS(dashPayButton)))
}

// TestDashboardSettings: a new Payment Redirect URL saved in the dashboard is where
// the next payment lands, with no restart; a bad value is refused next to
// its field and nothing is saved.
func TestDashboardSettings(t *testing.T) {
	exe := browserExe(t)
	h := newDashHarness(t)
	tab := dashBrowser(t, exe)
	shop := h.createMerchant("shop_settings")
	site := dashMerchantSite(t)
	ctx := tab(t)
	h.loginBrowser(t, ctx, shop)

	t.Run("a bad URL is refused next to its field", func(t *testing.T) {
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/settings"), dashWaitPath("/dashboard/settings"),
			chromedp.SetValue(chromedp.ID("payment_redirect_url"), "ftp://shop.example/back"),
			chromedp.SetValue(chromedp.ID("order_timeout_minutes"), "15"),
			dashSubmit(`form button.primary`, "/dashboard/settings"))
		dashCheckPage(t, ctx)
		if msg := dashEval[string](t, ctx, `document.getElementById('payment_redirect_url-error').textContent`); msg != "must be an absolute http or https URL" {
			t.Errorf("field error %q", msg)
		}
		if v := dashEval[string](t, ctx, `document.getElementById('payment_redirect_url').getAttribute('aria-invalid') + ' ' + document.getElementById('payment_redirect_url').value`); v != "true ftp://shop.example/back" {
			t.Errorf("refused field: %q", v)
		}
		var m struct {
			PaymentRedirectURL  string `json:"payment_redirect_url"`
			OrderTimeoutMinutes int    `json:"order_timeout_minutes"`
		}
		h.admin(http.MethodGet, "/merchants/"+shop.MerchantID, nil).want(t, http.StatusOK).decode(t, &m)
		if m.PaymentRedirectURL != "https://shop.example/payment-result" || m.OrderTimeoutMinutes != 30 {
			t.Errorf("a refused form changed the settings: %+v", m)
		}
	})

	t.Run("a new redirect URL is where the next payment lands", func(t *testing.T) {
		newURL := site.URL + "/checkout/done"
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/settings"), dashWaitPath("/dashboard/settings"),
			chromedp.SetValue(chromedp.ID("payment_redirect_url"), newURL),
			chromedp.SetValue(chromedp.ID("webhook_url"), "https://hooks.shop.example/switchyard"),
			chromedp.SetValue(chromedp.ID("webhook_password"), "hook-secret-1"),
			dashSubmit(`form button.primary`, "/dashboard/settings"))
		dashCheckPage(t, ctx)
		if f := dashEval[string](t, ctx, `document.querySelector('[role=status]').textContent`); f != "Settings saved." {
			t.Errorf("flash %q", f)
		}
		if v := dashEval[string](t, ctx, `document.getElementById('payment_redirect_url').value`); v != newURL {
			t.Errorf("saved URL shown as %q", v)
		}
		if v := dashEval[string](t, ctx, `document.getElementById('webhook_password').value`); v != "" {
			t.Errorf("the webhook password was shown back")
		}
		if strings.Contains(dashEval[string](t, ctx, `document.documentElement.outerHTML`), "hook-secret-1") {
			t.Errorf("the webhook password appears in the page")
		}

		link := h.createOrder(shop, "ord_settings_1", "10.00")
		dashDo(t, ctx, chromedp.Navigate(link))
		dashPayByCard(t, ctx)
		dashDo(t, ctx, browserUntil(`location.href.indexOf(`+browserJS(newURL+"?")+`) === 0 && document.getElementById('shop')`))
		q := dashEval[string](t, ctx, `new URLSearchParams(location.search).get('status') + ' ' + new URLSearchParams(location.search).get('order_id')`)
		if q != "CHARGED ord_settings_1" {
			t.Errorf("landed with %q", q)
		}
	})
}

// TestDashboardPaymentMethods: a method turned off disappears from the hosted page
// (and the public list), and comes back when turned on.
func TestDashboardPaymentMethods(t *testing.T) {
	exe := browserExe(t)
	h := newDashHarness(t)
	tab := dashBrowser(t, exe)
	shop := h.createMerchant("shop_methods")
	ctx := tab(t)
	h.loginBrowser(t, ctx, shop)
	link := h.createOrder(shop, "ord_methods_1", "10.00")
	hostedHas := func(t *testing.T, method string) bool {
		t.Helper()
		dashDo(t, ctx, chromedp.Navigate(link), chromedp.WaitEnabled(chromedp.CSS(dashPayButton)))
		return dashEval[bool](t, ctx, `!!document.querySelector('[data-method="`+method+`"]')`)
	}
	if !hostedHas(t, "UPI") {
		t.Fatal("UPI is not on the hosted page to begin with")
	}

	dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/payment-methods"), dashWaitPath("/dashboard/payment-methods"))
	dashCheckPage(t, ctx)
	if v := dashEval[string](t, ctx, `Array.prototype.map.call(document.querySelectorAll('input[name=payment_methods]:checked'), function (e) { return e.value; }).join(',')`); v != "CARD,UPI,NB,WALLET" {
		t.Errorf("checked at first: %q", v)
	}
	dashDo(t, ctx, chromedp.Click(chromedp.ID("pm_UPI")), dashSubmit(`form button.primary`, "/dashboard/payment-methods"))
	if f := dashEval[string](t, ctx, `document.querySelector('[role=status]').textContent`); f != "Payment methods saved." {
		t.Errorf("flash %q", f)
	}
	if dashEval[bool](t, ctx, `document.getElementById('pm_UPI').checked`) {
		t.Errorf("UPI still checked after saving it off")
	}
	if hostedHas(t, "UPI") {
		t.Errorf("UPI is still on the hosted page")
	}
	if !dashEval[bool](t, ctx, `!!document.querySelector('[data-method="CARD"]')`) {
		t.Errorf("cards vanished too")
	}
	if body := h.send(h.client, http.MethodGet, "/merchants/shop_methods/paymentmethods", "", "").want(t, http.StatusOK).Body; strings.Contains(body, `"UPI"`) {
		t.Errorf("the public list still has UPI: %s", body)
	}

	dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/payment-methods"), dashWaitPath("/dashboard/payment-methods"),
		chromedp.Click(chromedp.ID("pm_UPI")), dashSubmit(`form button.primary`, "/dashboard/payment-methods"))
	if !hostedHas(t, "UPI") {
		t.Errorf("UPI did not come back")
	}

	t.Run("banks, wallets and card brands", func(t *testing.T) {
		options := func(method string) string {
			return dashEval[string](t, ctx, `Array.prototype.map.call(document.querySelectorAll('form[data-method="`+method+`"] option, form[data-method="`+method+`"] input[type=radio]'), function (e) { return e.value; }).filter(Boolean).join(',')`)
		}
		hostedHas(t, "NB")
		if v := options("NB"); !strings.Contains(v, "NB_YESB") {
			t.Fatalf("the hosted page's banks %q lack NB_YESB to begin with", v)
		}
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/payment-methods"), dashWaitPath("/dashboard/payment-methods"))
		dashCheckPage(t, ctx)
		dashDo(t, ctx, chromedp.Click(chromedp.ID("opt_NB_YESB")), chromedp.Click(chromedp.ID("opt_MOBIKWIK")), chromedp.Click(chromedp.ID("opt_AMEX")),
			dashSubmit(`form button.primary`, "/dashboard/payment-methods"))
		if dashEval[bool](t, ctx, `document.getElementById('opt_NB_YESB').checked || !document.getElementById('opt_NB_HDFC').checked`) {
			t.Errorf("bank choices not saved as made")
		}
		hostedHas(t, "NB")
		if v := options("NB"); strings.Contains(v, "NB_YESB") || !strings.Contains(v, "NB_HDFC") {
			t.Errorf("the hosted page's banks: %q", v)
		}
		if v := options("WALLET"); strings.Contains(v, "MOBIKWIK") || !strings.Contains(v, "PAYTM") {
			t.Errorf("the hosted page's wallets: %q", v)
		}
		body := h.send(h.client, http.MethodGet, "/merchants/shop_methods/paymentmethods", "", "").want(t, http.StatusOK).Body
		if strings.Contains(body, `"AMEX"`) || strings.Contains(body, `"NB_YESB"`) || !strings.Contains(body, `"VISA"`) {
			t.Errorf("the public list: %s", body)
		}
		var m struct {
			Disabled []string `json:"disabled_payment_methods"`
		}
		h.admin(http.MethodGet, "/merchants/shop_methods", nil).want(t, http.StatusOK).decode(t, &m)
		if strings.Join(m.Disabled, ",") != "AMEX,NB_YESB,MOBIKWIK" {
			t.Errorf("the admin API shows disabled_payment_methods %v", m.Disabled)
		}
		// A payment with a brand turned off is refused.
		h.createOrder(shop, "ord_methods_amex", "10.00")
		res := h.merchantAPI(shop.APIKey, http.MethodPost, "/txns", url.Values{
			"order_id": {"ord_methods_amex"}, "merchant_id": {"shop_methods"}, "payment_method_type": {"CARD"},
			"card_number": {"378282246310005"}, "card_exp_month": {"12"}, "card_exp_year": {"2040"}, "card_security_code": {"1234"},
			"format": {"json"},
		})
		if res.Code != http.StatusBadRequest || !strings.Contains(res.Body, "AMEX is not enabled") {
			t.Errorf("an AMEX payment: %d %s", res.Code, res.Body)
		}
	})
}
