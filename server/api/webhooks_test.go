package api_test

import (
	"net/http"
	"testing"
	"time"
)

func TestAdminWebhooks(t *testing.T) {
	ts := newTestServer(t)
	ts.createMerchant(t, "hooked", nil)
	ts.createMerchant(t, "other", nil)
	now := time.Now().UTC()
	_, err := ts.DB.SQL().ExecContext(t.Context(), `
		INSERT INTO outbox (event_id, merchant_id, order_uuid, event_name, payload, state, attempts,
			next_attempt_at, created_at, updated_at)
		VALUES ('evt_dead1', 'hooked', 'ordeh_1', 'ORDER_SUCCEEDED', '{"id":"evt_dead1"}', 'dead', 17, ?, ?, ?)`,
		now, now, now)
	if err != nil {
		t.Fatal(err)
	}

	list := ts.send(t, adminReq(http.MethodGet, "/admin/v1/merchants/hooked/webhooks", nil)).wantStatus(t, http.StatusOK)
	events, _ := list.obj(t)["events"].([]any)
	if len(events) != 1 || events[0].(map[string]any)["event_id"] != "evt_dead1" {
		t.Errorf("events = %s", list.Body)
	}
	ts.send(t, adminReq(http.MethodGet, "/admin/v1/merchants/hooked/webhooks?limit=0", nil)).wantStatus(t, http.StatusBadRequest)
	ts.send(t, adminReq(http.MethodGet, "/admin/v1/merchants/nobody/webhooks", nil)).wantStatus(t, http.StatusNotFound)

	one := ts.send(t, adminReq(http.MethodGet, "/admin/v1/merchants/hooked/webhooks/evt_dead1", nil)).wantStatus(t, http.StatusOK)
	if one.str(t, "event.state") != "dead" || one.str(t, "event.payload.id") != "evt_dead1" {
		t.Errorf("event = %s", one.Body)
	}

	// Another merchant's event is not found, and not resent.
	ts.send(t, adminReq(http.MethodPost, "/admin/v1/merchants/other/webhooks/evt_dead1/resend", nil)).wantStatus(t, http.StatusNotFound)
	ts.send(t, adminReq(http.MethodGet, "/admin/v1/merchants/other/webhooks/evt_dead1", nil)).wantStatus(t, http.StatusNotFound)
	ts.send(t, adminReq(http.MethodPost, "/admin/v1/merchants/hooked/webhooks/evt_nope/resend", nil)).wantStatus(t, http.StatusNotFound)
	if n := ts.count(t, `SELECT COUNT(*) FROM outbox WHERE state = 'dead'`); n != 1 {
		t.Fatalf("a refused resend changed the event")
	}

	r := ts.send(t, adminReq(http.MethodPost, "/admin/v1/merchants/hooked/webhooks/evt_dead1/resend", nil)).wantStatus(t, http.StatusAccepted)
	if r.str(t, "state") != "pending" {
		t.Errorf("resend = %s", r.Body)
	}
	if n := ts.count(t, `SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND retry_base = 17 AND next_attempt_at <= ?`, time.Now().UTC()); n != 1 {
		t.Errorf("after resend: %d due pending events with a fresh schedule, want 1", n)
	}
	// Without the admin token: 401.
	ts.send(t, adminReq(http.MethodPost, "/admin/v1/merchants/hooked/webhooks/evt_dead1/resend", nil, "Authorization", "Bearer wrong-token-123456789")).wantStatus(t, http.StatusUnauthorized)
}
