package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"switchyard/server/live"
	"switchyard/server/orchestrator"
	"switchyard/server/pay"
)

// fixture is a hub behind a real HTTP server. Tokens are "tok-<order>" and
// grant order <order>; the current status of every order is kept in state.
type fixture struct {
	hub *live.Hub
	url string // ws://host/live

	mu    sync.Mutex
	state map[string]orchestrator.OrderEvent
	// gate, when set, blocks Current until it is closed.
	gate chan struct{}
	// loading is told each time Current starts.
	loading chan string
}

const allowedOrigin = "https://pay.example.com"

func newFixture(t *testing.T, cfg live.Config) *fixture {
	t.Helper()
	f := &fixture{state: map[string]orchestrator.OrderEvent{}, loading: make(chan string, 100)}
	cfg.Current = f.current
	f.hub = live.NewHub(cfg)
	auth := func(ctx context.Context, tok string) (string, error) {
		order, ok := strings.CutPrefix(tok, "tok-")
		if !ok {
			return "", errors.New("bad token")
		}
		return order, nil
	}
	allow := func(origin string) bool { return origin == allowedOrigin }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hub.ServeWS(w, r, auth, allow)
	}))
	// Cleanups run last-in first-out: the hub closes (and its goroutines
	// end) before the server does.
	t.Cleanup(srv.Close)
	t.Cleanup(f.hub.Close)
	f.url = "ws" + strings.TrimPrefix(srv.URL, "http") + "/live"
	return f
}

func (f *fixture) current(ctx context.Context, orderUUID string) (orchestrator.OrderEvent, error) {
	f.loading <- orderUUID
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return orchestrator.OrderEvent{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ev, ok := f.state[orderUUID]
	if !ok {
		return orchestrator.OrderEvent{}, errors.New("no such order")
	}
	return ev, nil
}

// set records order's status and returns it as an event.
func (f *fixture) set(order string, st pay.Status, txnID string) orchestrator.OrderEvent {
	ev := orchestrator.OrderEvent{MerchantID: "shop", OrderUUID: order, OrderID: "merchant-" + order,
		Status: st, TxnID: txnID, At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f.mu.Lock()
	f.state[order] = ev
	f.mu.Unlock()
	return ev
}

type message struct {
	Type     string `json:"type"`
	OrderID  string `json:"order_id"`
	Status   string `json:"status"`
	StatusID int    `json:"status_id"`
	TxnID    string `json:"txn_id"`
	At       string `json:"at"`
}

func dial(t *testing.T, url string, header http.Header, protocols ...string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: protocols, HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial(url, header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial: %v (HTTP %d)", err, status)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// dialAuth connects and authenticates by first message for order.
func dialAuth(t *testing.T, f *fixture, order string) *websocket.Conn {
	t.Helper()
	ws := dial(t, f.url, nil)
	if err := ws.WriteJSON(map[string]string{"type": "auth", "token": "tok-" + order}); err != nil {
		t.Fatal(err)
	}
	return ws
}

func read(t *testing.T, ws *websocket.Conn) message {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m message
	if err := ws.ReadJSON(&m); err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

// readClose reads until the connection ends and returns the close code.
func readClose(t *testing.T, ws *websocket.Conn) int {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, data, err := ws.ReadMessage()
		if err == nil {
			t.Logf("message before close: %s", data)
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("connection ended without a close frame: %v", err)
		}
		return ce.Code
	}
}

func wantStatus(t *testing.T, m message, order string, st pay.Status, txnID string) {
	t.Helper()
	want := message{Type: "order.status", OrderID: "merchant-" + order, Status: string(st), StatusID: st.ID(),
		TxnID: txnID, At: "2026-01-01T00:00:00Z"}
	if m != want {
		t.Fatalf("message = %+v, want %+v", m, want)
	}
}

func TestAuthByFirstMessage(t *testing.T) {
	f := newFixture(t, live.Config{})
	f.set("o1", pay.StatusNew, "")
	ws := dialAuth(t, f, "o1")
	wantStatus(t, read(t, ws), "o1", pay.StatusNew, "")

	f.hub.Publish(f.set("o1", pay.StatusPendingVBV, "shop-o1-1"))
	wantStatus(t, read(t, ws), "o1", pay.StatusPendingVBV, "shop-o1-1")
	f.hub.Publish(f.set("o1", pay.StatusCharged, "shop-o1-1"))
	wantStatus(t, read(t, ws), "o1", pay.StatusCharged, "shop-o1-1")
}

func TestAuthBySubprotocol(t *testing.T) {
	f := newFixture(t, live.Config{})
	f.set("o1", pay.StatusCharged, "shop-o1-1")
	ws := dial(t, f.url, nil, live.Protocol, "tok-o1")
	if got := ws.Subprotocol(); got != live.Protocol {
		t.Fatalf("subprotocol = %q, want %q (and never the token)", got, live.Protocol)
	}
	wantStatus(t, read(t, ws), "o1", pay.StatusCharged, "shop-o1-1")
}

func TestProtocolWithoutToken(t *testing.T) {
	f := newFixture(t, live.Config{})
	f.set("o1", pay.StatusNew, "")
	// Offering only the protocol means: the token comes as first message.
	ws := dial(t, f.url, nil, live.Protocol)
	if got := ws.Subprotocol(); got != live.Protocol {
		t.Fatalf("subprotocol = %q", got)
	}
	ws.WriteJSON(map[string]string{"type": "auth", "token": "tok-o1"})
	wantStatus(t, read(t, ws), "o1", pay.StatusNew, "")
}

func TestUnauthorized(t *testing.T) {
	f := newFixture(t, live.Config{AuthTimeout: 300 * time.Millisecond})
	f.set("o1", pay.StatusNew, "")
	t.Run("BadTokenMessage", func(t *testing.T) {
		ws := dial(t, f.url, nil)
		ws.WriteJSON(map[string]string{"type": "auth", "token": "forged"})
		if code := readClose(t, ws); code != live.CloseUnauthorized {
			t.Fatalf("close code = %d, want %d", code, live.CloseUnauthorized)
		}
	})
	t.Run("BadTokenSubprotocol", func(t *testing.T) {
		ws := dial(t, f.url, nil, live.Protocol, "forged")
		if code := readClose(t, ws); code != live.CloseUnauthorized {
			t.Fatalf("close code = %d, want %d", code, live.CloseUnauthorized)
		}
	})
	t.Run("NotAnAuthMessage", func(t *testing.T) {
		ws := dial(t, f.url, nil)
		ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello"}`))
		if code := readClose(t, ws); code != live.CloseUnauthorized {
			t.Fatalf("close code = %d, want %d", code, live.CloseUnauthorized)
		}
	})
	t.Run("TooLarge", func(t *testing.T) {
		ws := dial(t, f.url, nil)
		ws.WriteJSON(map[string]string{"type": "auth", "token": "tok-" + strings.Repeat("x", 64<<10)})
		code := readCloseOrReset(t, ws)
		if code != live.CloseUnauthorized && code != websocket.CloseMessageTooBig && code != -1 {
			t.Fatalf("close code = %d", code)
		}
	})
	t.Run("Silent", func(t *testing.T) {
		start := time.Now()
		ws := dial(t, f.url, nil)
		if code := readClose(t, ws); code != live.CloseUnauthorized {
			t.Fatalf("close code = %d, want %d", code, live.CloseUnauthorized)
		}
		if d := time.Since(start); d < 250*time.Millisecond {
			t.Fatalf("closed after %s, before the auth timeout", d)
		}
	})
	t.Run("TokenInQueryIgnored", func(t *testing.T) {
		for _, q := range []string{"?token=tok-o1", "?client_auth_token=tok-o1", "?access_token=tok-o1"} {
			ws := dial(t, f.url+q, nil)
			if code := readClose(t, ws); code != live.CloseUnauthorized {
				t.Fatalf("%s: close code = %d, want %d", q, code, live.CloseUnauthorized)
			}
		}
	})
	t.Run("UnknownOrder", func(t *testing.T) {
		ws := dialAuth(t, f, "gone")
		if code := readClose(t, ws); code != websocket.CloseInternalServerErr {
			t.Fatalf("close code = %d, want 1011", code)
		}
	})
}

// readCloseOrReset is readClose for cases where the server may also just
// drop the connection; -1 means no close frame.
func readCloseOrReset(t *testing.T, ws *websocket.Conn) int {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection still open: %v", err)
		}
		return -1
	}
}

func TestOrigin(t *testing.T) {
	f := newFixture(t, live.Config{})
	f.set("o1", pay.StatusNew, "")
	for _, origin := range []string{"https://evil.example", "https://pay.example.com.evil.example", "null"} {
		d := websocket.Dialer{}
		ws, resp, err := d.Dial(f.url, http.Header{"Origin": {origin}})
		if err == nil {
			ws.Close()
			t.Fatalf("origin %s: connected", origin)
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("origin %s: %v, want HTTP 403", origin, err)
		}
	}
	ws := dial(t, f.url, http.Header{"Origin": {allowedOrigin}}, live.Protocol, "tok-o1")
	wantStatus(t, read(t, ws), "o1", pay.StatusNew, "")
	// No Origin: a native app.
	ws = dial(t, f.url, nil, live.Protocol, "tok-o1")
	wantStatus(t, read(t, ws), "o1", pay.StatusNew, "")
}

func TestPublishFansOutPerOrder(t *testing.T) {
	f := newFixture(t, live.Config{})
	f.set("a", pay.StatusNew, "")
	f.set("b", pay.StatusNew, "")
	var as, bs []*websocket.Conn
	for range 20 {
		ws := dialAuth(t, f, "a")
		wantStatus(t, read(t, ws), "a", pay.StatusNew, "")
		as = append(as, ws)
	}
	for range 5 {
		ws := dialAuth(t, f, "b")
		wantStatus(t, read(t, ws), "b", pay.StatusNew, "")
		bs = append(bs, ws)
	}
	for i := 1; i <= 3; i++ {
		f.hub.Publish(f.set("a", pay.StatusAuthorizing, fmt.Sprintf("shop-a-%d", i)))
	}
	for _, ws := range as {
		for i := 1; i <= 3; i++ {
			wantStatus(t, read(t, ws), "a", pay.StatusAuthorizing, fmt.Sprintf("shop-a-%d", i))
		}
	}
	f.hub.Publish(f.set("b", pay.StatusCharged, "shop-b-1"))
	for _, ws := range bs {
		// Nothing of order a came before.
		wantStatus(t, read(t, ws), "b", pay.StatusCharged, "shop-b-1")
	}
	if n := f.hub.Connections(); n != 25 {
		t.Fatalf("Connections() = %d, want 25", n)
	}
}

// publishFast publishes ev and fails if Publish blocked.
func publishFast(t *testing.T, h *live.Hub, ev orchestrator.OrderEvent) {
	t.Helper()
	start := time.Now()
	h.Publish(ev)
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("Publish took %s", d)
	}
}

// A client whose buffer overflows is dropped with 1013, and Publish never
// waits for it. The writer is held back deterministically: it only starts
// consuming once the current status is loaded, and loading is blocked.
func TestSlowClientDroppedWithCloseFrame(t *testing.T) {
	f := newFixture(t, live.Config{SendBuffer: 4})
	f.set("o1", pay.StatusNew, "")
	gate := make(chan struct{})
	f.mu.Lock()
	f.gate = gate
	f.mu.Unlock()
	ws := dialAuth(t, f, "o1")
	<-f.loading // subscribed, now loading the current status
	for i := range 50 {
		publishFast(t, f.hub, f.set("o1", pay.StatusAuthorizing, fmt.Sprintf("shop-o1-%d", i)))
	}
	close(gate)
	if code := readClose(t, ws); code != live.CloseTryAgainLater {
		t.Fatalf("close code = %d, want %d", code, live.CloseTryAgainLater)
	}
	waitFor(t, "the slow connection to go", func() bool { return f.hub.Connections() == 0 })

	// A reconnect starts with the current status.
	f.mu.Lock()
	f.gate = nil
	f.mu.Unlock()
	ws = dialAuth(t, f, "o1")
	wantStatus(t, read(t, ws), "o1", pay.StatusAuthorizing, "shop-o1-49")
}

// A client that stops reading fills its TCP window, then its writer blocks,
// then its buffer fills: it is dropped while a client reading on the same
// order gets every event and Publish never blocks.
func TestSlowClientDoesNotBlockOthers(t *testing.T) {
	f := newFixture(t, live.Config{SendBuffer: 16, WriteTimeout: 500 * time.Millisecond})
	f.set("o1", pay.StatusNew, "")
	fast := dialAuth(t, f, "o1")
	wantStatus(t, read(t, fast), "o1", pay.StatusNew, "")

	d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			c.(*net.TCPConn).SetReadBuffer(4096)
		}
		return c, err
	}}
	slow, _, err := d.Dial(f.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.WriteJSON(map[string]string{"type": "auth", "token": "tok-o1"})
	wantStatus(t, read(t, slow), "o1", pay.StatusNew, "")

	deadline := time.Now().Add(20 * time.Second)
	n := 0
	for f.hub.Connections() == 2 {
		if time.Now().After(deadline) {
			t.Fatalf("slow client still connected after %d events", n)
		}
		// Bursts smaller than the buffer, so the reading client keeps up.
		for range 8 {
			n++
			publishFast(t, f.hub, f.set("o1", pay.StatusAuthorizing, fmt.Sprintf("shop-o1-%d", n)))
		}
		for i := n - 7; i <= n; i++ {
			wantStatus(t, read(t, fast), "o1", pay.StatusAuthorizing, fmt.Sprintf("shop-o1-%d", i))
		}
	}
	t.Logf("slow client dropped after %d events", n)
	// The slow client's connection ends (its close frame may be stuck
	// behind a full TCP window, so any ending will do).
	slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := slow.ReadMessage(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("slow connection still open: %v", err)
			}
			break
		}
	}
	// The reading client is still served.
	publishFast(t, f.hub, f.set("o1", pay.StatusCharged, "shop-o1-done"))
	wantStatus(t, read(t, fast), "o1", pay.StatusCharged, "shop-o1-done")
}

func TestPing(t *testing.T) {
	f := newFixture(t, live.Config{PingInterval: 50 * time.Millisecond})
	f.set("o1", pay.StatusNew, "")
	ws := dialAuth(t, f, "o1")
	pings := make(chan struct{}, 100)
	ws.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	// Reading runs the ping handler.
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	for i := range 3 {
		select {
		case <-pings:
		case <-time.After(5 * time.Second):
			t.Fatalf("ping %d not received", i+1)
		}
	}
	// Answering pongs keeps the connection: well past PingInterval+PongWait
	// of defaults would not be testable, but the hub still counts it.
	if n := f.hub.Connections(); n != 1 {
		t.Fatalf("Connections() = %d, want 1", n)
	}
}

func TestUnresponsiveClientDropped(t *testing.T) {
	f := newFixture(t, live.Config{PingInterval: 50 * time.Millisecond, PongWait: 100 * time.Millisecond})
	f.set("o1", pay.StatusNew, "")
	ws := dialAuth(t, f, "o1")
	_ = ws // never read: pings go unanswered
	waitFor(t, "the silent client to be dropped", func() bool { return f.hub.Connections() == 0 })
}

func TestCloseWaitsForConnections(t *testing.T) {
	f := newFixture(t, live.Config{})
	f.set("o1", pay.StatusNew, "")
	var clients []*websocket.Conn
	for range 10 {
		ws := dialAuth(t, f, "o1")
		wantStatus(t, read(t, ws), "o1", pay.StatusNew, "")
		clients = append(clients, ws)
	}
	// One more that has not authenticated yet.
	clients = append(clients, dial(t, f.url, nil))
	waitFor(t, "every connection to register", func() bool { return f.hub.Connections() == 11 })

	// Read concurrently: each client answers the close frame, as browsers do.
	codes := make(chan int, len(clients))
	for _, ws := range clients {
		go func() {
			ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				_, _, err := ws.ReadMessage()
				if err != nil {
					var ce *websocket.CloseError
					if errors.As(err, &ce) {
						codes <- ce.Code
					} else {
						codes <- -1
					}
					return
				}
			}
		}()
	}
	f.hub.Close()
	if n := f.hub.Connections(); n != 0 {
		t.Fatalf("after Close, Connections() = %d", n)
	}
	if g := hubGoroutines(); g != "" {
		t.Fatalf("hub goroutines still running after Close:\n%s", g)
	}
	for range clients {
		if code := <-codes; code != websocket.CloseGoingAway {
			t.Fatalf("close code = %d, want 1001", code)
		}
	}
	// Closed hubs refuse new connections, and Close is idempotent.
	d := websocket.Dialer{}
	if _, resp, err := d.Dial(f.url, nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after Close: %v, want HTTP 503", err)
	}
	f.hub.Close()
}

// hubGoroutines returns the stacks of goroutines running hub code. Close
// waits for them, but a goroutine is listed for a moment after its last
// deferred call, so this looks a few times before reporting.
func hubGoroutines() string {
	var stacks string
	for range 50 {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		stacks = ""
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "switchyard/server/live.(*conn)") {
				stacks += g + "\n\n"
			}
		}
		if stacks == "" {
			return ""
		}
		time.Sleep(10 * time.Millisecond)
	}
	return stacks
}

// A change committed while a connection loads the current status is not
// lost: it is either in what was loaded or sent after it.
func TestChangeDuringConnectIsNotLost(t *testing.T) {
	f := newFixture(t, live.Config{})
	f.set("o1", pay.StatusNew, "")
	gate := make(chan struct{})
	f.mu.Lock()
	f.gate = gate
	f.mu.Unlock()
	ws := dialAuth(t, f, "o1")
	<-f.loading
	f.hub.Publish(f.set("o1", pay.StatusPendingVBV, "shop-o1-1"))
	close(gate)
	// The load saw the change; the event queued meanwhile says the same
	// and is not repeated.
	wantStatus(t, read(t, ws), "o1", pay.StatusPendingVBV, "shop-o1-1")
	f.hub.Publish(f.set("o1", pay.StatusCharged, "shop-o1-1"))
	wantStatus(t, read(t, ws), "o1", pay.StatusCharged, "shop-o1-1")
}

func TestMessageShape(t *testing.T) {
	f := newFixture(t, live.Config{})
	f.set("o1", pay.StatusCharged, "shop-o1-1")
	ws := dialAuth(t, f, "o1")
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"order.status","order_id":"merchant-o1","status":"CHARGED","status_id":21,"txn_id":"shop-o1-1","at":"2026-01-01T00:00:00Z"}`
	var got, exp any
	json.Unmarshal(data, &got)
	json.Unmarshal([]byte(want), &exp)
	if fmt.Sprint(got) != fmt.Sprint(exp) {
		t.Fatalf("message = %s\nwant      %s", data, want)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
