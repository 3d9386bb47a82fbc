package e2e_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestDashboardGateways: add, edit and disable a gateway account; credentials are
// write-only (never in any page), kept when an edit leaves them empty; bad
// input is refused next to its field.
func TestDashboardGateways(t *testing.T) {
	exe := browserExe(t)
	h := newDashHarness(t)
	tab := dashBrowser(t, exe)
	shop := h.createMerchant("shop_gw")
	ctx := tab(t)
	h.loginBrowser(t, ctx, shop)
	const secret = "sekret-value-7781"
	noSecret := func(t *testing.T) {
		t.Helper()
		if strings.Contains(dashEval[string](t, ctx, `document.documentElement.outerHTML`), secret) {
			t.Errorf("%s shows a credential value", dashEval[string](t, ctx, `location.pathname`))
		}
	}
	type gatewayJSON struct {
		Enabled        bool     `json:"enabled"`
		CredentialKeys []string `json:"credential_keys"`
		PaymentMethods []string `json:"payment_methods"`
		Currencies     []string `json:"currencies"`
		FeePercent     any      `json:"fee_percent"`
	}
	stored := func(t *testing.T, name string) gatewayJSON {
		t.Helper()
		var g gatewayJSON
		h.admin(http.MethodGet, "/merchants/shop_gw/gateways/"+name, nil).want(t, http.StatusOK).decode(t, &g)
		return g
	}

	t.Run("bad input is refused per field", func(t *testing.T) {
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/gateways/new"), dashWaitPath("/dashboard/gateways/new"),
			chromedp.SendKeys(chromedp.ID("name"), "bad name!"),
			chromedp.Click(chromedp.ID("gm_CARD")), chromedp.Click(chromedp.ID("gm_UPI")),
			chromedp.Click(chromedp.ID("gm_NB")), chromedp.Click(chromedp.ID("gm_WALLET")),
			chromedp.SetValue(chromedp.ID("credentials"), "no equals sign here"),
			dashSubmit(`form button.primary`, "/dashboard/gateways"))
		dashCheckPage(t, ctx)
		for field, want := range map[string]string{
			"name":            "must be 1-64 letters, digits, '_' or '-'",
			"payment_methods": "must list at least one of CARD, UPI, NB, WALLET",
			"credentials":     "write one key=value per line",
		} {
			if got := dashEval[string](t, ctx, `(document.getElementById('`+field+`-error')||{}).textContent||''`); got != want {
				t.Errorf("%s error %q, want %q", field, got, want)
			}
		}
		if v := dashEval[string](t, ctx, `document.getElementById('name').value`); v != "bad name!" {
			t.Errorf("typed name not kept: %q", v)
		}
	})

	t.Run("add", func(t *testing.T) {
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/gateways/new"), dashWaitPath("/dashboard/gateways/new"))
		dashCheckPage(t, ctx)
		dashDo(t, ctx,
			chromedp.SendKeys(chromedp.ID("name"), "sandbox_b"),
			chromedp.SetValue(chromedp.ID("credentials"), "processor=B\napi_secret="+secret),
			chromedp.Click(chromedp.ID("gm_UPI")), chromedp.Click(chromedp.ID("gm_NB")), chromedp.Click(chromedp.ID("gm_WALLET")),
			chromedp.SetValue(chromedp.ID("currencies"), "inr, usd"),
			chromedp.SetValue(chromedp.ID("fee_percent"), "1.5"),
			dashSubmit(`form button.primary`, "/dashboard/gateways"))
		dashCheckPage(t, ctx)
		noSecret(t)
		if f := dashEval[string](t, ctx, `document.querySelector('[role=status]').textContent`); f != "Gateway sandbox_b saved." {
			t.Errorf("flash %q", f)
		}
		if v := dashEval[string](t, ctx, `document.querySelector('#gw-sandbox_b .gw-creds').textContent`); v != "api_secret, processor set" {
			t.Errorf("credentials shown as %q", v)
		}
		g := stored(t, "sandbox_b")
		if !g.Enabled || !slices.Equal(g.CredentialKeys, []string{"api_secret", "processor"}) ||
			!slices.Equal(g.PaymentMethods, []string{"CARD"}) || !slices.Equal(g.Currencies, []string{"INR", "USD"}) {
			t.Errorf("stored %+v", g)
		}
	})

	t.Run("a taken name is refused", func(t *testing.T) {
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/gateways/new"), dashWaitPath("/dashboard/gateways/new"),
			chromedp.SendKeys(chromedp.ID("name"), "sandbox_b"),
			dashSubmit(`form button.primary`, "/dashboard/gateways"))
		if got := dashEval[string](t, ctx, `document.getElementById('name-error').textContent`); got != "is already used by another gateway account" {
			t.Errorf("name error %q", got)
		}
		if g := stored(t, "sandbox_b"); !slices.Equal(g.Currencies, []string{"INR", "USD"}) {
			t.Errorf("the existing account changed: %+v", g)
		}
	})

	t.Run("edit keeps credentials left empty", func(t *testing.T) {
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/gateways"), dashWaitPath("/dashboard/gateways"),
			chromedp.Click(chromedp.CSS(`#gw-sandbox_b a`)), dashWaitPath("/dashboard/gateways/sandbox_b"))
		dashCheckPage(t, ctx)
		noSecret(t)
		if v := dashEval[string](t, ctx, `document.getElementById('credentials').value`); v != "" {
			t.Errorf("credentials field prefilled with %q", v)
		}
		dashDo(t, ctx, chromedp.SetValue(chromedp.ID("fee_percent"), "2.25"), chromedp.Click(chromedp.ID("gm_UPI")),
			dashSubmit(`form button.primary`, "/dashboard/gateways"))
		g := stored(t, "sandbox_b")
		if !slices.Equal(g.CredentialKeys, []string{"api_secret", "processor"}) || !slices.Equal(g.PaymentMethods, []string{"CARD", "UPI"}) {
			t.Errorf("after edit: %+v", g)
		}
		if g.FeePercent != "2.25" && g.FeePercent != 2.25 {
			t.Errorf("fee %v", g.FeePercent)
		}
	})

	t.Run("disable and enable", func(t *testing.T) {
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/gateways"), dashWaitPath("/dashboard/gateways"),
			dashSubmit(`#gw-sandbox_b button.danger`, "/dashboard/gateways"))
		if v := dashEval[string](t, ctx, `document.querySelector('#gw-sandbox_b .gw-status').textContent`); v != "Disabled" {
			t.Errorf("status %q", v)
		}
		if g := stored(t, "sandbox_b"); g.Enabled || len(g.CredentialKeys) != 2 {
			t.Errorf("after disable: %+v", g)
		}
		dashDo(t, ctx, dashSubmit(`#gw-sandbox_b button`, "/dashboard/gateways"))
		if g := stored(t, "sandbox_b"); !g.Enabled {
			t.Errorf("not enabled again")
		}
	})

	t.Run("another merchant's gateway is not found", func(t *testing.T) {
		other := h.createMerchant("shop_gw_other")
		h.admin(http.MethodPut, "/merchants/shop_gw_other/gateways/only_theirs", map[string]any{
			"connector": "sandbox", "credentials": map[string]string{"processor": "A"},
			"payment_methods": []string{"CARD"}, "currencies": []string{"INR"},
		}).want(t, http.StatusCreated)
		_ = other
		s := h.login(shop)
		s.get("/dashboard/gateways/only_theirs").want(t, http.StatusNotFound)
		tok := s.csrf("/dashboard/gateways")
		s.post("/dashboard/gateways/only_theirs/enabled", map[string][]string{"csrf_token": {tok}, "enabled": {"false"}}).want(t, http.StatusNotFound)
		s.post("/dashboard/gateways/only_theirs", map[string][]string{"csrf_token": {tok}, "connector": {"sandbox"},
			"payment_methods": {"CARD"}, "currencies": {"INR"}}).want(t, http.StatusNotFound)
		var g gatewayJSON
		h.admin(http.MethodGet, "/merchants/shop_gw_other/gateways/only_theirs", nil).want(t, http.StatusOK).decode(t, &g)
		if !g.Enabled {
			t.Errorf("another merchant's gateway was changed")
		}
	})
}
