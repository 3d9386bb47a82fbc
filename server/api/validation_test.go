package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// fixture is the state the bad requests of TestBadRequestsChangeNothing run
// against.
type fixture struct {
	ts *testServer
	// key is merchant m1's API key; otherKey is merchant m2's; revoked was
	// m1's until it was revoked.
	key, otherKey, revoked string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ts := newTestServer(t)
	f := &fixture{ts: ts}
	f.key = ts.createMerchant(t, "m1", map[string]any{"allowed_return_hosts": []string{"shop.example.com"}}).APIKey
	f.otherKey = ts.createMerchant(t, "m2", nil).APIKey
	f.revoked = ts.send(t, adminReq(http.MethodPost, "/admin/v1/merchants/m1/api-keys", nil)).
		wantStatus(t, http.StatusCreated).str(t, "api_key")
	ts.send(t, adminReq(http.MethodDelete, "/admin/v1/merchants/m1/api-keys/"+apiKeyID(t, ts, "m1", f.revoked), nil)).
		wantStatus(t, http.StatusNoContent)
	ts.createOrder(t, f.key, "order_id=ord_existing&amount=10")
	ts.send(t, formReq(f.key, http.MethodPost, "/customers", "object_reference_id=cust_existing&first_name=A")).
		wantStatus(t, http.StatusOK)
	ts.putSandboxGateway(t, "m1", "g1", "CARD")
	return f
}

// apiKeyID finds the id of a merchant's API key by its prefix.
func apiKeyID(t testing.TB, ts *testServer, merchantID, key string) string {
	t.Helper()
	r := ts.send(t, adminReq(http.MethodGet, "/admin/v1/merchants/"+merchantID+"/api-keys", nil)).wantStatus(t, http.StatusOK)
	keys, _ := r.obj(t)["api_keys"].([]any)
	for _, k := range keys {
		k := k.(map[string]any)
		if strings.HasPrefix(key, k["prefix"].(string)) {
			return k["id"].(string)
		}
	}
	t.Fatalf("no key with a prefix of %s in %s", key[:12], r.Body)
	return ""
}

// newOrderIDs numbers the order ids of orderForm.
var newOrderIDs atomic.Int64

// orderForm is a valid order body, for an order_id of its own, with fields
// changed or added. An order_id of its own keeps one case that wrongly
// creates an order from changing how the next is refused.
func orderForm(kv ...string) string {
	id := fmt.Sprintf("ord_new_%d", newOrderIDs.Add(1))
	v := url.Values{"order_id": {id}, "amount": {"100.00"}, "customer_email": {"a@example.com"}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

func gatewayBody(kv ...any) map[string]any {
	b := map[string]any{"connector": "sandbox", "payment_methods": []string{"CARD"}, "currencies": []string{"INR"}}
	for i := 0; i+1 < len(kv); i += 2 {
		b[kv[i].(string)] = kv[i+1]
	}
	return b
}

func routingBody(rules ...any) map[string]any {
	return map[string]any{"mode": "SUCCESS_RATE", "priority": []string{"g1"}, "rules": rules}
}

// hugeMetadata is an order with 70 metadata keys of 1000 characters: each
// within the per-key limit, 70 kB together.
func hugeMetadata() string {
	v := url.Values{"order_id": {"ord_meta"}, "amount": {"1"}}
	for i := range 70 {
		v.Set(fmt.Sprintf("metadata.k%d", i), strings.Repeat("x", 1000))
	}
	return v.Encode()
}

// leakMarkers are fragments of internal errors that must never reach a
// client.
var leakMarkers = []string{"Error 1", "sql:", "store.", "orchestrator.", "panic", "goroutine", "mysql", ".go:"}

// TestBadRequestsChangeNothing sends bad requests and checks each is refused
// with the right status, naming the right fields in Juspay's error shape, and
// that the database is exactly as it was before.
func TestBadRequestsChangeNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.ts
	post := func(body string, extra ...string) func(f *fixture) req {
		return func(f *fixture) req { return formReq(f.key, http.MethodPost, "/orders", body, extra...) }
	}
	postJSON := func(path string, body any) func(f *fixture) req {
		return func(f *fixture) req { return jsonReq(f.key, http.MethodPost, path, body) }
	}
	admin := func(method, path string, body any, extra ...string) func(f *fixture) req {
		return func(*fixture) req { return adminReq(method, path, body, extra...) }
	}
	withAuth := func(auth string) func(f *fixture) req {
		return func(f *fixture) req {
			r := formReq("", http.MethodPost, "/orders", orderForm())
			if auth != "" {
				r.header.Set("Authorization", auth)
			}
			return r
		}
	}
	tooBig := "order_id=ord_lit_1&amount=1&pad=" + strings.Repeat("x", 1<<20)

	tests := []struct {
		name   string
		req    func(f *fixture) req
		status int
		// fields are the error_info.fields[].field_name expected, in order.
		fields []string
	}{
		// Orders: field validation.
		{"order_id with a space", post(orderForm("order_id", "bad id")), 400, []string{"order_id"}},
		{"order_id of 65 characters", post(orderForm("order_id", strings.Repeat("o", 65))), 400, []string{"order_id"}},
		{"order_id missing", post("amount=1"), 400, []string{"order_id"}},
		{"amount with 3 decimals", post(orderForm("amount", "100.153")), 400, []string{"amount"}},
		{"amount 0", post(orderForm("amount", "0")), 400, []string{"amount"}},
		{"amount negative", post(orderForm("amount", "-5")), 400, []string{"amount"}},
		{"amount missing", post("order_id=ord_lit_2"), 400, []string{"amount"}},
		{"amount as a JSON exponent", postJSON("/orders", `{"order_id":"ord_lit_3","amount":1e3}`), 400, []string{"amount"}},
		{"amount as JSON true", postJSON("/orders", `{"order_id":"ord_lit_4","amount":true}`), 400, []string{"amount"}},
		{"unknown currency", post(orderForm("currency", "XYZ")), 400, []string{"currency"}},
		{"bad email", post(orderForm("customer_email", "nope")), 400, []string{"customer_email"}},
		{"bad phone", post(orderForm("customer_phone", "12")), 400, []string{"customer_phone"}},
		{"return_url host not allowed", post(orderForm("return_url", "https://evil.example.net/r")), 400, []string{"return_url"}},
		{"return_url javascript", post(orderForm("return_url", "javascript:alert(1)")), 400, []string{"return_url"}},
		{"udf too long", post(orderForm("udf3", strings.Repeat("u", 256))), 400, []string{"udf3"}},
		{"bad option value", post(orderForm("options.get_client_auth_token", "maybe")), 400, []string{"options.get_client_auth_token"}},
		{"several bad fields", post(orderForm("order_id", "a b", "amount", "0.001", "customer_email", "x")), 400,
			[]string{"order_id", "amount", "customer_email"}},
		// metadata is one TEXT column; 70 kB of it cannot be stored.
		{"metadata too large", post(hugeMetadata()), 400, []string{"metadata"}},
		// Text columns are utf8mb4.
		{"description not UTF-8", post(orderForm() + "&description=%FF"), 400, []string{"description"}},

		// Orders: body encoding.
		{"form key given twice", post(orderForm() + "&amount=1"), 400, []string{"amount"}},
		{"JSON key given twice", postJSON("/orders", `{"order_id":"ord_lit_5","amount":"100","amount":"1"}`), 400, []string{"amount"}},
		{"unknown content type", func(f *fixture) req {
			r := formReq(f.key, http.MethodPost, "/orders", orderForm())
			r.contentType = "text/plain"
			return r
		}, 400, []string{}},
		{"malformed JSON", postJSON("/orders", `{"order_id":"ord_lit_6","amount":`), 400, []string{}},
		{"JSON with trailing data", postJSON("/orders", `{"order_id":"ord_lit_7","amount":"1"}}`), 400, []string{}},
		{"JSON array", postJSON("/orders", `[{"order_id":"ord_lit_8","amount":"1"}]`), 400, []string{}},
		{"malformed form", post("order_id=ord_lit_9&amount=%zz"), 400, []string{}},
		{"body over 1 MiB", post(tooBig), 400, []string{}},
		{"chunked body over 1 MiB", func(f *fixture) req {
			r := formReq(f.key, http.MethodPost, "/orders", "")
			// A reader of unknown length makes the client send it chunked,
			// with no Content-Length to refuse it by.
			r.body = io.MultiReader(strings.NewReader(tooBig))
			return r
		}, 400, []string{}},
		{"body over 1 MiB with an Idempotency-Key", post(tooBig, "Idempotency-Key", "big-1"), 400, []string{}},

		// Session.
		{"session action not supported", postJSON("/session", map[string]any{"order_id": "ord_sess_1", "amount": "1",
			"action": "paymentManagement"}), 400, []string{"action"}},
		{"session bad amount", postJSON("/session", map[string]any{"order_id": "ord_sess_2", "amount": "1.001"}), 400, []string{"amount"}},
		{"session bad return_url", postJSON("/session", map[string]any{"order_id": "ord_sess_3", "amount": "1",
			"return_url": "https://evil.example.net/"}), 400, []string{"return_url"}},

		// Headers.
		{"version not a date", post(orderForm(), "version", "2023/06/30"), 400, []string{"version"}},
		{"version not a real date", post(orderForm(), "version", "2023-13-45"), 400, []string{"version"}},
		{"Idempotency-Key of 256 characters", post(orderForm(), "Idempotency-Key", strings.Repeat("k", 256)), 400,
			[]string{"Idempotency-Key"}},
		{"Idempotency-Key not UTF-8", post(orderForm(), "Idempotency-Key", "key-\xff"), 400, []string{"Idempotency-Key"}},

		// Authentication.
		{"no Authorization", withAuth(""), 401, []string{}},
		{"Bearer instead of Basic", withAuth("Bearer " + adminToken), 401, []string{}},
		{"Basic not base64", withAuth("Basic !!!"), 401, []string{}},
		{"Basic with an empty user", withAuth(basicAuth("")), 401, []string{}},
		{"wrong API key", withAuth(basicAuth("sk_" + strings.Repeat("0", 48))), 401, []string{}},
		{"admin token as API key", withAuth(basicAuth(adminToken)), 401, []string{}},
		{"revoked API key", func(f *fixture) req { return formReq(f.revoked, http.MethodPost, "/orders", orderForm()) }, 401, []string{}},
		{"x-merchantid of another merchant", post(orderForm(), "x-merchantid", "m2"), 403, []string{}},
		{"x-merchant-id of another merchant", post(orderForm(), "x-merchant-id", "m2"), 403, []string{}},
		{"x-merchantid of no merchant", post(orderForm(), "x-merchantid", "nobody"), 403, []string{}},

		// Order update.
		{"update a field that cannot change", func(f *fixture) req {
			return formReq(f.key, http.MethodPost, "/orders/ord_existing", "customer_email=b%40example.com")
		}, 400, []string{"customer_email"}},
		{"update a misspelt udf", func(f *fixture) req {
			return formReq(f.key, http.MethodPost, "/orders/ord_existing", "udf01=x")
		}, 400, []string{"udf01"}},
		{"update with a bad amount", func(f *fixture) req {
			return formReq(f.key, http.MethodPost, "/orders/ord_existing", "amount=1.001")
		}, 400, []string{"amount"}},
		{"update with a too long udf", func(f *fixture) req {
			return formReq(f.key, http.MethodPost, "/orders/ord_existing", "udf1="+strings.Repeat("u", 256))
		}, 400, []string{"udf1"}},
		{"update another merchant's order", func(f *fixture) req {
			return formReq(f.otherKey, http.MethodPost, "/orders/ord_existing", "amount=1")
		}, 404, nil},
		{"update an unknown order", func(f *fixture) req {
			return formReq(f.key, http.MethodPost, "/orders/ord_nope", "amount=1")
		}, 404, nil},
		{"get an order id that is not UTF-8", func(f *fixture) req { return getReq(f.key, "/orders/%FF") }, 404, nil},

		// Customers.
		{"customer bad email", postJSON("/customers", map[string]any{"object_reference_id": "c2", "email_address": "x"}),
			400, []string{"email_address"}},
		{"customer email too long", postJSON("/customers", map[string]any{"object_reference_id": "c2",
			"email_address": strings.Repeat("a", 250) + "@example.com"}), 400, []string{"email_address"}},
		{"customer without reference", postJSON("/customers", map[string]any{"first_name": "A"}), 400,
			[]string{"object_reference_id"}},
		{"customer reference taken with other details", postJSON("/customers", map[string]any{
			"object_reference_id": "cust_existing", "first_name": "B"}), 409, []string{}},

		// Admin API.
		{"admin without token", func(*fixture) req {
			return req{method: http.MethodPost, path: "/admin/v1/merchants", body: strings.NewReader(`{"merchant_id":"m3","name":"x"}`),
				contentType: "application/json"}
		}, 401, []string{}},
		{"admin with a wrong token", admin(http.MethodPost, "/admin/v1/merchants", map[string]any{"merchant_id": "m3", "name": "x"},
			"Authorization", "Bearer wrong-token"), 401, []string{}},
		{"admin with an API key", func(f *fixture) req {
			r := adminReq(http.MethodPost, "/admin/v1/merchants", map[string]any{"merchant_id": "m3", "name": "x"})
			r.header.Set("Authorization", "Bearer "+f.key)
			return r
		}, 401, []string{}},
		{"admin with the token as Basic", func(*fixture) req {
			r := adminReq(http.MethodGet, "/admin/v1/merchants/m1", nil)
			r.header.Set("Authorization", basicAuth(adminToken))
			return r
		}, 401, []string{}},
		{"create merchant with an unknown field", admin(http.MethodPost, "/admin/v1/merchants",
			map[string]any{"merchant_id": "m3", "name": "x", "webhook_secret": "s"}), 400, []string{"webhook_secret"}},
		{"create merchant with a wrong type", admin(http.MethodPost, "/admin/v1/merchants",
			map[string]any{"merchant_id": "m3", "name": "x", "order_timeout_minutes": "30"}), 400, []string{"order_timeout_minutes"}},
		{"create merchant without id", admin(http.MethodPost, "/admin/v1/merchants", map[string]any{"name": "x"}), 400,
			[]string{"merchant_id"}},
		{"create merchant with a bad id", admin(http.MethodPost, "/admin/v1/merchants", map[string]any{"merchant_id": "m 3", "name": "x"}),
			400, []string{"merchant_id"}},
		{"create merchant twice", admin(http.MethodPost, "/admin/v1/merchants", map[string]any{"merchant_id": "m1", "name": "again"}),
			409, []string{}},
		{"create merchant with a bad host", admin(http.MethodPost, "/admin/v1/merchants", map[string]any{"merchant_id": "m3", "name": "x",
			"allowed_return_hosts": []string{"https://shop.example.com/"}}), 400, []string{"allowed_return_hosts[0]"}},
		{"create merchant with a long webhook password", admin(http.MethodPost, "/admin/v1/merchants", map[string]any{
			"merchant_id": "m3", "name": "x", "webhook_password": strings.Repeat("p", 1000)}), 400, []string{"webhook_password"}},
		{"create merchant with an empty body", admin(http.MethodPost, "/admin/v1/merchants", ""), 400, []string{}},
		{"create merchant with two objects", admin(http.MethodPost, "/admin/v1/merchants",
			`{"merchant_id":"m3","name":"x"}{"merchant_id":"m4","name":"y"}`), 400, []string{}},
		{"patch the merchant id", admin(http.MethodPatch, "/admin/v1/merchants/m1", map[string]any{"merchant_id": "m9"}), 400,
			[]string{"merchant_id"}},
		{"patch a bad currency", admin(http.MethodPatch, "/admin/v1/merchants/m1", map[string]any{"default_currency": "XYZ"}), 400,
			[]string{"default_currency"}},
		{"patch an unknown merchant", admin(http.MethodPatch, "/admin/v1/merchants/m9", map[string]any{"name": "x"}), 404, []string{}},
		{"gateway with an unknown connector", admin(http.MethodPut, "/admin/v1/merchants/m1/gateways/g2",
			gatewayBody("connector", "paypal")), 400, []string{"connector"}},
		{"gateway with a bad currency", admin(http.MethodPut, "/admin/v1/merchants/m1/gateways/g2",
			gatewayBody("currencies", []string{"RUPEE"})), 400, []string{"currencies"}},
		{"gateway with a fee of 150%", admin(http.MethodPut, "/admin/v1/merchants/m1/gateways/g2",
			gatewayBody("fee_percent", 150)), 400, []string{"fee_percent"}},
		{"gateway with a fee that is not a number", admin(http.MethodPut, "/admin/v1/merchants/m1/gateways/g2",
			gatewayBody("fee_percent", "abc")), 400, []string{"fee_percent"}},
		{"gateway with a negative fixed fee", admin(http.MethodPut, "/admin/v1/merchants/m1/gateways/g2",
			gatewayBody("fee_fixed", -1)), 400, []string{"fee_fixed"}},
		{"gateway with credentials too large to store", admin(http.MethodPut, "/admin/v1/merchants/m1/gateways/g2",
			gatewayBody("credentials", map[string]string{"a": strings.Repeat("x", 1000), "b": strings.Repeat("x", 1000),
				"c": strings.Repeat("x", 1000), "d": strings.Repeat("x", 1000), "e": strings.Repeat("x", 1000)})),
			400, []string{"credentials"}},
		{"gateway with a bad name", admin(http.MethodPut, "/admin/v1/merchants/m1/gateways/g%20x", gatewayBody()), 400,
			[]string{"name"}},
		{"gateway of an unknown merchant", admin(http.MethodPut, "/admin/v1/merchants/m9/gateways/g2", gatewayBody()), 404, []string{}},
		{"gateway replaced with an unknown connector", admin(http.MethodPut, "/admin/v1/merchants/m1/gateways/g1",
			gatewayBody("connector", "paypal")), 400, []string{"connector"}},
		{"routing with an unknown gateway", admin(http.MethodPut, "/admin/v1/merchants/m1/routing",
			map[string]any{"mode": "PRIORITY", "priority": []string{"g1", "nope"}}), 400, []string{"priority"}},
		{"routing with a split not summing to 100", admin(http.MethodPut, "/admin/v1/merchants/m1/routing",
			routingBody(map[string]any{"then": map[string]any{"type": "SPLIT", "split": []any{
				map[string]any{"gateway": "g1", "percent": 90}}}})), 400, []string{"rules[0].then.split"}},
		{"routing with a bad BIN range", admin(http.MethodPut, "/admin/v1/merchants/m1/routing",
			routingBody(map[string]any{"name": "bins", "when": map[string]any{"bin_ranges": []string{"4-5"}},
				"then": map[string]any{"type": "ENFORCE", "gateways": []string{"g1"}}})), 400, []string{"rules[0] (bins).when.bin_ranges"}},
		{"routing with NaN as an amount", admin(http.MethodPut, "/admin/v1/merchants/m1/routing",
			routingBody(map[string]any{"when": map[string]any{"amount_min": "NaN"},
				"then": map[string]any{"type": "ENFORCE", "gateways": []string{"g1"}}})), 400, []string{"rules[0].when.amount_min"}},
		{"routing with an unknown field", admin(http.MethodPut, "/admin/v1/merchants/m1/routing",
			routingBody(map[string]any{"when": map[string]any{"bin_range": []string{"400000-400001"}},
				"then": map[string]any{"type": "ENFORCE", "gateways": []string{"g1"}}})), 400, []string{"bin_range"}},
		{"routing of an unknown merchant", admin(http.MethodPut, "/admin/v1/merchants/m9/routing", routingBody()), 404, []string{}},
		{"revoke an unknown API key", admin(http.MethodDelete, "/admin/v1/merchants/m1/api-keys/key_nope", nil), 404, []string{}},
		{"revoke another merchant's key", func(f *fixture) req {
			return adminReq(http.MethodDelete, "/admin/v1/merchants/m2/api-keys/"+apiKeyID(t, f.ts, "m1", f.key), nil)
		}, 404, []string{}},
		{"new API key for an unknown merchant", admin(http.MethodPost, "/admin/v1/merchants/m9/api-keys", nil), 404, []string{}},
		{"rotate the response key of an unknown merchant", admin(http.MethodPost, "/admin/v1/merchants/m9/response-key", nil),
			404, []string{}},
		{"payment methods of an unknown merchant", func(*fixture) req {
			return req{method: http.MethodGet, path: "/merchants/m9/paymentmethods"}
		}, 404, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req(f)
			before := ts.snapshot(t)
			resp := ts.send(t, r)
			after := ts.snapshot(t)
			if resp.Code != tt.status {
				t.Errorf("status %d, want %d; body:\n%.600s", resp.Code, tt.status, resp.Body)
			}
			if d := diffSnapshots(before, after); d != "" {
				t.Errorf("a refused request changed the database:\n%.2000s", d)
			}
			for _, m := range leakMarkers {
				if strings.Contains(string(resp.Body), m) {
					t.Errorf("the response leaks %q:\n%s", m, resp.Body)
				}
			}
			body := resp.obj(t)
			if body["status"] == "NOT_FOUND" {
				// Juspay's unknown-order shape, not the error shape.
				if body["status_id"] == nil || body["order_id"] == nil {
					t.Errorf("NOT_FOUND body without status_id or order_id: %s", resp.Body)
				}
				return
			}
			wantErrorShape(t, resp)
			if tt.fields != nil {
				if got := resp.fieldNames(t); !slices.Equal(got, tt.fields) {
					t.Errorf("error_info.fields names %q, want %q; body:\n%s", got, tt.fields, resp.Body)
				}
			}
		})
	}
}

// wantErrorShape checks an error response has Juspay's error shape, with the
// request id of the X-Request-Id header.
func wantErrorShape(t *testing.T, resp *response) {
	t.Helper()
	body := resp.obj(t)
	for _, k := range []string{"status", "error_code", "error_message", "error_info.user_message",
		"error_info.developer_message", "error_info.code", "error_info.category", "error_info.request_id"} {
		if s, _ := lookup(body, k).(string); s == "" {
			t.Errorf("error body has no %s: %s", k, resp.Body)
		}
	}
	if id := resp.Header.Get("X-Request-Id"); id == "" || lookup(body, "error_info.request_id") != id {
		t.Errorf("error_info.request_id = %v, X-Request-Id header %q", lookup(body, "error_info.request_id"), id)
	}
}

// TestBodyLimitBoundary: a body of exactly 1 MiB is read; one byte more is
// refused.
func TestBodyLimitBoundary(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	key := ts.createMerchant(t, "m1", nil).APIKey
	prefix := "order_id=ord_big&amount=1&pad="
	exact := prefix + strings.Repeat("x", 1<<20-len(prefix))
	ts.send(t, formReq(key, http.MethodPost, "/orders", exact)).wantStatus(t, http.StatusOK)
	ts.send(t, formReq(key, http.MethodPost, "/orders", exact+"x")).wantStatus(t, http.StatusBadRequest)
}

// TestUnknownEndpoint: an unknown path is a 404 in the error shape, with or
// without credentials; the operational endpoints answer.
func TestUnknownEndpoint(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	key := ts.createMerchant(t, "m1", nil).APIKey
	r := ts.send(t, getReq(key, "/no/such/endpoint")).wantStatus(t, http.StatusNotFound)
	wantErrorShape(t, r)
	// Without credentials too: a 404 is not turned into a Basic challenge.
	r = ts.send(t, req{method: http.MethodGet, path: "/no/such/endpoint"}).wantStatus(t, http.StatusNotFound)
	wantErrorShape(t, r)
	r = ts.send(t, req{method: http.MethodGet, path: "/admin/v1/nothing", header: headers("Authorization", "Bearer "+adminToken)})
	r.wantStatus(t, http.StatusNotFound)
	ts.send(t, req{method: http.MethodGet, path: "/healthz"}).wantStatus(t, http.StatusOK)
	ts.send(t, req{method: http.MethodGet, path: "/readyz"}).wantStatus(t, http.StatusOK)
}
