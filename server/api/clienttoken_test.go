package api_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"switchyard/server/token"
)

// TestClientAuthToken: options.get_client_auth_token=true adds
// juspay.client_auth_token, a token the issuer verifies as granting exactly
// this order of this merchant, expiring when the response says.
func TestClientAuthToken(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	key := ts.createMerchant(t, "m1", nil).APIKey

	verify := func(t *testing.T, tok, expiry, orderUUID, orderID string) {
		t.Helper()
		c, err := ts.Tokens.Verify(tok)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if c.MerchantID != "m1" || c.OrderUUID != orderUUID || c.OrderID != orderID {
			t.Errorf("claims %+v, want merchant m1, order %s (%s)", c, orderUUID, orderID)
		}
		exp, err := time.Parse(time.RFC3339, expiry)
		if err != nil {
			t.Fatalf("expiry %q: %v", expiry, err)
		}
		if !exp.Equal(c.ExpiresAt) {
			t.Errorf("expiry shown %v, token expires %v", exp, c.ExpiresAt)
		}
		if d := time.Until(exp); d < token.DefaultTTL-time.Minute || d > token.DefaultTTL {
			t.Errorf("token expires in %v, want about %v", d, token.DefaultTTL)
		}
	}

	for _, tt := range []struct{ name, order string }{
		{"dotted", "order_id=o1&amount=1&options.get_client_auth_token=true"},
		{"underscore alias", "order_id=o2&amount=1&options_get_client_auth_token=true"},
		{"upper case", "order_id=o3&amount=1&options.get_client_auth_token=TRUE"},
	} {
		t.Run("OK/"+tt.name, func(t *testing.T) {
			r := ts.send(t, formReq(key, http.MethodPost, "/orders", tt.order)).wantStatus(t, http.StatusOK)
			verify(t, r.str(t, "juspay.client_auth_token"), r.str(t, "juspay.client_auth_token_expiry"),
				r.str(t, "id"), r.str(t, "order_id"))
		})
	}
	t.Run("OK/JSON", func(t *testing.T) {
		r := ts.send(t, jsonReq(key, http.MethodPost, "/orders",
			`{"order_id":"o4","amount":1,"options":{"get_client_auth_token":true}}`)).wantStatus(t, http.StatusOK)
		verify(t, r.str(t, "juspay.client_auth_token"), r.str(t, "juspay.client_auth_token_expiry"), r.str(t, "id"), "o4")
	})
	t.Run("OK/repeated create", func(t *testing.T) {
		// A repeated create returns the existing order, with a token for it.
		first := ts.createOrder(t, key, "order_id=o5&amount=1")
		r := ts.send(t, formReq(key, http.MethodPost, "/orders", "order_id=o5&amount=1&options.get_client_auth_token=true")).
			wantStatus(t, http.StatusOK)
		verify(t, r.str(t, "juspay.client_auth_token"), r.str(t, "juspay.client_auth_token_expiry"), first["id"].(string), "o5")
	})
	t.Run("OK/session", func(t *testing.T) {
		r := ts.send(t, jsonReq(key, http.MethodPost, "/session", map[string]any{"order_id": "o6", "amount": "1"})).
			wantStatus(t, http.StatusOK)
		verify(t, r.str(t, "sdk_payload.payload.clientAuthToken"), r.str(t, "sdk_payload.payload.clientAuthTokenExpiry"),
			r.str(t, "id"), "o6")
	})
	t.Run("OK/not asked for", func(t *testing.T) {
		for _, form := range []string{"order_id=o7&amount=1", "order_id=o8&amount=1&options.get_client_auth_token=false"} {
			body := ts.createOrder(t, key, form)
			if _, ok := body["juspay"]; ok {
				t.Errorf("%s: juspay block without asking: %v", form, body["juspay"])
			}
		}
	})
	t.Run("ErrAnotherIssuer", func(t *testing.T) {
		// A token is only good with the keys of the server that issued it.
		other := newTestServer(t)
		otherKey := other.createMerchant(t, "m1", nil).APIKey
		r := other.send(t, formReq(otherKey, http.MethodPost, "/orders", "order_id=o1&amount=1&options.get_client_auth_token=true"))
		if _, err := ts.Tokens.Verify(r.wantStatus(t, http.StatusOK).str(t, "juspay.client_auth_token")); !errors.Is(err, token.ErrInvalid) {
			t.Errorf("Verify of another server's token = %v, want ErrInvalid", err)
		}
	})
}
