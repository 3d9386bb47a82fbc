package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// goldenOrderForm is the order create request of the wire tests: every
// field the API takes, as a Juspay merchant's form post.
const goldenOrderForm = "order_id=ord_golden_1&amount=100.10&currency=INR&customer_id=cust_1" +
	"&customer_email=asha%40example.com&customer_phone=9876543210&product_id=prod_1" +
	"&description=Golden+order&return_url=https%3A%2F%2Fshop.example.com%2Freturn" +
	"&udf1=u1&udf10=u10&metadata.JUSPAY%3Agateway_reference_id=acct_1" +
	"&first_name=Asha&billing_address_city=Pune&options.get_client_auth_token=true"

// goldenSession is the session request of the wire tests, as JSON.
var goldenSession = map[string]any{
	"order_id": "ord_session_1", "amount": "1.00", "currency": "INR",
	"customer_id": "testing-customer-one", "customer_email": "test@mail.com", "customer_phone": "9876543210",
	"payment_page_client_id": "shop_client", "action": "paymentPage",
	"return_url": "https://shop.example.com/return", "first_name": "John", "last_name": "Wick",
	"description": "Complete your payment",
}

// TestWire freezes the JSON of every merchant and admin API response in
// testdata/*.golden.json (go test -run TestWire -update rewrites them).
func TestWire(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)

	var key string
	t.Run("admin merchant create", func(t *testing.T) {
		r := ts.send(t, adminReq(http.MethodPost, "/admin/v1/merchants", map[string]any{
			"merchant_id": "shop", "name": "The Shop",
			"payment_redirect_url": "https://shop.example.com/payment/done",
			"allowed_return_hosts": []string{"shop.example.com"},
			"webhook_url":          "https://shop.example.com/webhooks",
			"webhook_username":     "hooks", "webhook_password": "hook-secret", "default_currency": "INR",
		}))
		ts.golden(t, "admin_merchant_create", r)
		key = r.wantStatus(t, http.StatusCreated).str(t, "api_key")
	})
	if key == "" {
		t.Fatal("no merchant")
	}
	t.Run("admin gateway put", func(t *testing.T) {
		r := ts.send(t, adminReq(http.MethodPut, "/admin/v1/merchants/shop/gateways/sandbox_in", map[string]any{
			"connector": "sandbox", "enabled": true,
			"credentials":     map[string]string{"processor": "default", "api_secret": "never-shown"},
			"payment_methods": []string{"CARD", "UPI"}, "currencies": []string{"inr"},
			"fee_percent": 1.9, "fee_fixed": 300, "priority": 1,
		}))
		ts.golden(t, "admin_gateway_put", r)
		if strings.Contains(string(r.Body), "never-shown") {
			t.Error("the gateway response shows a credential")
		}
	})
	t.Run("admin routing put", func(t *testing.T) {
		ts.putSandboxGateway(t, "shop", "sandbox_b", "CARD")
		r := ts.send(t, adminReq(http.MethodPut, "/admin/v1/merchants/shop/routing", map[string]any{
			"mode": "SUCCESS_RATE", "priority": []string{"sandbox_in", "sandbox_b"}, "cost_weight": 0.25,
			"elimination": map[string]any{"enabled": true, "threshold": 0.1, "min_samples": 30},
			"rules": []any{
				map[string]any{"name": "visa-bins", "when": map[string]any{"bin_ranges": []string{"400000-499999"}},
					"then": map[string]any{"type": "ENFORCE", "gateways": []string{"sandbox_b"}}},
				map[string]any{"name": "upi-split", "when": map[string]any{"payment_method_type": []string{"UPI"},
					"amount_min": "1", "amount_max": "5000"},
					"then": map[string]any{"type": "SPLIT", "split": []any{
						map[string]any{"gateway": "sandbox_in", "percent": 80},
						map[string]any{"gateway": "sandbox_b", "percent": 20}}}},
			},
		}))
		ts.golden(t, "admin_routing_put", r)
		got := ts.send(t, adminReq(http.MethodGet, "/admin/v1/merchants/shop/routing", nil)).wantStatus(t, http.StatusOK)
		if string(got.Body) != string(r.Body) {
			t.Errorf("GET routing = %s\nwant what PUT returned: %s", got.Body, r.Body)
		}
	})
	t.Run("admin merchant get", func(t *testing.T) {
		r := ts.send(t, adminReq(http.MethodGet, "/admin/v1/merchants/shop", nil))
		ts.golden(t, "admin_merchant_get", r)
		if strings.Contains(string(r.Body), "hook-secret") {
			t.Error("the merchant shows its webhook password")
		}
	})
	t.Run("payment methods", func(t *testing.T) {
		// Public, as at Juspay: no credentials.
		ts.golden(t, "payment_methods", ts.send(t, req{method: http.MethodGet, path: "/merchants/shop/paymentmethods"}))
	})

	var orderUUID string
	t.Run("order create", func(t *testing.T) {
		r := ts.send(t, formReq(key, http.MethodPost, "/orders", goldenOrderForm))
		ts.golden(t, "order_create", r)
		body := r.wantStatus(t, http.StatusOK).obj(t)
		orderUUID = body["id"].(string)
		wantNumber(t, body, "amount", "100.1")
		wantNumber(t, body, "status_id", "10")
		wantNumber(t, body, "amount_refunded", "0")
		for _, link := range []string{"web", "mobile", "iframe"} {
			if l := r.str(t, "payment_links."+link); !strings.HasPrefix(l, ts.URL+"/pay/"+orderUUID) {
				t.Errorf("payment_links.%s = %q, want it under %s/pay/%s", link, l, ts.URL, orderUUID)
			}
		}
		created, _ := time.Parse(time.RFC3339, r.str(t, "date_created"))
		expiry, _ := time.Parse(time.RFC3339, r.str(t, "order_expiry"))
		if d := expiry.Sub(created); d != 30*time.Minute {
			t.Errorf("order_expiry - date_created = %v, want the default 30m", d)
		}
	})
	t.Run("order status", func(t *testing.T) {
		r := ts.send(t, getReq(key, "/orders/ord_golden_1"))
		ts.golden(t, "order_status", r)
		if got := r.str(t, "id"); got != orderUUID {
			t.Errorf("id = %q, want %q", got, orderUUID)
		}
	})
	t.Run("order update", func(t *testing.T) {
		r := ts.send(t, formReq(key, http.MethodPost, "/orders/ord_golden_1", "amount=90.00&udf2=changed"))
		ts.golden(t, "order_update", r)
		wantNumber(t, r.obj(t), "amount", "90")
		status := ts.send(t, getReq(key, "/orders/ord_golden_1")).obj(t)
		wantNumber(t, status, "amount", "90")
		if status["udf2"] != "changed" || status["udf1"] != "u1" {
			t.Errorf("after update: udf1 %q udf2 %q", status["udf1"], status["udf2"])
		}
	})
	t.Run("session create", func(t *testing.T) {
		r := ts.send(t, jsonReq(key, http.MethodPost, "/session", goldenSession))
		ts.golden(t, "session_create", r)
		if r.str(t, "sdk_payload.payload.amount") != "1" {
			t.Errorf("sdk_payload.payload.amount = %q, want the string \"1\"", r.str(t, "sdk_payload.payload.amount"))
		}
		if !strings.HasPrefix(r.str(t, "payment_links.web"), ts.URL+"/pay/"+r.str(t, "id")) {
			t.Errorf("payment_links.web = %q", r.str(t, "payment_links.web"))
		}
	})
	var customerID string
	t.Run("customer create", func(t *testing.T) {
		r := ts.send(t, formReq(key, http.MethodPost, "/customers",
			"object_reference_id=cust_1&mobile_number=9876543210&mobile_country_code=91"+
				"&email_address=asha%40example.com&first_name=Asha&last_name=Rao"))
		ts.golden(t, "customer_create", r)
		customerID = r.wantStatus(t, http.StatusOK).str(t, "id")
	})
	t.Run("customer get", func(t *testing.T) {
		r := ts.send(t, getReq(key, "/customers/"+customerID))
		ts.golden(t, "customer_get", r)
		byRef := ts.send(t, getReq(key, "/customers/cust_1")).wantStatus(t, http.StatusOK)
		if string(byRef.Body) != string(r.Body) {
			t.Errorf("by object_reference_id: %s\nby id: %s", byRef.Body, r.Body)
		}
	})
	t.Run("order not found", func(t *testing.T) {
		r := ts.send(t, getReq(key, "/orders/no_such_order"))
		ts.golden(t, "order_not_found", r)
		wantNumber(t, r.obj(t), "status_id", "40")
	})
	t.Run("validation error", func(t *testing.T) {
		ts.golden(t, "error_validation", ts.send(t, formReq(key, http.MethodPost, "/orders",
			"order_id=bad+id&amount=1.001&customer_email=asha")))
	})
	t.Run("missing field error", func(t *testing.T) {
		ts.golden(t, "error_missing_field", ts.send(t, formReq(key, http.MethodPost, "/orders", "amount=1")))
	})
	t.Run("authentication error", func(t *testing.T) {
		ts.golden(t, "error_unauthenticated", ts.send(t, getReq("sk_wrong", "/orders/ord_golden_1")))
	})
}

// wantNumber checks body[key] is a JSON number written as want.
func wantNumber(t *testing.T, body map[string]any, key, want string) {
	t.Helper()
	n, ok := body[key].(json.Number)
	if !ok {
		t.Errorf("%s = %#v (%T), want a JSON number", key, body[key], body[key])
		return
	}
	if string(n) != want {
		t.Errorf("%s = %s, want %s", key, n, want)
	}
}

// readSample reads a (cleaned) Juspay sample from testdata/juspay.
func readSample(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "juspay", name))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return "?"
}

// wantLike checks that ours has every key of sample (but skip), with a value
// of the same JSON type, recursing into objects: a merchant's Juspay
// integration reading a key of the sample finds it, of the type it expects.
func wantLike(t *testing.T, path string, sample, ours map[string]any, skip map[string]bool) {
	t.Helper()
	for k, sv := range sample {
		p := strings.TrimPrefix(path+"."+k, ".")
		if skip[p] {
			continue
		}
		ov, ok := ours[k]
		if !ok {
			t.Errorf("%s: missing (the Juspay sample has it)", p)
			continue
		}
		if sv == nil {
			continue
		}
		if jsonKind(ov) != jsonKind(sv) {
			t.Errorf("%s is a JSON %s, Juspay's is a %s", p, jsonKind(ov), jsonKind(sv))
			continue
		}
		if sm, ok := sv.(map[string]any); ok && !skip[p+".*"] {
			wantLike(t, p, sm, ov.(map[string]any), skip)
		}
	}
}

// txnOnlyKeys are keys of Juspay's order status sample that describe a
// payment attempt; an order without one (every order, for now) has none.
var txnOnlyKeys = map[string]bool{
	"txn_id": true, "txn_uuid": true, "txn_detail": true, "payment_method_type": true, "payment_method": true,
	"auth_type": true, "card": true, "refunds": true, "resp_code": true, "resp_message": true,
	"bank_error_code": true, "bank_error_message": true, "payment_gateway_response": true, "gateway_id": true,
	"gateway_reference_id": true, "offers": true,
	// The sample's metadata keys are its own; ours are the merchant's.
	"metadata.*": true,
}

// TestWireMatchesJuspaySamples checks our responses against Juspay's own
// samples (reference/juspay-samples, cleaned into testdata/juspay): every
// key of a sample that applies is present, with the same JSON type.
func TestWireMatchesJuspaySamples(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	key := ts.createMerchant(t, "shop", nil).APIKey

	created := ts.send(t, formReq(key, http.MethodPost, "/orders", goldenOrderForm)).wantStatus(t, http.StatusOK)
	t.Run("order create", func(t *testing.T) {
		wantLike(t, "", readSample(t, "ec_order_create_response.json"), created.obj(t), nil)
	})
	t.Run("order status", func(t *testing.T) {
		status := ts.send(t, getReq(key, "/orders/ord_golden_1")).wantStatus(t, http.StatusOK)
		wantLike(t, "", readSample(t, "ec_order_status_card.json"), status.obj(t), txnOnlyKeys)
	})
	t.Run("session", func(t *testing.T) {
		session := ts.send(t, jsonReq(key, http.MethodPost, "/session", goldenSession)).wantStatus(t, http.StatusOK)
		wantLike(t, "", readSample(t, "hc_session_response.json"), session.obj(t), nil)
	})
	t.Run("error", func(t *testing.T) {
		for _, r := range []*response{
			ts.send(t, formReq(key, http.MethodPost, "/orders", "order_id=o1&amount=0")),
			ts.send(t, getReq("sk_wrong", "/orders/o1")),
			ts.send(t, getReq(key, "/customers/nobody")),
		} {
			wantLike(t, "", readSample(t, "ec_error_info_example.json"), r.obj(t), nil)
		}
	})
	t.Run("order not found", func(t *testing.T) {
		// Juspay: {"status_id": 40, "status": "NOT_FOUND", "order_id": "…"}.
		r := ts.send(t, getReq(key, "/orders/nope")).wantStatus(t, http.StatusNotFound)
		wantLike(t, "", map[string]any{"status_id": 40.0, "status": "NOT_FOUND", "order_id": "nope"}, r.obj(t), nil)
		if r.str(t, "status") != "NOT_FOUND" || r.str(t, "order_id") != "nope" {
			t.Errorf("body %s", r.Body)
		}
	})
}
