package sdkapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"switchyard/sdkapi"
	"switchyard/server/live"
	"switchyard/server/orchestrator"
	"switchyard/server/pay"
)

func (s *stack) liveURL() string { return "ws" + strings.TrimPrefix(s.URL, "http") + "/sdk/v1/live" }

func (s *stack) dial(t *testing.T, url string, header http.Header, protocols ...string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: protocols, HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial(url, header)
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Fatalf("dial: %v (HTTP %d)", err, code)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// readStatus reads one message, which must decode into sdkapi.LiveStatus
// with no undeclared field.
func readStatus(t *testing.T, ws *websocket.Conn) sdkapi.LiveStatus {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m sdkapi.LiveStatus
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("message does not decode into LiveStatus: %v\n%s", err, data)
	}
	if m.Type != sdkapi.LiveTypeOrderStatus {
		t.Fatalf("type = %q", m.Type)
	}
	if _, err := time.Parse(time.RFC3339, m.At); err != nil {
		t.Fatalf("at = %q: %v", m.At, err)
	}
	return m
}

func readCloseCode(t *testing.T, ws *websocket.Conn) int {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, data, err := ws.ReadMessage()
		if err == nil {
			t.Fatalf("message instead of a close: %s", data)
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("connection ended without a close frame: %v", err)
		}
		return ce.Code
	}
}

// The constants SDK authors read in wire.go are the hub's.
func TestLiveConstants(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"Protocol", sdkapi.Protocol, live.Protocol},
		{"LiveTypeAuth", sdkapi.LiveTypeAuth, live.TypeAuth},
		{"LiveTypeOrderStatus", sdkapi.LiveTypeOrderStatus, live.TypeOrderStatus},
		{"CloseUnauthorized", sdkapi.CloseUnauthorized, live.CloseUnauthorized},
		{"CloseTryAgainLater", sdkapi.CloseTryAgainLater, live.CloseTryAgainLater},
		{"CloseGoingAway", sdkapi.CloseGoingAway, websocket.CloseGoingAway},
		{"CloseInternalError", sdkapi.CloseInternalError, websocket.CloseInternalServerErr},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, live says %v", c.name, c.got, c.want)
		}
	}
}

func TestLiveAuthByFirstMessage(t *testing.T) {
	s := newStack(t)
	o, tok := s.order(t, "ord_1", "100", "INR")
	ws := s.dial(t, s.liveURL(), nil, sdkapi.Protocol)
	if err := ws.WriteJSON(sdkapi.LiveAuth{Type: sdkapi.LiveTypeAuth, Token: tok}); err != nil {
		t.Fatal(err)
	}
	m := readStatus(t, ws)
	if m.OrderID != "ord_1" || m.Status != "NEW" || m.StatusID != 10 || m.TxnID != "" {
		t.Fatalf("current status = %+v", m)
	}

	// A change published by the orchestrator arrives.
	s.Hub.Publish(orchestrator.OrderEvent{MerchantID: "shop", OrderUUID: o.ID, OrderID: "ord_1",
		Status: pay.StatusPendingVBV, TxnID: "shop-ord_1-1", At: time.Now()})
	m = readStatus(t, ws)
	if m.Status != "PENDING_VBV" || m.StatusID != 23 || m.TxnID != "shop-ord_1-1" {
		t.Fatalf("pushed status = %+v", m)
	}
}

func TestLiveAuthBySubprotocol(t *testing.T) {
	s := newStack(t)
	_, tok := s.order(t, "ord_1", "100", "INR")
	// As a browser does: same origin, token after the protocol.
	ws := s.dial(t, s.liveURL(), http.Header{"Origin": {s.URL}}, sdkapi.Protocol, tok)
	if ws.Subprotocol() != sdkapi.Protocol {
		t.Fatalf("subprotocol = %q, want %q alone", ws.Subprotocol(), sdkapi.Protocol)
	}
	if m := readStatus(t, ws); m.OrderID != "ord_1" || m.Status != "NEW" {
		t.Fatalf("current status = %+v", m)
	}
}

// A txn's state changes reach a connected client through the service's
// change hook, including one arriving later by gateway webhook, and a
// reconnect starts with the current status.
func TestLivePushesTxnChanges(t *testing.T) {
	s := newStack(t)
	_, tok := s.order(t, "ord_1", "100", "INR")
	ws := s.dial(t, s.liveURL(), nil, sdkapi.Protocol, tok)
	if m := readStatus(t, ws); m.Status != "NEW" {
		t.Fatalf("current status = %+v", m)
	}
	// A UPI collect request: the sandbox approves it after a second and
	// tells Switchyard by webhook.
	var tr sdkapi.TxnResponse
	s.do(t, "POST", "/sdk/v1/txns", tok, map[string]string{"payment_method_type": "UPI", "upi_vpa": "success@upi"}, "").
		want(t, http.StatusOK, &tr)
	if tr.Status != "AUTHORIZING" || tr.Next.Kind != "wait" {
		t.Fatalf("txn = %+v", tr)
	}
	// STARTED when the txn is created, AUTHORIZING once the gateway
	// answered, CHARGED when its webhook came.
	var seen []string
	for len(seen) == 0 || seen[len(seen)-1] != "CHARGED" {
		m := readStatus(t, ws)
		if m.TxnID != tr.TxnID || m.OrderID != "ord_1" || m.StatusID != pay.Status(m.Status).ID() {
			t.Fatalf("pushed %+v, want txn %s", m, tr.TxnID)
		}
		seen = append(seen, m.Status)
		if len(seen) > 3 {
			t.Fatalf("pushed statuses %v", seen)
		}
	}
	if got := strings.Join(seen, ","); got != "STARTED,AUTHORIZING,CHARGED" {
		t.Logf("pushed %s", got) // STARTED may be skipped if superseded in flight
	}
	ws.Close()

	ws = s.dial(t, s.liveURL(), nil, sdkapi.Protocol, tok)
	if m := readStatus(t, ws); m.Status != "CHARGED" || m.StatusID != 21 || m.TxnID != tr.TxnID {
		t.Fatalf("current status on reconnect = %+v", m)
	}
}

func TestLiveUnauthorized(t *testing.T) {
	s := newStack(t, withHub(func(c *live.Config) { c.AuthTimeout = 300 * time.Millisecond }))
	o, tok := s.order(t, "ord_1", "100", "INR")
	parts := strings.Split(tok, ".")
	sig := []byte(parts[2])
	sig[10] ^= 1 // still base64url, no longer the signature
	tampered := parts[0] + "." + parts[1] + "." + string(sig)

	t.Run("BadTokenMessage", func(t *testing.T) {
		ws := s.dial(t, s.liveURL(), nil)
		ws.WriteJSON(sdkapi.LiveAuth{Type: "auth", Token: tampered})
		if code := readCloseCode(t, ws); code != sdkapi.CloseUnauthorized {
			t.Fatalf("close %d, want %d", code, sdkapi.CloseUnauthorized)
		}
	})
	t.Run("BadTokenSubprotocol", func(t *testing.T) {
		ws := s.dial(t, s.liveURL(), nil, sdkapi.Protocol, tampered)
		if code := readCloseCode(t, ws); code != sdkapi.CloseUnauthorized {
			t.Fatalf("close %d, want %d", code, sdkapi.CloseUnauthorized)
		}
	})
	t.Run("TokenInQuery", func(t *testing.T) {
		for _, q := range []string{"?token=", "?client_auth_token=", "?clientAuthToken="} {
			ws := s.dial(t, s.liveURL()+q+tok, nil, sdkapi.Protocol)
			if code := readCloseCode(t, ws); code != sdkapi.CloseUnauthorized {
				t.Fatalf("%s: close %d, want %d", q, code, sdkapi.CloseUnauthorized)
			}
		}
	})
	t.Run("Expired", func(t *testing.T) {
		tok, err := s.Svc.IssueClientToken(o)
		if err != nil {
			t.Fatal(err)
		}
		s.Clock.Advance(time.Hour)
		ws := s.dial(t, s.liveURL(), nil, sdkapi.Protocol, tok.Token)
		if code := readCloseCode(t, ws); code != sdkapi.CloseUnauthorized {
			t.Fatalf("close %d, want %d", code, sdkapi.CloseUnauthorized)
		}
	})
}

func TestLiveOrigin(t *testing.T) {
	s := newStack(t)
	_, tok := s.order(t, "ord_1", "100", "INR")
	for _, origin := range []string{"https://evil.example", "http://shop.example.com", "null"} {
		d := websocket.Dialer{Subprotocols: []string{sdkapi.Protocol, tok}}
		ws, resp, err := d.Dial(s.liveURL(), http.Header{"Origin": {origin}})
		if err == nil {
			ws.Close()
			t.Fatalf("origin %s: connected", origin)
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("origin %s: %v, want 403", origin, err)
		}
		var e sdkapi.ErrorResponse
		if json.NewDecoder(resp.Body).Decode(&e) != nil || e.ErrorInfo.Code != "UNAUTHORIZED" {
			t.Fatalf("origin %s: error body %+v", origin, e)
		}
	}
	// Our own origin, a configured one (default port spelled out), none.
	for _, h := range []http.Header{{"Origin": {s.URL}}, {"Origin": {"https://SHOP.example.com:443"}}, nil} {
		ws := s.dial(t, s.liveURL(), h, sdkapi.Protocol, tok)
		readStatus(t, ws)
	}
}

func TestLivePing(t *testing.T) {
	s := newStack(t, withHub(func(c *live.Config) { c.PingInterval = 50 * time.Millisecond }))
	_, tok := s.order(t, "ord_1", "100", "INR")
	ws := s.dial(t, s.liveURL(), nil, sdkapi.Protocol, tok)
	pings := make(chan struct{}, 16)
	ws.SetPingHandler(func(data string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	go func() { // reading runs the ping handler
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	for i := range 2 {
		select {
		case <-pings:
		case <-time.After(5 * time.Second):
			t.Fatalf("ping %d not received", i+1)
		}
	}
}

func TestLiveNotWebsocket(t *testing.T) {
	s := newStack(t)
	_, tok := s.order(t, "ord_1", "100", "INR")
	s.do(t, "GET", "/sdk/v1/live", tok, nil, "").wantError(t, http.StatusBadRequest)
}

// CurrentEvent names the txn that decides the order's status.
func TestCurrentEvent(t *testing.T) {
	s := newStack(t)
	o, tok := s.order(t, "ord_1", "100", "INR")
	current := sdkapi.CurrentEvent(s.Svc)
	ev, err := current(context.Background(), o.ID)
	if err != nil || ev.Status != pay.StatusNew || ev.TxnID != "" || ev.OrderID != "ord_1" || ev.OrderUUID != o.ID {
		t.Fatalf("current = %+v, %v", ev, err)
	}
	card := map[string]string{"payment_method_type": "CARD", "card_number": "4242424242424242",
		"card_exp_month": "12", "card_exp_year": "2040", "card_security_code": "123"}
	var tr sdkapi.TxnResponse
	s.do(t, "POST", "/sdk/v1/txns", tok, card, "").want(t, http.StatusOK, &tr)
	ev, err = current(context.Background(), o.ID)
	if err != nil || ev.Status != pay.StatusCharged || ev.TxnID != tr.TxnID {
		t.Fatalf("current = %+v, %v", ev, err)
	}
	if _, err := current(context.Background(), "ordeh_nope"); err == nil {
		t.Fatal("unknown order: no error")
	}
}

func TestNewServerConfig(t *testing.T) {
	s := newStack(t)
	srv, err := sdkapi.NewServer(sdkapi.Config{Service: s.Svc, Hub: s.Hub, PublicURL: "https://pay.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	_ = srv
	for _, cfg := range []sdkapi.Config{
		{Service: s.Svc, Hub: s.Hub, PublicURL: "pay.example.com"},
		{Service: s.Svc, Hub: s.Hub, PublicURL: "https://pay.example.com", AllowedOrigins: []string{"https://shop.example.com/x"}},
		{Service: s.Svc, PublicURL: "https://pay.example.com"},
	} {
		if _, err := sdkapi.NewServer(cfg); err == nil {
			t.Errorf("NewServer(%+v): no error", cfg)
		}
	}
}
