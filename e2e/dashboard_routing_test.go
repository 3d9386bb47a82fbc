package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestDashboardRouting: rules are validated per rule, with each rule's problems
// shown in that rule and nothing saved; a valid rule saves; the preview
// says which gateway a sample payment would get and why, using the form as
// typed without saving it.
func TestDashboardRouting(t *testing.T) {
	exe := browserExe(t)
	h := newDashHarness(t)
	tab := dashBrowser(t, exe)
	shop := h.createMerchant("shop_routing")
	h.admin(http.MethodPut, "/merchants/shop_routing/gateways/sandbox_b", map[string]any{
		"connector": "sandbox", "credentials": map[string]string{"processor": "B"},
		"payment_methods": []string{"CARD", "UPI"}, "currencies": []string{"INR"},
	}).want(t, http.StatusCreated)
	ctx := tab(t)
	h.loginBrowser(t, ctx, shop)
	type routingJSON struct {
		Mode  string `json:"mode"`
		Rules []struct {
			Name string `json:"name"`
		} `json:"rules"`
	}
	stored := func(t *testing.T) routingJSON {
		t.Helper()
		var r routingJSON
		h.admin(http.MethodGet, "/merchants/shop_routing/routing", nil).want(t, http.StatusOK).decode(t, &r)
		return r
	}
	text := func(t *testing.T, sel string) string {
		t.Helper()
		return dashEval[string](t, ctx, `(function () { var e = document.querySelector(`+browserJS(sel)+`); return e ? e.textContent.trim() : '<none>'; })()`)
	}

	t.Run("a valid rule saves", func(t *testing.T) {
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/routing"), dashWaitPath("/dashboard/routing"))
		dashCheckPage(t, ctx)
		dashDo(t, ctx,
			chromedp.SendKeys(chromedp.ID("r0_name"), "upi_b"),
			chromedp.Click(chromedp.ID("r0_pmt_UPI")),
			chromedp.SetValue(chromedp.ID("r0_action"), "ENFORCE"),
			chromedp.SendKeys(chromedp.ID("r0_gateways"), "sandbox_b"),
			dashSubmit(`button[value=save]`, "/dashboard/routing"))
		dashCheckPage(t, ctx)
		if f := text(t, "[role=status]"); f != "Routing saved." {
			t.Fatalf("flash %q (alert %q)", f, text(t, "[role=alert]"))
		}
		if r := stored(t); len(r.Rules) != 1 || r.Rules[0].Name != "upi_b" {
			t.Errorf("stored %+v", r)
		}
		if v := dashEval[string](t, ctx, `document.getElementById('r0_gateways').value + '|' + document.getElementById('r0_action').value`); v != "sandbox_b|ENFORCE" {
			t.Errorf("saved rule shown as %q", v)
		}
	})

	t.Run("errors are shown in the rule at fault", func(t *testing.T) {
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/routing"), dashWaitPath("/dashboard/routing"),
			chromedp.SendKeys(chromedp.ID("r1_name"), "big_cards"),
			chromedp.SendKeys(chromedp.ID("r1_amount_min"), "500"),
			chromedp.SendKeys(chromedp.ID("r1_amount_max"), "100"),
			chromedp.SendKeys(chromedp.ID("r1_currency"), "XYZ"),
			chromedp.SetValue(chromedp.ID("r1_action"), "PRIORITY"),
			chromedp.SendKeys(chromedp.ID("r1_gateways"), "nope"),
			dashSubmit(`button[value=save]`, "/dashboard/routing"))
		dashCheckPage(t, ctx)
		if n := dashEval[int](t, ctx, `document.querySelectorAll('#rule-0 .rule-problems li').length`); n != 0 {
			t.Errorf("the valid rule shows %d problems", n)
		}
		problems := text(t, "#rule-1 .rule-problems")
		for _, want := range []string{`Currencies: unknown currency "XYZ"`, "amount_min is above amount_max", `Gateways: unknown gateway "nope"`} {
			if !strings.Contains(problems, want) {
				t.Errorf("rule 1's problems %q lack %q", problems, want)
			}
		}
		if v := text(t, `[id="rules.1.currency-error"]`); v != `unknown currency "XYZ"` {
			t.Errorf("currency field error %q", v)
		}
		if v := dashEval[string](t, ctx, `document.getElementById('r1_currency').getAttribute('aria-invalid') + ' ' + document.getElementById('r1_currency').value`); v != "true XYZ" {
			t.Errorf("refused input: %q", v)
		}
		if r := stored(t); len(r.Rules) != 1 {
			t.Errorf("a refused form was saved: %+v", r)
		}
	})

	t.Run("reorder and delete rules", func(t *testing.T) {
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/routing"), dashWaitPath("/dashboard/routing"),
			chromedp.SendKeys(chromedp.ID("r1_name"), "nb_a"),
			chromedp.Click(chromedp.ID("r1_pmt_NB")),
			chromedp.SetValue(chromedp.ID("r1_action"), "PRIORITY"),
			chromedp.SendKeys(chromedp.ID("r1_gateways"), "sandbox_a"),
			dashSubmit(`button[value=save]`, "/dashboard/routing"))
		names := func() string {
			var out []string
			for _, r := range stored(t).Rules {
				out = append(out, r.Name)
			}
			return strings.Join(out, ",")
		}
		if n := names(); n != "upi_b,nb_a" {
			t.Fatalf("rules %q (alert %q)", n, text(t, "[role=alert]"))
		}
		dashDo(t, ctx, chromedp.SetValue(chromedp.ID("r1_position"), "0"), dashSubmit(`button[value=save]`, "/dashboard/routing"))
		if n := names(); n != "nb_a,upi_b" {
			t.Errorf("after moving nb_a first: %q", n)
		}
		dashDo(t, ctx, chromedp.Click(chromedp.ID("r0_delete")), dashSubmit(`button[value=save]`, "/dashboard/routing"))
		if n := names(); n != "upi_b" {
			t.Errorf("after deleting nb_a: %q", n)
		}
	})

	t.Run("preview", func(t *testing.T) {
		dashDo(t, ctx, chromedp.Navigate(h.URL+"/dashboard/routing"), dashWaitPath("/dashboard/routing"),
			chromedp.SetValue(chromedp.ID("sample_type"), "UPI"),
			dashSubmit(`button[value=preview]`, "/dashboard/routing"))
		dashCheckPage(t, ctx)
		if g := text(t, ".preview-gateway"); g != "sandbox_b" {
			t.Errorf("UPI previewed to %q", g)
		}
		if why := text(t, ".preview-why"); !strings.Contains(why, "ENFORCED_RULE, rule upi_b") || !strings.Contains(why, "ENFORCE allows only") {
			t.Errorf("why: %q", why)
		}

		// A draft: priority mode with sandbox_b first, previewed for a
		// card, not saved.
		dashDo(t, ctx, chromedp.Click(chromedp.ID("mode_priority")),
			chromedp.SetValue(chromedp.ID("priority"), "sandbox_b, sandbox_a"),
			chromedp.SetValue(chromedp.ID("sample_type"), "CARD"),
			dashSubmit(`button[value=preview]`, "/dashboard/routing"))
		if g := text(t, ".preview-gateway"); g != "sandbox_b" {
			t.Errorf("card previewed to %q", g)
		}
		if why := text(t, ".preview-why"); !strings.Contains(why, "PRIORITY_LOGIC") {
			t.Errorf("why: %q", why)
		}
		if c := dashEval[string](t, ctx, `Array.prototype.map.call(document.querySelectorAll('.preview-candidates .mono'), function (e) { return e.textContent; }).join(',')`); c != "sandbox_b,sandbox_a" {
			t.Errorf("candidates %q", c)
		}
		if !dashEval[bool](t, ctx, `document.getElementById('mode_priority').checked`) {
			t.Errorf("the draft was not kept in the form")
		}
		if r := stored(t); r.Mode != "SUCCESS_RATE" {
			t.Errorf("preview saved the mode: %+v", r)
		}

		dashDo(t, ctx, chromedp.SetValue(chromedp.ID("sample_type"), "NB"),
			dashSubmit(`button[value=preview]`, "/dashboard/routing"))
		if g := text(t, ".preview-gateway"); g != "sandbox_a" {
			t.Errorf("NB previewed to %q (only sandbox_a takes NB)", g)
		}
		dashDo(t, ctx, chromedp.SetValue(chromedp.ID("sample_currency"), "USD"),
			dashSubmit(`button[value=preview]`, "/dashboard/routing"))
		if g := text(t, ".preview-gateway"); g != "No gateway" {
			t.Errorf("USD previewed to %q", g)
		}
	})
}
