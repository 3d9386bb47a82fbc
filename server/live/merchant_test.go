package live_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"switchyard/server/live"
	"switchyard/server/orchestrator"
	"switchyard/server/pay"
)

// merchantURL serves merchant streams of f's hub; the merchant is taken
// from ?m=, standing in for the dashboard's session.
func merchantURL(t *testing.T, f *fixture) string {
	t.Helper()
	allow := func(origin string) bool { return origin == allowedOrigin }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hub.ServeMerchantWS(w, r, r.URL.Query().Get("m"), allow)
	}))
	// Registered after newFixture's hub.Close, so it runs before it: the
	// hub must still close its connections itself.
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/dashboard/live"
}

func merchantEvent(merchant, order string, st pay.Status, txnID string) orchestrator.OrderEvent {
	return orchestrator.OrderEvent{MerchantID: merchant, OrderUUID: order, OrderID: "merchant-" + order,
		Status: st, TxnID: txnID, At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func TestMerchantStream(t *testing.T) {
	f := newFixture(t, live.Config{})
	url := merchantURL(t, f)
	origin := http.Header{"Origin": {allowedOrigin}}
	shop := dial(t, url+"?m=shop", origin)
	other := dial(t, url+"?m=other", origin)
	for _, ws := range []*websocket.Conn{shop, other} {
		if m := read(t, ws); m.Type != live.TypeReady {
			t.Fatalf("first message %+v, want ready", m)
		}
	}
	// Every order of the merchant, and only of that merchant; order
	// watchers of the same order are unaffected.
	f.set("a", pay.StatusNew, "")
	watcher := dialAuth(t, f, "a")
	wantStatus(t, read(t, watcher), "a", pay.StatusNew, "")
	publishFast(t, f.hub, merchantEvent("other", "x", pay.StatusCharged, "other-x-1"))
	publishFast(t, f.hub, merchantEvent("shop", "a", pay.StatusCharged, "shop-a-1"))
	publishFast(t, f.hub, merchantEvent("shop", "b", pay.StatusCharged, "shop-b-1"))
	wantStatus(t, read(t, shop), "a", pay.StatusCharged, "shop-a-1")
	// Same status, another order: not taken for a repeat.
	wantStatus(t, read(t, shop), "b", pay.StatusCharged, "shop-b-1")
	wantStatus(t, read(t, other), "x", pay.StatusCharged, "other-x-1")
	wantStatus(t, read(t, watcher), "a", pay.StatusCharged, "shop-a-1")

	f.hub.Close()
	if code := readClose(t, shop); code != websocket.CloseGoingAway {
		t.Fatalf("close code %d on shutdown, want %d", code, websocket.CloseGoingAway)
	}
}

// The stream carries a merchant's data on the strength of a cookie, which a
// browser sends with any site's websocket: only the dashboard's own origin
// may open one, and a request without an Origin is refused too.
func TestMerchantStreamOrigin(t *testing.T) {
	f := newFixture(t, live.Config{})
	url := merchantURL(t, f) + "?m=shop"
	for _, h := range []http.Header{{"Origin": {"https://evil.example"}}, {"Origin": {"null"}}, nil} {
		ws, resp, err := (&websocket.Dialer{}).Dial(url, h)
		if err == nil {
			ws.Close()
			t.Fatalf("origin %v: connected", h)
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("origin %v: %v, want HTTP 403", h, err)
		}
	}
}
