package e2e_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestDashboardCrossMerchant: ids of another merchant (API keys, webhook events,
// gateway accounts) in a URL or form are not found, and nothing of theirs
// changes; pages show only the logged-in merchant's own things.
func TestDashboardCrossMerchant(t *testing.T) {
	h := newDashHarness(t)
	mine := h.createMerchant("shop_mine")
	theirs := h.createMerchant("shop_theirs")
	h.admin(http.MethodPatch, "/merchants/shop_theirs", map[string]any{"webhook_url": "http://127.0.0.1:1/hooks"}).want(t, http.StatusOK)

	// Their API key id and one of their webhook events.
	var keys struct {
		APIKeys []struct {
			ID string `json:"id"`
		} `json:"api_keys"`
	}
	h.admin(http.MethodGet, "/merchants/shop_theirs/api-keys", nil).want(t, http.StatusOK).decode(t, &keys)
	theirKey := keys.APIKeys[0].ID
	var order struct {
		ID string `json:"id"`
	}
	h.merchantAPI(theirs.APIKey, http.MethodPost, "/orders", url.Values{"order_id": {"their_1"}, "amount": {"5.00"}, "currency": {"INR"}}).
		want(t, http.StatusOK).decode(t, &order)
	h.merchantAPI(theirs.APIKey, http.MethodPost, "/txns", url.Values{
		"order_id": {"their_1"}, "merchant_id": {"shop_theirs"}, "payment_method_type": {"UPI"}, "payment_method": {"UPI"},
		"upi_vpa": {"success@upi"}, "txn_type": {"UPI_COLLECT"}, "redirect_after_payment": {"true"}, "format": {"json"},
	})
	var events struct {
		Events []struct {
			EventID string `json:"event_id"`
		} `json:"events"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(events.Events) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the other merchant has no webhook event")
		}
		h.admin(http.MethodGet, "/merchants/shop_theirs/webhooks", nil).want(t, http.StatusOK).decode(t, &events)
		time.Sleep(100 * time.Millisecond)
	}
	theirEvent := events.Events[0].EventID

	s := h.login(mine)
	tok := s.csrf("/dashboard/developers")
	for _, c := range []struct {
		method, path string
	}{
		{http.MethodPost, "/dashboard/developers/api-keys/" + theirKey + "/revoke"},
		{http.MethodGet, "/dashboard/developers/webhooks/" + theirEvent},
		{http.MethodPost, "/dashboard/developers/webhooks/" + theirEvent + "/resend"},
		{http.MethodGet, "/dashboard/gateways/no_such_gateway"},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			var res dashResponse
			if c.method == http.MethodGet {
				res = s.get(c.path)
			} else {
				res = s.post(c.path, url.Values{"csrf_token": {tok}})
			}
			res.want(t, http.StatusNotFound)
			if !strings.Contains(res.Body, "There is nothing here") {
				t.Errorf("404 page: %.300s", res.Body)
			}
		})
	}
	h.merchantAPI(theirs.APIKey, http.MethodGet, "/customers/nobody", nil).want(t, http.StatusNotFound)

	// Their things are not listed on my pages.
	dev := s.get("/dashboard/developers").want(t, http.StatusOK).Body
	if strings.Contains(dev, theirKey) || strings.Contains(dev, theirEvent) {
		t.Errorf("my developers page lists the other merchant's keys or events")
	}
	if body := s.get("/dashboard/settings").want(t, http.StatusOK).Body; strings.Contains(body, "Shop shop_theirs") || !strings.Contains(body, "Shop shop_mine") {
		t.Errorf("settings page shows the wrong merchant")
	}
	// A merchant id in a form changes nothing: the session decides.
	s.post("/dashboard/settings", url.Values{"csrf_token": {s.csrf("/dashboard/settings")}, "merchant_id": {"shop_theirs"},
		"name": {"Renamed"}, "order_timeout_minutes": {"30"}, "auto_refund_threshold_minutes": {"10"}}).want(t, http.StatusSeeOther)
	var m struct {
		Name string `json:"name"`
	}
	h.admin(http.MethodGet, "/merchants/shop_theirs", nil).want(t, http.StatusOK).decode(t, &m)
	if m.Name != "Shop shop_theirs" {
		t.Errorf("the other merchant was renamed to %q", m.Name)
	}
	h.admin(http.MethodGet, "/merchants/shop_mine", nil).want(t, http.StatusOK).decode(t, &m)
	if m.Name != "Renamed" {
		t.Errorf("my name is %q", m.Name)
	}
}
