package e2e_test

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMerchantSessionAndOrderStatus is the foundation's "done when": a
// merchant created through the admin API creates a session and reads the
// order back through the Order Status API.
func TestMerchantSessionAndOrderStatus(t *testing.T) {
	s := boot(t)

	wantError(t, s.postJSON(t, "/admin/v1/merchants", nil, `{"merchant_id":"x","name":"x"}`), http.StatusUnauthorized)
	wantError(t, s.postJSON(t, "/admin/v1/merchants", bearer("adm_wrong_0123456789abcdef"), `{"merchant_id":"x","name":"x"}`), http.StatusUnauthorized)
	shop := s.createMerchant(t, "e2e_shop")
	key := basic(shop.APIKey)

	start := time.Now()
	var sess session
	s.postForm(t, "/session", key, url.Values{
		"order_id":       {"ord_e2e_1"},
		"amount":         {"1234.50"},
		"currency":       {"INR"},
		"customer_id":    {"cust_1"},
		"customer_email": {"shopper@example.com"},
		"return_url":     {"https://shop.example/return"},
		"action":         {"paymentPage"},
	}).want(t, http.StatusOK).decode(t, &sess)
	if sess.Status != "NEW" || sess.OrderID != "ord_e2e_1" || sess.ID == "" {
		t.Errorf("session: status %q, order_id %q, id %q", sess.Status, sess.OrderID, sess.ID)
	}
	if want := s.URL + "/pay/" + sess.ID; sess.PaymentLinks.Web != want {
		t.Errorf("payment_links.web = %q, want %q", sess.PaymentLinks.Web, want)
	}
	if exp := parseTime(t, "payment_links.expiry", sess.PaymentLinks.Expiry); !exp.After(start) {
		t.Errorf("payment_links.expiry %s is not in the future", exp)
	}
	p := sess.SDKPayload.Payload
	for field, want := range map[string]string{
		"merchantId": "e2e_shop", "orderId": "ord_e2e_1", "currency": "INR", "customerId": "cust_1",
		"returnUrl": "https://shop.example/return", "action": "paymentPage", "environment": "sandbox",
	} {
		if p[field] != want {
			t.Errorf("sdk_payload.payload.%s = %q, want %q", field, p[field], want)
		}
	}
	sameAmount(t, "sdk_payload.payload.amount", p["amount"], "1234.5")
	if sess.SDKPayload.RequestID == "" || sess.SDKPayload.Service == "" {
		t.Errorf("sdk_payload lacks requestId or service: %+v", sess.SDKPayload)
	}
	header, claims := jwtParts(t, p["clientAuthToken"])
	if header["kid"] == nil || header["kid"] == "" {
		t.Errorf("client auth token has no kid header: %v", header)
	}
	if aud, _ := claims["aud"].([]any); !slices.Contains(aud, any("sdk")) && claims["aud"] != "sdk" {
		t.Errorf("client auth token audience %v, want sdk", claims["aud"])
	}
	expiry := parseTime(t, "clientAuthTokenExpiry", p["clientAuthTokenExpiry"])
	if exp, _ := claims["exp"].(float64); int64(exp) != expiry.Unix() || !expiry.After(start) {
		t.Errorf("client auth token exp %v, clientAuthTokenExpiry %s", claims["exp"], expiry)
	}

	// The Order Status API shows the same order.
	var o order
	s.get(t, "/orders/ord_e2e_1", key).want(t, http.StatusOK).decode(t, &o)
	if o.ID != sess.ID || o.OrderID != "ord_e2e_1" || o.MerchantID != "e2e_shop" || o.CustomerID != "cust_1" ||
		o.CustomerEmail != "shopper@example.com" || o.ReturnURL != "https://shop.example/return" {
		t.Errorf("order: %+v", o)
	}
	if o.Status != "NEW" || o.StatusID != 10 {
		t.Errorf("order status %q/%d, want NEW/10", o.Status, o.StatusID)
	}
	sameAmount(t, "amount", o.Amount.String(), "1234.50")
	if o.Currency != "INR" {
		t.Errorf("currency %q, want INR", o.Currency)
	}
	if o.PaymentLinks.Web != sess.PaymentLinks.Web {
		t.Errorf("order payment_links.web %q, session's %q", o.PaymentLinks.Web, sess.PaymentLinks.Web)
	}

	// JSON works as well as the form, amounts as JSON numbers included.
	var js session
	s.postJSON(t, "/session", key, `{"order_id":"ord_e2e_2","amount":99.99,"currency":"INR","customer_id":"cust_1"}`).
		want(t, http.StatusOK).decode(t, &js)
	if js.OrderID != "ord_e2e_2" || js.SDKPayload.Payload["clientAuthToken"] == "" {
		t.Errorf("JSON session: %+v", js)
	}
	s.get(t, "/orders/ord_e2e_2", key).want(t, http.StatusOK).decode(t, &o)
	sameAmount(t, "JSON order amount", o.Amount.String(), "99.99")

	// A repeated order_id with the same amount is the same order; with
	// another amount it is refused, naming the field.
	var again session
	s.postForm(t, "/session", key, url.Values{"order_id": {"ord_e2e_1"}, "amount": {"1234.5"}, "currency": {"INR"}, "customer_id": {"cust_1"}}).
		want(t, http.StatusOK).decode(t, &again)
	if again.ID != sess.ID {
		t.Errorf("repeated session made order %q, want the existing %q", again.ID, sess.ID)
	}
	e := wantError(t, s.postForm(t, "/session", key, url.Values{"order_id": {"ord_e2e_1"}, "amount": {"1"}, "currency": {"INR"}, "customer_id": {"cust_1"}}), http.StatusBadRequest)
	if len(e.ErrorInfo.Fields) == 0 || e.ErrorInfo.Fields[0].FieldName != "amount" {
		t.Errorf("another amount for an existing order_id: fields %+v, want amount", e.ErrorInfo.Fields)
	}
	s.get(t, "/orders/ord_e2e_1", key).want(t, http.StatusOK).decode(t, &o)
	sameAmount(t, "amount after the refused request", o.Amount.String(), "1234.5")

	// POST /orders with a client auth token.
	var created order
	s.postForm(t, "/orders", key, url.Values{"order_id": {"ord_e2e_3"}, "amount": {"10"}, "currency": {"INR"},
		"customer_id": {"cust_1"}, "options.get_client_auth_token": {"true"}}).want(t, http.StatusOK).decode(t, &created)
	if created.Juspay == nil || created.Juspay.ClientAuthToken == "" || created.Status != "NEW" {
		t.Errorf("POST /orders with options.get_client_auth_token: %+v", created)
	}

	// Merchants are isolated, unknown orders are NOT_FOUND, bad keys 401.
	other := s.createMerchant(t, "e2e_other")
	r := s.get(t, "/orders/ord_e2e_1", basic(other.APIKey)).want(t, http.StatusNotFound)
	var nf struct {
		Status   string `json:"status"`
		StatusID int    `json:"status_id"`
	}
	r.decode(t, &nf)
	if nf.Status != "NOT_FOUND" || nf.StatusID != 40 {
		t.Errorf("another merchant's order: %s, want NOT_FOUND/40", r.Body)
	}
	wantError(t, s.get(t, "/orders/ord_e2e_1", basic("sk_not_a_key")), http.StatusUnauthorized)
	wantError(t, s.get(t, "/orders/ord_e2e_1", nil), http.StatusUnauthorized)
}

// TestIdempotencyKey checks the Idempotency-Key rules the README states.
func TestIdempotencyKey(t *testing.T) {
	s := boot(t)
	key := basic(s.createMerchant(t, "e2e_idem").APIKey)
	form := url.Values{"order_id": {"ord_idem_1"}, "amount": {"10.00"}, "currency": {"INR"}, "customer_id": {"c"}}

	first := s.postForm(t, "/session", key, form, "Idempotency-Key", "k1").want(t, http.StatusOK)
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("first request marked Idempotent-Replayed")
	}
	replay := s.postForm(t, "/session", key, form, "Idempotency-Key", "k1").want(t, http.StatusOK)
	if replay.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeated request: Idempotent-Replayed %q, want true", replay.Header.Get("Idempotent-Replayed"))
	}
	// A fresh session would carry a new requestId and token; a replay is
	// byte for byte the first response.
	if !bytes.Equal(first.Body, replay.Body) {
		t.Errorf("replayed body differs:\nfirst:  %s\nreplay: %s", first.Body, replay.Body)
	}

	other := url.Values{"order_id": {"ord_idem_2"}, "amount": {"10.00"}, "currency": {"INR"}, "customer_id": {"c"}}
	wantError(t, s.postForm(t, "/session", key, other, "Idempotency-Key", "k1"), http.StatusUnprocessableEntity)
	s.get(t, "/orders/ord_idem_2", key).want(t, http.StatusNotFound)

	// A failed request is not stored: the key may be retried with a
	// corrected body.
	bad := url.Values{"order_id": {"ord_idem_3"}, "amount": {"1.234"}, "currency": {"INR"}, "customer_id": {"c"}}
	wantError(t, s.postForm(t, "/session", key, bad, "Idempotency-Key", "k2"), http.StatusBadRequest)
	good := url.Values{"order_id": {"ord_idem_3"}, "amount": {"1.23"}, "currency": {"INR"}, "customer_id": {"c"}}
	r := s.postForm(t, "/session", key, good, "Idempotency-Key", "k2").want(t, http.StatusOK)
	if r.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("retry after a failure was replayed")
	}

	// Keys are per merchant.
	key2 := basic(s.createMerchant(t, "e2e_idem2").APIKey)
	r = s.postForm(t, "/session", key2, form, "Idempotency-Key", "k1").want(t, http.StatusOK)
	var sess session
	r.decode(t, &sess)
	if r.Header.Get("Idempotent-Replayed") != "" || sess.SDKPayload.Payload["merchantId"] != "e2e_idem2" {
		t.Errorf("another merchant's key k1 replayed: %s", r.Body)
	}
}

// TestDemoSeed checks what `go run ./server/cmd/switchyard` hands a newcomer:
// SeedDemo's API key works and its payment link is the order's.
func TestDemoSeed(t *testing.T) {
	s := boot(t)
	d, err := s.App.SeedDemo(t.Context())
	if err != nil {
		t.Fatalf("SeedDemo: %v", err)
	}
	if d.MerchantID != "demo" || !strings.HasPrefix(d.APIKey, "sk_") || d.OrderID == "" {
		t.Fatalf("demo: %+v", d)
	}
	if !strings.HasPrefix(d.PaymentLink, s.URL+"/pay/") {
		t.Errorf("demo payment link %q is not under %s/pay/", d.PaymentLink, s.URL)
	}
	var o order
	s.get(t, "/orders/"+d.OrderID, basic(d.APIKey)).want(t, http.StatusOK).decode(t, &o)
	if o.Status != "NEW" || o.StatusID != 10 || o.MerchantID != "demo" || o.PaymentLinks.Web != d.PaymentLink {
		t.Errorf("demo order: %+v, want NEW/10 of demo with link %s", o, d.PaymentLink)
	}
	sameAmount(t, "demo order amount", o.Amount.String(), "100.00")

	// The demo merchant has a sandbox gateway, so it can take payments.
	var pm struct {
		PaymentMethods []struct {
			Type string `json:"payment_method_type"`
		} `json:"payment_methods"`
	}
	s.get(t, "/merchants/demo/paymentmethods", nil).want(t, http.StatusOK).decode(t, &pm)
	if len(pm.PaymentMethods) == 0 {
		t.Errorf("demo merchant offers no payment methods")
	}

	var banner bytes.Buffer
	s.App.PrintBanner(&banner, &d)
	for _, want := range []string{d.APIKey, d.PaymentLink, d.OrderID, s.URL} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, banner.String())
		}
	}

	// Seeding again (a restart on a kept database) issues another key for
	// the existing merchant; the first stays valid.
	d2, err := s.App.SeedDemo(t.Context())
	if err != nil {
		t.Fatalf("second SeedDemo: %v", err)
	}
	if d2.APIKey == "" || d2.APIKey == d.APIKey || d2.OrderID == d.OrderID {
		t.Errorf("second seed: %+v (first %+v)", d2, d)
	}
	s.get(t, "/orders/"+d2.OrderID, basic(d2.APIKey)).want(t, http.StatusOK)
	s.get(t, "/orders/"+d2.OrderID, basic(d.APIKey)).want(t, http.StatusOK)
}
