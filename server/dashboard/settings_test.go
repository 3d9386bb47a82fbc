package dashboard_test

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

// merchantSite stands in for the merchant's own web server, where shoppers
// return after paying.
func merchantSite(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>Shop</title><p id="shop">Thanks for shopping</p>`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

const payButton = `form[data-method="CARD"] button[type="submit"]`

// payByCard pays the hosted page the tab is on with a sandbox card that
// succeeds.
func payByCard(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx,
		chromedp.WaitEnabled(chromedp.CSS(payButton)),
		chromedp.SendKeys(chromedp.ID("card_number"), "4242 4242 4242 4242"),
		chromedp.SendKeys(chromedp.ID("card_exp_month"), "12"),
		chromedp.SendKeys(chromedp.ID("card_exp_year"), strconv.Itoa(time.Now().Year()%100+3)),
		chromedp.SendKeys(chromedp.ID("card_security_code"), "123"),
		chromedp.Click(chromedp.CSS(payButton)))
}

// TestSettings: a new Payment Redirect URL saved in the dashboard is where
// the next payment lands, with no restart; a bad value is refused next to
// its field and nothing is saved.
func TestSettings(t *testing.T) {
	tab := browser(t)
	h := newHarness(t)
	shop := h.createMerchant("shop_settings")
	site := merchantSite(t)
	ctx := tab(t)
	h.loginBrowser(t, ctx, shop)

	t.Run("a bad URL is refused next to its field", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(h.URL+"/dashboard/settings"), waitPath("/dashboard/settings"),
			chromedp.SetValue(chromedp.ID("payment_redirect_url"), "ftp://shop.example/back"),
			chromedp.SetValue(chromedp.ID("order_timeout_minutes"), "15"),
			submit(`form button.primary`, "/dashboard/settings"))
		checkPage(t, ctx)
		if msg := eval[string](t, ctx, `document.getElementById('payment_redirect_url-error').textContent`); msg != "must be an absolute http or https URL" {
			t.Errorf("field error %q", msg)
		}
		if v := eval[string](t, ctx, `document.getElementById('payment_redirect_url').getAttribute('aria-invalid') + ' ' + document.getElementById('payment_redirect_url').value`); v != "true ftp://shop.example/back" {
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
		do(t, ctx, chromedp.Navigate(h.URL+"/dashboard/settings"), waitPath("/dashboard/settings"),
			chromedp.SetValue(chromedp.ID("payment_redirect_url"), newURL),
			chromedp.SetValue(chromedp.ID("webhook_url"), "https://hooks.shop.example/switchyard"),
			chromedp.SetValue(chromedp.ID("webhook_password"), "hook-secret-1"),
			submit(`form button.primary`, "/dashboard/settings"))
		checkPage(t, ctx)
		if f := eval[string](t, ctx, `document.querySelector('[role=status]').textContent`); f != "Settings saved." {
			t.Errorf("flash %q", f)
		}
		if v := eval[string](t, ctx, `document.getElementById('payment_redirect_url').value`); v != newURL {
			t.Errorf("saved URL shown as %q", v)
		}
		if v := eval[string](t, ctx, `document.getElementById('webhook_password').value`); v != "" {
			t.Errorf("the webhook password was shown back")
		}
		if strings.Contains(eval[string](t, ctx, `document.documentElement.outerHTML`), "hook-secret-1") {
			t.Errorf("the webhook password appears in the page")
		}

		link := h.createOrder(shop, "ord_settings_1", "10.00")
		do(t, ctx, chromedp.Navigate(link))
		payByCard(t, ctx)
		do(t, ctx, waitFor(`location.href.indexOf(`+jsString(newURL+"?")+`) === 0 && document.getElementById('shop')`))
		q := eval[string](t, ctx, `new URLSearchParams(location.search).get('status') + ' ' + new URLSearchParams(location.search).get('order_id')`)
		if q != "CHARGED ord_settings_1" {
			t.Errorf("landed with %q", q)
		}
	})
}

// TestPaymentMethods: a method turned off disappears from the hosted page
// (and the public list), and comes back when turned on.
func TestPaymentMethods(t *testing.T) {
	tab := browser(t)
	h := newHarness(t)
	shop := h.createMerchant("shop_methods")
	ctx := tab(t)
	h.loginBrowser(t, ctx, shop)
	link := h.createOrder(shop, "ord_methods_1", "10.00")
	hostedHas := func(t *testing.T, method string) bool {
		t.Helper()
		do(t, ctx, chromedp.Navigate(link), chromedp.WaitEnabled(chromedp.CSS(payButton)))
		return eval[bool](t, ctx, `!!document.querySelector('[data-method="`+method+`"]')`)
	}
	if !hostedHas(t, "UPI") {
		t.Fatal("UPI is not on the hosted page to begin with")
	}

	do(t, ctx, chromedp.Navigate(h.URL+"/dashboard/payment-methods"), waitPath("/dashboard/payment-methods"))
	checkPage(t, ctx)
	if v := eval[string](t, ctx, `Array.prototype.map.call(document.querySelectorAll('input[name=payment_methods]:checked'), function (e) { return e.value; }).join(',')`); v != "CARD,UPI,NB,WALLET" {
		t.Errorf("checked at first: %q", v)
	}
	do(t, ctx, chromedp.Click(chromedp.ID("pm_UPI")), submit(`form button.primary`, "/dashboard/payment-methods"))
	if f := eval[string](t, ctx, `document.querySelector('[role=status]').textContent`); f != "Payment methods saved." {
		t.Errorf("flash %q", f)
	}
	if eval[bool](t, ctx, `document.getElementById('pm_UPI').checked`) {
		t.Errorf("UPI still checked after saving it off")
	}
	if hostedHas(t, "UPI") {
		t.Errorf("UPI is still on the hosted page")
	}
	if !eval[bool](t, ctx, `!!document.querySelector('[data-method="CARD"]')`) {
		t.Errorf("cards vanished too")
	}
	if body := h.send(h.client, http.MethodGet, "/merchants/shop_methods/paymentmethods", "", "").want(t, http.StatusOK).Body; strings.Contains(body, `"UPI"`) {
		t.Errorf("the public list still has UPI: %s", body)
	}

	do(t, ctx, chromedp.Navigate(h.URL+"/dashboard/payment-methods"), waitPath("/dashboard/payment-methods"),
		chromedp.Click(chromedp.ID("pm_UPI")), submit(`form button.primary`, "/dashboard/payment-methods"))
	if !hostedHas(t, "UPI") {
		t.Errorf("UPI did not come back")
	}

	t.Run("banks, wallets and card brands", func(t *testing.T) {
		options := func(method string) string {
			return eval[string](t, ctx, `Array.prototype.map.call(document.querySelectorAll('form[data-method="`+method+`"] option, form[data-method="`+method+`"] input[type=radio]'), function (e) { return e.value; }).filter(Boolean).join(',')`)
		}
		hostedHas(t, "NB")
		if v := options("NB"); !strings.Contains(v, "NB_YESB") {
			t.Fatalf("the hosted page's banks %q lack NB_YESB to begin with", v)
		}
		do(t, ctx, chromedp.Navigate(h.URL+"/dashboard/payment-methods"), waitPath("/dashboard/payment-methods"))
		checkPage(t, ctx)
		do(t, ctx, chromedp.Click(chromedp.ID("opt_NB_YESB")), chromedp.Click(chromedp.ID("opt_MOBIKWIK")), chromedp.Click(chromedp.ID("opt_AMEX")),
			submit(`form button.primary`, "/dashboard/payment-methods"))
		if eval[bool](t, ctx, `document.getElementById('opt_NB_YESB').checked || !document.getElementById('opt_NB_HDFC').checked`) {
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
