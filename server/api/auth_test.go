package api_test

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMerchantAuth: HTTP Basic with the API key as user name, and
// x-merchantid (or x-merchant-id) naming the key's merchant when sent.
func TestMerchantAuth(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	key := ts.createMerchant(t, "m1", nil).APIKey
	otherKey := ts.createMerchant(t, "m2", nil).APIKey
	ts.createOrder(t, key, "order_id=o1&amount=1")

	for _, tt := range []struct {
		name  string
		extra []string
	}{
		{"Basic", nil},
		{"x-merchantid", []string{"x-merchantid", "m1"}},
		{"x-merchant-id", []string{"x-merchant-id", "m1"}},
		{"version", []string{"version", "2023-06-30"}},
		{"everything", []string{"x-merchantid", "m1", "version", "2018-10-25", "x-routing-id", "cust_1"}},
	} {
		t.Run("OK/"+tt.name, func(t *testing.T) {
			ts.send(t, getReq(key, "/orders/o1", tt.extra...)).wantStatus(t, http.StatusOK)
		})
	}
	t.Run("OK/a password is ignored", func(t *testing.T) {
		r := getReq("", "/orders/o1")
		r.header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(key+":ignored")))
		ts.send(t, r).wantStatus(t, http.StatusOK)
	})
	t.Run("ErrAnotherMerchantsOrder", func(t *testing.T) {
		// m2's key authenticates, but m1's orders are not m2's to see.
		ts.send(t, getReq(otherKey, "/orders/o1")).wantStatus(t, http.StatusNotFound)
	})
	t.Run("ErrMismatch", func(t *testing.T) {
		ts.send(t, getReq(key, "/orders/o1", "x-merchantid", "m2")).wantStatus(t, http.StatusForbidden)
		ts.send(t, getReq(otherKey, "/orders/o1", "x-merchantid", "m1")).wantStatus(t, http.StatusForbidden)
	})
	t.Run("ErrNoKey", func(t *testing.T) {
		r := ts.send(t, getReq("", "/orders/o1")).wantStatus(t, http.StatusUnauthorized)
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
	})
}

// TestAPIKeyLifecycle: a merchant may hold several keys; a new one works at
// once, a revoked one never again, and the others are untouched.
func TestAPIKeyLifecycle(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	first := ts.createMerchant(t, "m1", nil).APIKey
	keyPattern := regexp.MustCompile(`^sk_[0-9a-f]{48}$`)
	if !keyPattern.MatchString(first) {
		t.Errorf("api_key %q is not sk_ + 48 hex", first)
	}

	r := ts.send(t, adminReq(http.MethodPost, "/admin/v1/merchants/m1/api-keys", nil)).wantStatus(t, http.StatusCreated)
	second := r.str(t, "api_key")
	if !keyPattern.MatchString(second) || second == first || r.str(t, "merchant_id") != "m1" {
		t.Fatalf("new key response %s", r.Body)
	}
	ts.createOrder(t, first, "order_id=o1&amount=1")
	ts.send(t, getReq(second, "/orders/o1")).wantStatus(t, http.StatusOK)

	list := ts.send(t, adminReq(http.MethodGet, "/admin/v1/merchants/m1/api-keys", nil)).wantStatus(t, http.StatusOK)
	keys, _ := list.obj(t)["api_keys"].([]any)
	if len(keys) != 2 {
		t.Fatalf("%d keys listed, want 2: %s", len(keys), list.Body)
	}
	for _, k := range keys {
		k := k.(map[string]any)
		if p, _ := k["prefix"].(string); len(p) != 12 || k["revoked_at"] != nil {
			t.Errorf("listed key %v: want a 12-character prefix, not revoked", k)
		}
	}
	for _, secret := range []string{first, second} {
		if strings.Contains(string(list.Body), secret) {
			t.Error("the key listing shows a whole key")
		}
	}

	firstID := apiKeyID(t, ts, "m1", first)
	ts.send(t, adminReq(http.MethodDelete, "/admin/v1/merchants/m1/api-keys/"+firstID, nil)).wantStatus(t, http.StatusNoContent)
	ts.send(t, getReq(first, "/orders/o1")).wantStatus(t, http.StatusUnauthorized)
	ts.send(t, formReq(first, http.MethodPost, "/orders", "order_id=o2&amount=1")).wantStatus(t, http.StatusUnauthorized)
	ts.send(t, getReq(second, "/orders/o1")).wantStatus(t, http.StatusOK)
	// Revoking twice: the key is no longer an active key.
	ts.send(t, adminReq(http.MethodDelete, "/admin/v1/merchants/m1/api-keys/"+firstID, nil)).wantStatus(t, http.StatusNotFound)

	list = ts.send(t, adminReq(http.MethodGet, "/admin/v1/merchants/m1/api-keys", nil)).wantStatus(t, http.StatusOK)
	revoked := 0
	for _, k := range list.obj(t)["api_keys"].([]any) {
		if k.(map[string]any)["revoked_at"] != nil {
			revoked++
		}
	}
	if revoked != 1 {
		t.Errorf("%d keys listed as revoked, want 1: %s", revoked, list.Body)
	}
}

// TestAPIKeyRevokedElsewhere: a key revoked by another replica (here,
// straight in the database) stops working here too, within the 2 s this
// replica may remember it.
func TestAPIKeyRevokedElsewhere(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	key := ts.createMerchant(t, "m1", nil).APIKey
	ts.createOrder(t, key, "order_id=o1&amount=1")
	ts.send(t, getReq(key, "/orders/o1")).wantStatus(t, http.StatusOK)
	if err := ts.DB.RevokeAPIKey(t.Context(), "m1", apiKeyID(t, ts, "m1", key)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for ts.send(t, getReq(key, "/orders/o1")).Code != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatal("a key revoked in the database still authenticates after 3 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRotateResponseKey: rotating returns a new key, which is the one the
// merchant's signatures now use.
func TestRotateResponseKey(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	creds := ts.createMerchant(t, "m1", nil)
	hex64 := regexp.MustCompile(`^[0-9a-f]{64}$`)
	if !hex64.MatchString(creds.ResponseKey) {
		t.Errorf("response_key %q is not 64 hex", creds.ResponseKey)
	}

	seen := map[string]bool{creds.ResponseKey: true}
	for range 2 {
		r := ts.send(t, adminReq(http.MethodPost, "/admin/v1/merchants/m1/response-key", nil)).wantStatus(t, http.StatusOK)
		rotated := r.str(t, "response_key")
		if !hex64.MatchString(rotated) || seen[rotated] || r.str(t, "merchant_id") != "m1" {
			t.Fatalf("rotation response %s", r.Body)
		}
		seen[rotated] = true
		m, err := ts.DB.Merchant(t.Context(), "m1")
		if err != nil {
			t.Fatal(err)
		}
		if m.ResponseKey != rotated {
			t.Errorf("stored response key is not the rotated one")
		}
	}
	// The API key is untouched by the rotation, and the key is never shown
	// back.
	ts.createOrder(t, creds.APIKey, "order_id=o1&amount=1")
	got := ts.send(t, adminReq(http.MethodGet, "/admin/v1/merchants/m1", nil)).wantStatus(t, http.StatusOK)
	for k := range seen {
		if strings.Contains(string(got.Body), k) {
			t.Error("GET merchant shows a response key")
		}
	}
}
