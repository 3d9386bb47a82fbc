package checkout_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"switchyard/server/pay"
)

var nonceInCSP = regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9+/=]+)'`)

// checkSecurityHeaders checks the headers every checkout page carries and
// returns the CSP nonce.
func checkSecurityHeaders(t *testing.T, r response, wantAncestors ...string) string {
	t.Helper()
	csp := r.Header.Get("Content-Security-Policy")
	m := nonceInCSP.FindStringSubmatch(csp)
	if m == nil {
		t.Fatalf("CSP %q has no script-src nonce", csp)
	}
	for _, want := range []string{"default-src 'none'", "object-src 'none'", "base-uri 'none'", "style-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q allows inline code", csp)
	}
	var ancestors []string
	for _, d := range strings.Split(csp, ";") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == "frame-ancestors" {
			ancestors = f[1:]
		}
	}
	if ancestors == nil {
		t.Errorf("CSP %q has no frame-ancestors", csp)
	}
	if len(wantAncestors) > 0 && !slices.Equal(ancestors, wantAncestors) {
		t.Errorf("frame-ancestors = %q, want %q", ancestors, wantAncestors)
	}
	for k, want := range map[string]string{
		"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	return m[1]
}

func TestPage(t *testing.T) {
	h := newHarness(t)
	s := h.merchant("shop", "https://shop.example/payment/return?src=sy", "shop.example", "*.shop.example")
	o := h.order(s.m, pay.OrderInput{OrderID: "ord_1", Description: "Two <b>mugs</b>",
		ReturnURL: "https://www.shop.example/thanks"})

	r := h.get("/pay/" + o.ID)
	if r.Code != http.StatusOK {
		t.Fatalf("GET /pay/%s: %d %s", o.ID, r.Code, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q", ct)
	}
	nonce := checkSecurityHeaders(t, r, "'self'", "https://shop.example", "shop.example:*", "*.shop.example:*")
	doc := parseHTML(t, r.Body)

	t.Run("summary", func(t *testing.T) {
		for _, want := range []string{"Shop &amp; Co", "₹100.00", "Two &lt;b&gt;mugs&lt;/b&gt;", "ord_1"} {
			if !strings.Contains(r.Body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
	})

	t.Run("instruments", func(t *testing.T) {
		var tabs, forms []string
		for _, n := range findAll(doc, func(n *html.Node) bool { _, ok := attr(n, "data-method"); return ok }) {
			m, _ := attr(n, "data-method")
			switch n.Data {
			case "button":
				if role, _ := attr(n, "role"); role != "tab" {
					t.Errorf("instrument button %s has role %q", m, role)
				}
				tabs = append(tabs, m)
			case "form":
				forms = append(forms, m)
				hidden := findAll(n, byAttr("name", "payment_method_type"))
				if len(hidden) != 1 {
					t.Fatalf("form %s has %d payment_method_type inputs", m, len(hidden))
				}
				if v, _ := attr(hidden[0], "value"); v != m {
					t.Errorf("form %s: payment_method_type = %q", m, v)
				}
				if typ, _ := attr(hidden[0], "type"); typ != "hidden" {
					t.Errorf("form %s: payment_method_type is not hidden", m)
				}
				if len(findAll(n, byAttr("type", "submit"))) == 0 {
					t.Errorf("form %s has no submit button", m)
				}
			}
		}
		all := []string{"CARD", "UPI", "NB", "WALLET"}
		if !slices.Equal(tabs, all) || !slices.Equal(forms, all) {
			t.Errorf("tabs %v, forms %v; want %v", tabs, forms, all)
		}
		for _, name := range []string{"card_number", "card_exp_month", "card_exp_year", "card_security_code", "name_on_card", "upi_vpa"} {
			if len(findAll(doc, byAttr("name", name))) != 1 {
				t.Errorf("want one input named %s", name)
			}
		}
		banks := findAll(doc, func(n *html.Node) bool { v, _ := attr(n, "name"); return n.Data == "select" && v == "payment_method" })
		if len(banks) != 1 || !strings.Contains(text(banks[0]), "HDFC Bank") {
			t.Errorf("want a bank select named payment_method listing HDFC Bank")
		}
		var wallets []string
		for _, n := range findAll(doc, byAttr("type", "radio")) {
			if name, _ := attr(n, "name"); name == "payment_method" {
				v, _ := attr(n, "value")
				wallets = append(wallets, v)
			}
		}
		if !slices.Contains(wallets, "PAYTM") {
			t.Errorf("wallet choices %v lack PAYTM", wallets)
		}
		intent := findAll(doc, byAttr("value", "UPI_PAY"))
		if len(intent) != 1 || !strings.Contains(text(intent[0]), "UPI app") {
			t.Errorf("want one 'Pay with a UPI app' button")
		}
	})

	t.Run("labels", func(t *testing.T) {
		labelled := map[string]bool{}
		for _, l := range findAll(doc, tag("label")) {
			if f, ok := attr(l, "for"); ok {
				labelled[f] = true
			}
		}
		ids := map[string]bool{}
		for _, n := range findAll(doc, func(n *html.Node) bool { _, ok := attr(n, "id"); return ok }) {
			id, _ := attr(n, "id")
			if ids[id] {
				t.Errorf("duplicate id %q", id)
			}
			ids[id] = true
		}
		controls := findAll(doc, func(n *html.Node) bool { return n.Data == "input" || n.Data == "select" || n.Data == "textarea" })
		if len(controls) < 10 {
			t.Fatalf("only %d form controls", len(controls))
		}
		for _, n := range controls {
			if typ, _ := attr(n, "type"); typ == "hidden" {
				continue
			}
			id, _ := attr(n, "id")
			if id == "" || !labelled[id] {
				name, _ := attr(n, "name")
				t.Errorf("%s %q (id %q) has no label", n.Data, name, id)
			}
		}
	})

	t.Run("live region", func(t *testing.T) {
		st := byID(doc, "sy-status")
		if st == nil {
			t.Fatal("no #sy-status")
		}
		if v, _ := attr(st, "aria-live"); v != "polite" {
			t.Errorf("#sy-status aria-live = %q", v)
		}
	})

	t.Run("one script, with the nonce", func(t *testing.T) {
		scripts := findAll(doc, tag("script"))
		if len(scripts) != 1 {
			t.Fatalf("%d script tags, want 1", len(scripts))
		}
		if got, _ := attr(scripts[0], "nonce"); got != nonce {
			t.Errorf("script nonce %q, CSP nonce %q", got, nonce)
		}
		if src, _ := attr(scripts[0], "src"); !strings.HasPrefix(src, "/static/js/checkout.js?v=") {
			t.Errorf("script src = %q", src)
		}
		if scripts[0].FirstChild != nil {
			t.Errorf("the script tag has inline content")
		}
		again := h.get("/pay/" + o.ID)
		if n2 := checkSecurityHeaders(t, again); n2 == nonce {
			t.Errorf("the nonce did not change between responses")
		}
	})

	t.Run("nothing external or inline", func(t *testing.T) {
		for _, n := range findAll(doc, func(*html.Node) bool { return true }) {
			for _, a := range n.Attr {
				switch {
				case a.Key == "src" || a.Key == "href" || a.Key == "action" || a.Key == "formaction":
					if a.Val != "" && (!strings.HasPrefix(a.Val, "/") && !strings.HasPrefix(a.Val, "#") || strings.HasPrefix(a.Val, "//")) {
						t.Errorf("<%s %s=%q> is not a same-origin URL", n.Data, a.Key, a.Val)
					}
				case strings.HasPrefix(a.Key, "on"):
					t.Errorf("<%s> has an inline handler %s", n.Data, a.Key)
				case a.Key == "style":
					t.Errorf("<%s> has an inline style", n.Data)
				}
			}
			if n.Data == "style" || n.Data == "iframe" || n.Data == "object" || n.Data == "embed" {
				t.Errorf("page has a <%s>", n.Data)
			}
		}
		if regexp.MustCompile(`https?://`).MatchString(strings.ReplaceAll(r.Body, "https://www.shop.example", "")) {
			t.Errorf("page mentions an absolute URL other than the merchant origin")
		}
	})

	t.Run("token and merchant origin", func(t *testing.T) {
		root := byID(doc, "sy-checkout")
		if root == nil {
			t.Fatal("no #sy-checkout")
		}
		tok, _ := attr(root, "data-token")
		got, _, err := h.svc.VerifyClientToken(context.Background(), tok)
		if err != nil || got.ID != o.ID {
			t.Errorf("data-token does not verify for the order: %v", err)
		}
		if v, _ := attr(root, "data-merchant-origin"); v != "https://www.shop.example" {
			t.Errorf("data-merchant-origin = %q", v)
		}
		if v, _ := attr(root, "data-mode"); v != "pay" {
			t.Errorf("data-mode = %q", v)
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		r := h.do(http.MethodHead, "/pay/"+o.ID, nil, nil)
		if r.Code != http.StatusOK || r.Body != "" {
			t.Errorf("HEAD: %d %q", r.Code, r.Body)
		}
		checkSecurityHeaders(t, r)
	})

	t.Run("layouts", func(t *testing.T) {
		for q, class := range map[string]string{"?iframe=true": "layout-iframe", "?mobile=true": "layout-mobile"} {
			body := findAll(parseHTML(t, h.get("/pay/"+o.ID+q).Body), tag("body"))[0]
			if c, _ := attr(body, "class"); !strings.Contains(c, class) {
				t.Errorf("%s: body class %q lacks %s", q, c, class)
			}
		}
	})
}

func TestPageShowsOnlyEnabledInstruments(t *testing.T) {
	h := newHarness(t)
	s := h.merchant("shop", "https://shop.example/r")
	ctx := context.Background()
	if _, err := h.svc.UpdateMerchant(ctx, "shop", func(m *pay.Merchant) error {
		m.EnabledPaymentMethods = []string{pay.MethodCard, pay.MethodNB, pay.MethodWallet}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	o := h.order(s.m, pay.OrderInput{OrderID: "ord_noupi"})
	r := h.get("/pay/" + o.ID)
	if r.Code != http.StatusOK {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
	doc := parseHTML(t, r.Body)
	if n := findAll(doc, byAttr("data-method", "UPI")); len(n) != 0 {
		t.Errorf("UPI is disabled but shown")
	}
	if n := findAll(doc, byAttr("name", "upi_vpa")); len(n) != 0 {
		t.Errorf("upi_vpa input shown")
	}
	if n := findAll(doc, byAttr("data-method", "CARD")); len(n) != 2 {
		t.Errorf("CARD tab and form: %d elements", len(n))
	}

	// No gateway takes USD: nothing to pay with.
	usd := h.order(s.m, pay.OrderInput{OrderID: "ord_usd", Currency: "USD"})
	r = h.get("/pay/" + usd.ID)
	if r.Code != http.StatusOK || !strings.Contains(r.Body, "No payment method is available") {
		t.Errorf("USD order: %d, want the no-method message", r.Code)
	}
	if n := findAll(parseHTML(t, r.Body), func(n *html.Node) bool { _, ok := attr(n, "data-method"); return ok }); len(n) != 0 {
		t.Errorf("USD order shows %d instrument elements", len(n))
	}
}

func TestPageNotFound(t *testing.T) {
	h := newHarness(t)
	for _, id := range []string{"ordeh_0123456789abcdef0123456789abcdef", "nope", "ordeh_%3Cscript%3E", "ordeh_" + strings.Repeat("a", 100)} {
		r := h.get("/pay/" + id)
		if r.Code != http.StatusNotFound {
			t.Errorf("GET /pay/%s: %d, want 404", id, r.Code)
			continue
		}
		if !strings.Contains(r.Body, "Payment not found") || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET /pay/%s: not the HTML not-found page: %s", id, r.Body)
		}
		checkSecurityHeaders(t, r, "'self'")
	}
}

func TestPageExpired(t *testing.T) {
	h := newHarness(t)
	s := h.merchant("shop", "https://shop.example/r")
	o := h.order(s.m, pay.OrderInput{OrderID: "ord_old"})
	h.clockOffset.Store(int64(pay.DefaultOrderTimeout + time.Minute))
	r := h.get("/pay/" + o.ID)
	if r.Code != http.StatusGone {
		t.Fatalf("expired order: %d, want 410", r.Code)
	}
	if !strings.Contains(r.Body, "This payment link has expired") {
		t.Errorf("expired page: %s", r.Body)
	}
	checkSecurityHeaders(t, r, "'self'", "https://shop.example")
}

func TestPagePaid(t *testing.T) {
	h := newHarness(t)
	s := h.merchant("shop", "https://shop.example/r")
	o := h.order(s.m, pay.OrderInput{OrderID: "ord_paid"})
	out := h.startTxn(s.m, o, card("4242424242424242"))
	if out.Txn.Status != pay.StatusCharged {
		t.Fatalf("txn status %s, want CHARGED", out.Txn.Status)
	}
	// Paid stays visible after the order's expiry.
	h.clockOffset.Store(int64(pay.DefaultOrderTimeout + time.Minute))
	r := h.get("/pay/" + o.ID)
	if r.Code != http.StatusOK {
		t.Fatalf("%d %s", r.Code, r.Body)
	}
	checkSecurityHeaders(t, r)
	doc := parseHTML(t, r.Body)
	if h1 := findAll(doc, tag("h1")); len(h1) != 1 || text(h1[0]) != "Paid" {
		t.Errorf("want an h1 'Paid'")
	}
	if len(findAll(doc, tag("form"))) != 0 || len(findAll(doc, tag("script"))) != 0 {
		t.Errorf("the paid page offers a payment form or runs a script")
	}
	want := h.svc.ReturnURL(s.m, out.Order)
	links := findAll(doc, byAttr("href", want))
	if len(links) != 1 || !strings.Contains(text(links[0]), "Return to Shop & Co") {
		t.Errorf("want a link to the return URL %s", want)
	}
	if !verifySignature(s.responseKey, mustParse(t, want).Query()) {
		t.Errorf("return URL signature does not verify")
	}
}

// Test3DSReturn drives a 3-D Secure payment through the sandbox: the ACS
// page, the shopper's approval, the return to /pay/{id}/return/{txn_id}, the
// redirect to the merchant, and replays of the return.
func Test3DSReturn(t *testing.T) {
	h := newHarness(t)
	s := h.merchant("shop", "https://shop.example/payment/return?src=sy", "*.shop.example")
	o := h.order(s.m, pay.OrderInput{OrderID: "ord_3ds", ReturnURL: "https://www.shop.example/thanks?cart=a b"})
	out := h.startTxn(s.m, o, card("4000000000003220"))
	if out.Txn.Status != pay.StatusPendingVBV || out.Next.Kind != "redirect" {
		t.Fatalf("txn %s next %+v, want PENDING_VBV and a redirect", out.Txn.Status, out.Next)
	}
	acs := out.Next.URL
	if !strings.HasPrefix(acs, h.srv.URL+"/sandbox/") {
		t.Fatalf("ACS URL %q", acs)
	}
	returnPath := "/pay/" + o.ID + "/return/" + out.Txn.TxnID

	r := h.get(acs)
	if r.Code != http.StatusOK || !strings.Contains(r.Body, "Approve") {
		t.Fatalf("ACS page: %d %s", r.Code, r.Body)
	}
	r = h.postForm(acs, url.Values{"decision": {"approve"}})
	if r.Code != http.StatusSeeOther || !strings.HasPrefix(r.location(), h.srv.URL+returnPath) {
		t.Fatalf("ACS decision: %d → %q, want 303 → %s", r.Code, r.location(), returnPath)
	}
	back := r.location()

	r = h.get(back)
	first := resultPage(t, r, "CHARGED")
	to := mustParse(t, first)
	q := to.Query()
	if to.Host != "www.shop.example" || to.Path != "/thanks" || q.Get("status") != "CHARGED" ||
		q.Get("status_id") != "21" || q.Get("order_id") != "ord_3ds" || q.Get("cart") != "a b" {
		t.Errorf("return redirect %s", to)
	}
	if !verifySignature(s.responseKey, q) {
		t.Errorf("return redirect signature does not verify: %s", to)
	}
	// The page tells whoever opened or framed the checkout (the merchant's
	// origin, from the return URL) before it goes on.
	if v, _ := attr(byID(parseHTML(t, r.Body), "sy-checkout"), "data-merchant-origin"); v != "https://www.shop.example" {
		t.Errorf("result page data-merchant-origin %q", v)
	}
	checkSecurityHeaders(t, r, "'self'", "https://shop.example", "*.shop.example:*")

	// Replays, by GET and by POST, change nothing and lead to the same place.
	for i := 0; i < 2; i++ {
		if again := resultPage(t, h.get(back), "CHARGED"); again != first {
			t.Errorf("replayed GET return goes on to %q, want %q", again, first)
		}
	}
	if again := resultPage(t, h.postForm(returnPath, url.Values{"payment_id": {"forged"}, "status": {"failed"}}), "CHARGED"); again != first {
		t.Errorf("replayed POST return goes on to %q, want %q", again, first)
	}
	txns, err := h.svc.OrderTxns(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(txns) != 1 || txns[0].Status != pay.StatusCharged {
		t.Errorf("txns after replays: %d, first %s", len(txns), txns[0].Status)
	}
	if r = h.get("/pay/" + o.ID); r.Code != http.StatusOK || !strings.Contains(r.Body, ">Paid<") {
		t.Errorf("payment page after success: %d", r.Code)
	}

	t.Run("unknown txn", func(t *testing.T) {
		for _, p := range []string{"/pay/" + o.ID + "/return/shop-ord_3ds-9", "/pay/ordeh_00000000000000000000000000000000/return/" + out.Txn.TxnID} {
			if r := h.get(p); r.Code != http.StatusNotFound || !strings.Contains(r.Body, "Payment not found") {
				t.Errorf("GET %s: %d", p, r.Code)
			}
		}
	})
}

// Test3DSFailedReturn: a failed authentication goes back to the merchant
// with the failure when it has a return URL, else to the payment page, which
// shows why and offers every method again.
func Test3DSFailedReturn(t *testing.T) {
	h := newHarness(t)
	s := h.merchant("shop", "https://shop.example/r")
	o := h.order(s.m, pay.OrderInput{OrderID: "ord_fail"})
	out := h.startTxn(s.m, o, card("4000000000003220"))
	r := h.postForm(out.Next.URL, url.Values{"decision": {"fail"}})
	to := mustParse(t, resultPage(t, h.get(r.location()), "AUTHENTICATION_FAILED"))
	if to.Host != "shop.example" || to.Query().Get("status") != "AUTHENTICATION_FAILED" {
		t.Errorf("failed return goes on to %s", to)
	}

	bare := h.merchant("bare", "")
	o2 := h.order(bare.m, pay.OrderInput{OrderID: "ord_fail2"})
	out = h.startTxn(bare.m, o2, card("4000000000003220"))
	r = h.postForm(out.Next.URL, url.Values{"decision": {"fail"}})
	r = h.get(r.location())
	if r.Code != http.StatusSeeOther || r.location() != "/pay/"+o2.ID {
		t.Fatalf("failed return without a return URL: %d → %q", r.Code, r.location())
	}
	r = h.get(r.location())
	if r.Code != http.StatusOK {
		t.Fatalf("page after failure: %d", r.Code)
	}
	doc := parseHTML(t, r.Body)
	if st := byID(doc, "sy-status"); st == nil || !strings.Contains(text(st), "could not be authenticated") {
		t.Errorf("page after failure does not say why")
	}
	if n := findAll(doc, func(n *html.Node) bool { return n.Data == "form" }); len(n) != 4 {
		t.Errorf("page after failure offers %d forms, want 4", len(n))
	}
	// Nothing to post a result to: no return URL, no redirect URL.
	if v, _ := attr(byID(doc, "sy-checkout"), "data-merchant-origin"); v != "" {
		t.Errorf("data-merchant-origin = %q, want empty", v)
	}
	checkSecurityHeaders(t, r, "'self'")
}

// TestFinish: a UPI collect payment approved later, by a gateway
// notification to /webhooks/gateway/...: the finish URL shows a waiting page
// until then, and sends the client to the merchant afterwards.
func TestFinish(t *testing.T) {
	h := newHarness(t)
	s := h.merchant("shop", "https://shop.example/r")
	r := h.do(http.MethodPut, "/sandbox/v1/processors/A", strings.NewReader(`{"late_success_after_ms": 1500}`),
		http.Header{"Authorization": {"Bearer " + adminToken}, "Content-Type": {"application/json"}})
	if r.Code != http.StatusOK {
		t.Fatalf("configuring the sandbox: %d %s", r.Code, r.Body)
	}
	o := h.order(s.m, pay.OrderInput{OrderID: "ord_upi"})
	out := h.startTxn(s.m, o, pay.TxnInput{PaymentMethodType: pay.MethodUPI, TxnType: "UPI_COLLECT", UPIVPA: "pending@upi"})
	if out.Txn.Status != pay.StatusAuthorizing || out.Next.Kind != "wait" {
		t.Fatalf("txn %s next %+v, want AUTHORIZING / wait", out.Txn.Status, out.Next)
	}
	finish := out.Next.URL
	if finish != h.srv.URL+"/pay/"+o.ID+"/finish/"+out.Txn.TxnID {
		t.Fatalf("finish URL %q", finish)
	}

	// A return while the gateway is still deciding leads back to the
	// payment page, which waits too.
	r = h.get("/pay/" + o.ID + "/return/" + out.Txn.TxnID)
	if r.Code != http.StatusSeeOther || r.location() != "/pay/"+o.ID {
		t.Fatalf("return while pending: %d → %q, want 303 → /pay/%s", r.Code, r.location(), o.ID)
	}
	r = h.get(r.location())
	if v, _ := attr(byID(parseHTML(t, r.Body), "sy-checkout"), "data-status"); r.Code != http.StatusOK || v != "AUTHORIZING" {
		t.Fatalf("payment page while pending: %d, data-status %q", r.Code, v)
	}

	r = h.get(finish)
	if r.Code != http.StatusOK {
		t.Fatalf("finish while pending: %d %s", r.Code, r.Body)
	}
	nonce := checkSecurityHeaders(t, r, "'self'", "https://shop.example")
	doc := parseHTML(t, r.Body)
	root := byID(doc, "sy-checkout")
	if root == nil {
		t.Fatal("waiting page has no #sy-checkout")
	}
	if v, _ := attr(root, "data-mode"); v != "wait" {
		t.Errorf("data-mode = %q", v)
	}
	if v, _ := attr(root, "data-finish-url"); v != strings.TrimPrefix(finish, h.srv.URL) {
		t.Errorf("data-finish-url = %q", v)
	}
	tok, _ := attr(root, "data-token")
	if got, _, err := h.svc.VerifyClientToken(context.Background(), tok); err != nil || got.ID != o.ID {
		t.Errorf("waiting page token does not verify: %v", err)
	}
	scripts := findAll(doc, tag("script"))
	if len(scripts) != 1 {
		t.Fatalf("%d scripts", len(scripts))
	}
	if v, _ := attr(scripts[0], "nonce"); v != nonce {
		t.Errorf("script nonce %q, CSP %q", v, nonce)
	}

	deadline := time.Now().Add(20 * time.Second)
	for r.Code == http.StatusOK && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		r = h.get(finish)
	}
	if r.Code != http.StatusSeeOther {
		t.Fatalf("finish never redirected: %d", r.Code)
	}
	to := mustParse(t, r.location())
	if to.Host != "shop.example" || to.Query().Get("status") != "CHARGED" || !verifySignature(s.responseKey, to.Query()) {
		t.Errorf("finish redirect %s", to)
	}

	if r = h.get("/pay/" + o.ID + "/finish/shop-ord_upi-7"); r.Code != http.StatusNotFound {
		t.Errorf("finish of an unknown txn: %d", r.Code)
	}
}

func TestGatewayNotification(t *testing.T) {
	h := newHarness(t)
	h.merchant("shop", "https://shop.example/r")
	post := func(path, body string, header http.Header) response {
		if header == nil {
			header = http.Header{}
		}
		header.Set("Content-Type", "application/json")
		return h.do(http.MethodPost, path, strings.NewReader(body), header)
	}
	errorCode := func(r response) string {
		var e struct {
			ErrorCode string `json:"error_code"`
		}
		if err := json.Unmarshal([]byte(r.Body), &e); err != nil {
			t.Errorf("error body is not JSON: %s", r.Body)
		}
		return e.ErrorCode
	}

	r := post("/webhooks/gateway/shop/sandbox_a", `{"txn_id":"shop-x-1","status":"succeeded"}`,
		http.Header{"X-Sandbox-Signature": {strings.Repeat("ab", 32)}})
	if r.Code != http.StatusUnauthorized || errorCode(r) == "" {
		t.Errorf("forged notification: %d %s", r.Code, r.Body)
	}
	if r = post("/webhooks/gateway/shop/nope", `{}`, nil); r.Code != http.StatusNotFound {
		t.Errorf("unknown gateway: %d %s", r.Code, r.Body)
	}
	if r = post("/webhooks/gateway/nobody/sandbox_a", `{}`, nil); r.Code != http.StatusNotFound {
		t.Errorf("unknown merchant: %d %s", r.Code, r.Body)
	}
	big := `{"pad":"` + strings.Repeat("x", 70<<10) + `"}`
	if r = post("/webhooks/gateway/shop/sandbox_a", big, nil); r.Code != http.StatusBadRequest || !strings.Contains(r.Body, "too large") {
		t.Errorf("oversized notification: %d %s", r.Code, r.Body)
	}
	// The accepted path is exercised by TestFinish, through the sandbox's
	// own signed notifications.
}

func TestDemoResult(t *testing.T) {
	h := newHarness(t)
	demo := h.merchant("demo", h.srv.URL+"/demo/result")
	o := h.order(demo.m, pay.OrderInput{OrderID: "demo_1"})
	out := h.startTxn(demo.m, o, card("4242424242424242"))
	ret := h.svc.ReturnURL(demo.m, out.Order)
	if !strings.HasPrefix(ret, h.srv.URL+"/demo/result?") {
		t.Fatalf("demo return URL %q", ret)
	}

	check := func(t *testing.T, target, wantVerdict string) {
		t.Helper()
		r := h.get(target)
		if r.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", target, r.Code, r.Body)
		}
		checkSecurityHeaders(t, r)
		doc := parseHTML(t, r.Body)
		v := byID(doc, "sy-signature")
		if v == nil || !strings.Contains(text(v), wantVerdict) {
			t.Errorf("GET %s: verdict %q, want %q", target, text(v), wantVerdict)
		}
		if !strings.Contains(text(doc), "demo_1") || !strings.Contains(text(doc), "CHARGED") {
			t.Errorf("result page lacks the order id or status")
		}
	}
	t.Run("valid", func(t *testing.T) { check(t, ret, "Signature verified") })
	t.Run("tampered", func(t *testing.T) {
		check(t, strings.Replace(ret, "status_id=21", "status_id=22", 1), "does NOT verify")
		check(t, strings.Replace(ret, "order_id=demo_1", "order_id=demo_1&extra=1", 1), "does NOT verify")
	})
	t.Run("unsigned", func(t *testing.T) {
		check(t, "/demo/result?order_id=demo_1&status=CHARGED&status_id=21", "No signature")
	})
}

func TestStatic(t *testing.T) {
	h := newHarness(t)
	s := h.merchant("shop", "https://shop.example/r")
	o := h.order(s.m, pay.OrderInput{OrderID: "ord_static"})
	doc := parseHTML(t, h.get("/pay/"+o.ID).Body)
	var assets []string
	for _, n := range findAll(doc, func(n *html.Node) bool { return n.Data == "script" || n.Data == "link" }) {
		for _, k := range []string{"src", "href"} {
			if v, ok := attr(n, k); ok {
				assets = append(assets, v)
			}
		}
	}
	if len(assets) != 3 {
		t.Fatalf("assets %v, want base.css, checkout.css, checkout.js", assets)
	}
	for _, a := range assets {
		r := h.get(a)
		if r.Code != http.StatusOK || len(r.Body) == 0 {
			t.Errorf("GET %s: %d", a, r.Code)
			continue
		}
		if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
			t.Errorf("GET %s: Cache-Control %q", a, cc)
		}
		wantType := "text/css"
		if strings.Contains(a, ".js") {
			wantType = "text/javascript"
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, wantType) {
			t.Errorf("GET %s: Content-Type %q", a, ct)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("ETag") == "" {
			t.Errorf("GET %s: headers %v", a, r.Header)
		}
		unversioned := strings.Split(a, "?")[0]
		if r := h.get(unversioned); r.Code != http.StatusOK || r.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: %d, Cache-Control %q", unversioned, r.Code, r.Header.Get("Cache-Control"))
		}
		if r := h.do(http.MethodGet, a, nil, http.Header{"If-None-Match": {r.Header.Get("ETag")}}); r.Code != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d", a, r.Code)
		}
	}
	for _, p := range []string{"/static/nope.js", "/static/js/", "/static/js", "/static/../go.mod", "/static/%2e%2e/templates/error.html"} {
		if r := h.get(p); r.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, r.Code)
		}
	}
	if r := h.do(http.MethodHead, assets[2], nil, nil); r.Code != http.StatusOK || r.Body != "" {
		t.Errorf("HEAD %s: %d", assets[2], r.Code)
	}
}

// verifySignature checks a return URL's signature as a merchant does
// (reference §6): the form-encoded HMAC over every other parameter.
func verifySignature(key string, q url.Values) bool {
	params := map[string]string{}
	for k, v := range q {
		if k != "signature" && k != "signature_algorithm" {
			params[k] = v[0]
		}
	}
	want := strings.NewReplacer("%2A", "*", "~", "%7E").Replace(url.QueryEscape(pay.SignReturnParams(key, params)))
	return q.Get("signature_algorithm") == "HMAC-SHA256" && q.Get("signature") == want
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
