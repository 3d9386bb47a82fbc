// Package live pushes order status changes to shoppers' browsers and apps
// over websockets (GET /sdk/v1/live, DESIGN §7).
//
// A Hub keeps the connections of this process, indexed by the order they
// watch. The orchestrator calls Publish after every committed status change;
// Publish hands the event to each watching connection's bounded buffer and
// never waits: a connection whose buffer is full is dropped (closed with
// 1013, "try again later") rather than allowed to slow down payment
// processing. A client that reconnects loses nothing, because every
// connection starts with the order's current status, read from the database.
//
// Each connection has exactly one reader goroutine (authentication, control
// frames, read deadlines) and one writer goroutine (every write: status
// messages, pings, the close frame), both owned by the Hub: Close stops them
// all and waits.
//
// # Several replicas
//
// The hub is in-process: an event reaches only the browsers connected to the
// replica that committed the change. With more than one replica behind a load
// balancer, a shopper's websocket may sit on another replica than the one
// completing the payment. Until cross-replica fan-out exists, such a client
// still gets the status on reconnect and through GET /sdk/v1/status, but not
// pushed. The planned fix (SWITCHYARD_REDIS_URL, DESIGN §2): Publish also
// sends each event to a Redis pub/sub channel (one per order, or one shared
// channel carrying the order id); every replica subscribes and feeds what it
// receives into its local fan-out, skipping its own events. Nothing else
// changes: events are idempotent status snapshots, so a duplicate or a lost
// Redis message is harmless, and a reconnect always re-reads the database.
//
// # Merchant streams
//
// The merchant dashboard watches all of one merchant's orders at once
// (ServeMerchantWS): the same connections, buffers, pings and shutdown, with
// the connection indexed by merchant instead of by order.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"switchyard/server/orchestrator"
)

// Protocol is the websocket subprotocol clients offer; the server echoes it.
// A client may authenticate by offering its client auth token as a second
// subprotocol: "Sec-WebSocket-Protocol: switchyard.v1, <token>".
const Protocol = "switchyard.v1"

// Close codes the server sends, besides websocket.CloseGoingAway (1001,
// server shutting down or client unresponsive) and
// websocket.CloseInternalServerErr (1011, the status could not be loaded).
const (
	// CloseUnauthorized: no valid client auth token within AuthTimeout, or
	// the first message was not an auth message. Do not reconnect with the
	// same token.
	CloseUnauthorized = 4401
	// CloseTryAgainLater (1013): the client did not keep up with its
	// messages and was dropped. Reconnect; the current status comes first.
	CloseTryAgainLater = 1013
)

// Message types.
const (
	// TypeAuth is the client's first message when it does not
	// authenticate by subprotocol: {"type":"auth","token":"..."}.
	TypeAuth = "auth"
	// TypeOrderStatus is every server message of an order's stream: an
	// order's status.
	TypeOrderStatus = "order.status"
	// TypeReady is the first message of a merchant stream
	// (ServeMerchantWS): from now on every change is sent. A page reloads
	// what it shows when it gets it, which covers the changes made between
	// its load and its subscription.
	TypeReady = "ready"
)

// Defaults of Config's durations and sizes.
const (
	DefaultPingInterval = 25 * time.Second
	DefaultPongWait     = 15 * time.Second
	DefaultAuthTimeout  = 10 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultSendBuffer   = 16
)

const (
	// maxMessageSize bounds what a client may send: the auth message (a
	// token is at most 4 KiB) and nothing else of size.
	maxMessageSize = 8 << 10
	// closeGrace is how long the writer waits, after its close frame, for
	// the client's answering close frame before dropping the TCP
	// connection. Closing at once could reset the connection before the
	// client read our close frame and its code.
	closeGrace = time.Second
	// loadTimeout bounds authenticating a token and loading an order's
	// current status.
	loadTimeout = 5 * time.Second
	// timeFormat is the API's timestamp format: UTC, whole seconds.
	timeFormat = "2006-01-02T15:04:05Z"
)

// CurrentFunc loads an order's current status (by Switchyard's order id,
// "ordeh_…") as an event, for the first message of every connection.
type CurrentFunc func(ctx context.Context, orderUUID string) (orchestrator.OrderEvent, error)

// AuthenticateFunc checks a client auth token and returns the id of the
// order ("ordeh_…") it grants access to.
type AuthenticateFunc func(ctx context.Context, token string) (orderUUID string, err error)

// Config is what NewHub needs. Zero durations and sizes take the defaults;
// tests shorten them.
type Config struct {
	Log *slog.Logger
	// Current loads an order's current status. Required.
	Current CurrentFunc
	// PingInterval is how often the server pings each client.
	PingInterval time.Duration
	// PongWait is how long past a ping interval a client may stay silent
	// (no pong, no message) before it is dropped.
	PongWait time.Duration
	// AuthTimeout is how long a new connection has to authenticate.
	AuthTimeout time.Duration
	// WriteTimeout bounds every write to a client.
	WriteTimeout time.Duration
	// SendBuffer is how many messages may wait for a slow client before
	// it is dropped.
	SendBuffer int
}

// Hub fans order status changes out to websocket connections. Its methods
// are safe for concurrent use.
type Hub struct {
	cfg      Config
	log      *slog.Logger
	upgrader websocket.Upgrader
	// ctx bounds the database reads of connections; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.RWMutex
	closed bool
	// conns holds every connection, authenticated or not.
	conns map[*conn]struct{}
	// byOrder holds the authenticated connections by order id.
	byOrder map[string]map[*conn]struct{}
	// byMerchant holds the merchant streams (ServeMerchantWS) by merchant.
	byMerchant map[string]map[*conn]struct{}
	// wg counts the connections' goroutines. Add is only called under mu
	// with closed false, so no Add races Close's Wait.
	wg sync.WaitGroup
}

// NewHub returns a Hub; Close it on shutdown.
func NewHub(cfg Config) *Hub {
	if cfg.Current == nil {
		panic("live.NewHub: Config.Current is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	setDefault(&cfg.PingInterval, DefaultPingInterval)
	setDefault(&cfg.PongWait, DefaultPongWait)
	setDefault(&cfg.AuthTimeout, DefaultAuthTimeout)
	setDefault(&cfg.WriteTimeout, DefaultWriteTimeout)
	if cfg.SendBuffer <= 0 {
		cfg.SendBuffer = DefaultSendBuffer
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{
		cfg: cfg,
		log: cfg.Log,
		upgrader: websocket.Upgrader{
			HandshakeTimeout: cfg.WriteTimeout,
			ReadBufferSize:   1024,
			WriteBufferSize:  1024,
			Subprotocols:     []string{Protocol},
			// ServeWS checks the origin itself, before upgrading.
			CheckOrigin: func(*http.Request) bool { return true },
		},
		ctx:        ctx,
		cancel:     cancel,
		conns:      map[*conn]struct{}{},
		byOrder:    map[string]map[*conn]struct{}{},
		byMerchant: map[string]map[*conn]struct{}{},
	}
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Publish sends ev to every connection watching ev.OrderUUID, and to every
// merchant stream of ev.MerchantID. It never blocks: a connection whose send
// buffer is full is dropped.
func (h *Hub) Publish(ev orchestrator.OrderEvent) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.byOrder[ev.OrderUUID] {
		c.enqueue(ev)
	}
	for c := range h.byMerchant[ev.MerchantID] {
		c.enqueue(ev)
	}
}

// Connections returns the number of open connections, authenticated or not.
func (h *Hub) Connections() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns)
}

// Close closes every connection with a close frame (1001, going away) and
// waits for their goroutines to end. Connections arriving later are refused
// with 503. Close waits at most about WriteTimeout plus a second.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.stop(websocket.CloseGoingAway, "server shutting down")
	}
	h.cancel()
	h.wg.Wait()
}

// ServeWS upgrades the request to a websocket watching one order's status.
//
// The Origin header, when present, must satisfy allowOrigin (else 403,
// before upgrading); native apps send none. The client authenticates with
// its client auth token either as a subprotocol ("switchyard.v1, <token>")
// or by a first message {"type":"auth","token":"..."} within AuthTimeout;
// a token anywhere in the URL is ignored, since URLs end up in logs. A
// failed authentication closes the socket with CloseUnauthorized. Once
// authenticated, the client gets the order's current status at once, then
// every change.
//
// ServeWS returns as soon as the connection is handed to its goroutines.
func (h *Hub) ServeWS(w http.ResponseWriter, r *http.Request, authenticate AuthenticateFunc, allowOrigin func(origin string) bool) {
	token := subprotocolToken(r)
	if c := h.accept(w, r, allowOrigin); c != nil {
		go c.writeLoop()
		go c.readLoop(token, authenticate)
	}
}

// ServeMerchantWS upgrades the request to a websocket carrying the status
// changes of every order of one merchant, as they are published: the
// merchant dashboard's live view. Unlike ServeWS it sends no current status
// first (there is no single one): its first message is {"type":"ready"},
// then come order.status messages; a page loads its state over HTTP and
// reloads it on each message. It does no authentication of
// its own: the caller has authenticated the merchant (the dashboard
// session) and must pass an allowOrigin that admits only the dashboard's
// own origin, since a browser sends its cookies with any page's websocket.
// A request without an Origin header is refused, for the same reason.
//
// ServeMerchantWS returns as soon as the connection is handed to its
// goroutines.
func (h *Hub) ServeMerchantWS(w http.ResponseWriter, r *http.Request, merchantID string, allowOrigin func(origin string) bool) {
	if r.Header.Get("Origin") == "" {
		http.Error(w, "websocket origin required", http.StatusForbidden)
		return
	}
	if c := h.accept(w, r, allowOrigin); c != nil {
		go c.writeLoop()
		go c.readMerchantLoop(merchantID)
	}
}

// accept checks the origin, upgrades the request and registers the new
// connection, counting its two goroutines, which the caller starts. It
// returns nil when it answered the request itself.
func (h *Hub) accept(w http.ResponseWriter, r *http.Request, allowOrigin func(origin string) bool) *conn {
	if origin := r.Header.Get("Origin"); origin != "" && !allowOrigin(origin) {
		http.Error(w, "websocket origin not allowed", http.StatusForbidden)
		return nil
	}
	h.mu.RLock()
	closed := h.closed
	h.mu.RUnlock()
	if closed {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return nil
	}
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has answered the client (400 and the like).
		h.log.Debug("websocket upgrade failed", "err", err)
		return nil
	}
	c := &conn{
		hub:        h,
		ws:         ws,
		send:       make(chan orchestrator.OrderEvent, h.cfg.SendBuffer),
		start:      make(chan startMsg, 1),
		quit:       make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		deadline := time.Now().Add(h.cfg.WriteTimeout)
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), deadline)
		ws.Close()
		return nil
	}
	h.conns[c] = struct{}{}
	h.wg.Add(2)
	h.mu.Unlock()
	return c
}

// subprotocolToken returns the token of "Sec-WebSocket-Protocol:
// switchyard.v1, <token>", or "".
func subprotocolToken(r *http.Request) string {
	protocols := websocket.Subprotocols(r)
	offered, token := false, ""
	for _, p := range protocols {
		switch {
		case p == Protocol:
			offered = true
		case token == "":
			token = p
		}
	}
	if !offered || len(protocols) != 2 {
		return ""
	}
	return token
}

// subscribe indexes c under orderUUID; false if c is already stopping.
func (h *Hub) subscribe(c *conn, orderUUID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.stopped() {
		return false
	}
	set := h.byOrder[orderUUID]
	if set == nil {
		set = map[*conn]struct{}{}
		h.byOrder[orderUUID] = set
	}
	set[c] = struct{}{}
	c.orderUUID = orderUUID
	return true
}

// subscribeMerchant indexes c under merchantID; false if c is already
// stopping.
func (h *Hub) subscribeMerchant(c *conn, merchantID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.stopped() {
		return false
	}
	set := h.byMerchant[merchantID]
	if set == nil {
		set = map[*conn]struct{}{}
		h.byMerchant[merchantID] = set
	}
	set[c] = struct{}{}
	c.merchantID = merchantID
	return true
}

// unregister forgets c. Called by c's writer once c is stopped, so c is
// never subscribed again (subscribe checks under mu).
func (h *Hub) unregister(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
	if set := h.byOrder[c.orderUUID]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(h.byOrder, c.orderUUID)
		}
	}
	if set := h.byMerchant[c.merchantID]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(h.byMerchant, c.merchantID)
		}
	}
}

// conn is one websocket client.
type conn struct {
	hub *Hub
	ws  *websocket.Conn
	// orderUUID is set by subscribe, merchantID by subscribeMerchant,
	// under hub.mu.
	orderUUID  string
	merchantID string
	// send carries published events to the writer.
	send chan orchestrator.OrderEvent
	// published counts the events put into send.
	published atomic.Uint64
	// start hands the writer the current status once authenticated.
	start chan startMsg
	// quit is closed by stop; code and reason say how to close.
	quit     chan struct{}
	stopOnce sync.Once
	code     int
	reason   string
	// readerDone is closed when the reader returns.
	readerDone chan struct{}
}

// startMsg is the first status a connection sends, and how many events
// already in send it supersedes.
type startMsg struct {
	// current is nil on a merchant stream, which has none.
	current *orchestrator.OrderEvent
	// skip is how many events were published to the connection before
	// current was read from the database: they are older than current (or
	// equal to it), so the writer drops them.
	skip uint64
}

// stop asks the writer to close the connection with code and reason; only
// the first call counts.
func (c *conn) stop(code int, reason string) {
	c.stopOnce.Do(func() {
		c.code, c.reason = code, reason
		close(c.quit)
	})
}

func (c *conn) stopped() bool {
	select {
	case <-c.quit:
		return true
	default:
		return false
	}
}

// enqueue hands ev to the writer, or drops the connection if its buffer is
// full. Called under hub.mu (read).
func (c *conn) enqueue(ev orchestrator.OrderEvent) {
	if c.stopped() {
		return
	}
	select {
	case c.send <- ev:
		c.published.Add(1)
	default:
		c.hub.log.Info("live: dropping slow websocket client", "order_uuid", ev.OrderUUID)
		c.stop(CloseTryAgainLater, "slow client")
	}
}

// authMessage is the client's first message.
type authMessage struct {
	Type  string `json:"type"`
	Token string `json:"token"`
}

// statusMessage is every message the server sends; sdkapi.LiveStatus
// documents it for SDK authors.
type statusMessage struct {
	Type     string `json:"type"`
	OrderID  string `json:"order_id"`
	Status   string `json:"status"`
	StatusID int    `json:"status_id"`
	TxnID    string `json:"txn_id"`
	At       string `json:"at"`
}

func newStatusMessage(ev orchestrator.OrderEvent) statusMessage {
	return statusMessage{
		Type: TypeOrderStatus, OrderID: ev.OrderID, Status: string(ev.Status), StatusID: ev.Status.ID(),
		TxnID: ev.TxnID, At: ev.At.UTC().Format(timeFormat),
	}
}

// readLoop is the connection's only reader: it authenticates the client,
// subscribes it, hands the writer the current status, then reads (and
// discards) until the connection ends, which processes pongs and the
// client's close frame.
func (c *conn) readLoop(token string, authenticate AuthenticateFunc) {
	h := c.hub
	defer h.wg.Done()
	defer close(c.readerDone)
	c.ws.SetReadLimit(maxMessageSize)

	orderUUID, err := c.authenticate(token, authenticate)
	if err != nil {
		h.log.Debug("live: websocket authentication failed", "err", err)
		c.stop(CloseUnauthorized, "unauthorized")
		c.discard()
		return
	}
	if !h.subscribe(c, orderUUID) {
		c.discard()
		return
	}
	// Every event published from here on is in send; those published
	// before the read below starts are reflected in what it reads.
	skip := c.published.Load()
	ctx, cancel := context.WithTimeout(h.ctx, loadTimeout)
	cur, err := h.cfg.Current(ctx, orderUUID)
	cancel()
	if err != nil {
		h.log.Error("live: loading current order status", "order_uuid", orderUUID, "err", err)
		c.stop(websocket.CloseInternalServerErr, "status unavailable")
		c.discard()
		return
	}
	c.start <- startMsg{current: &cur, skip: skip}
	c.readUntilClosed()
}

// readMerchantLoop is a merchant stream's only reader: it subscribes the
// connection to the merchant's events and lets the writer start, then reads
// (and discards) until the connection ends.
func (c *conn) readMerchantLoop(merchantID string) {
	defer c.hub.wg.Done()
	defer close(c.readerDone)
	c.ws.SetReadLimit(maxMessageSize)
	if !c.hub.subscribeMerchant(c, merchantID) {
		c.discard()
		return
	}
	c.start <- startMsg{}
	c.readUntilClosed()
}

// readUntilClosed reads until the connection ends, which processes pongs
// and the client's close frame, dropping a client silent for longer than a
// ping interval and the pong wait.
func (c *conn) readUntilClosed() {
	h := c.hub
	readWait := h.cfg.PingInterval + h.cfg.PongWait
	c.ws.SetReadDeadline(time.Now().Add(readWait))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(readWait))
	})
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			c.stop(websocket.CloseGoingAway, "")
			return
		}
		// Clients have nothing more to say; a message still proves the
		// client alive.
		c.ws.SetReadDeadline(time.Now().Add(readWait))
	}
}

// authenticate takes the token of the subprotocol, or else of the first
// message, and verifies it.
func (c *conn) authenticate(token string, authenticate AuthenticateFunc) (string, error) {
	h := c.hub
	if token == "" {
		c.ws.SetReadDeadline(time.Now().Add(h.cfg.AuthTimeout))
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			return "", err
		}
		var m authMessage
		if typ != websocket.TextMessage || json.Unmarshal(data, &m) != nil || m.Type != TypeAuth || m.Token == "" {
			return "", errors.New("first message is not an auth message")
		}
		token = m.Token
	}
	ctx, cancel := context.WithTimeout(h.ctx, loadTimeout)
	defer cancel()
	return authenticate(ctx, strings.TrimSpace(token))
}

// discard reads until the connection ends, so the client's answer to our
// close frame is consumed (and the writer can close the TCP connection
// without resetting it).
func (c *conn) discard() {
	c.ws.SetReadDeadline(time.Now().Add(c.hub.cfg.WriteTimeout + closeGrace))
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			return
		}
	}
}

// writeLoop is the connection's only writer: the current status, then
// every published change, pings, and finally the close frame.
func (c *conn) writeLoop() {
	h := c.hub
	defer h.wg.Done()
	ticker := time.NewTicker(h.cfg.PingInterval)
	defer ticker.Stop()
	defer func() {
		c.stop(websocket.CloseGoingAway, "")
		h.unregister(c)
		c.ws.Close()
	}()

	// send is nil, so never ready, until the current status is out.
	var send chan orchestrator.OrderEvent
	var skip uint64
	var last statusMessage
	writeJSON := func(m any) bool {
		c.ws.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
		if err := c.ws.WriteJSON(m); err != nil {
			h.log.Debug("live: websocket write failed", "err", err)
			return false
		}
		return true
	}
	write := func(m statusMessage) bool {
		if !writeJSON(m) {
			return false
		}
		last = m
		return true
	}
	for {
		select {
		case <-c.quit:
			deadline := time.Now().Add(h.cfg.WriteTimeout)
			msg := websocket.FormatCloseMessage(c.code, c.reason)
			if err := c.ws.WriteControl(websocket.CloseMessage, msg, deadline); err == nil {
				select {
				case <-c.readerDone:
				case <-time.After(closeGrace):
				}
			}
			return
		case st := <-c.start:
			if st.current == nil {
				if !writeJSON(map[string]string{"type": TypeReady}) {
					return
				}
			} else if !write(newStatusMessage(*st.current)) {
				return
			}
			send, skip = c.send, st.skip
		case ev := <-send:
			if skip > 0 {
				skip--
				continue
			}
			m := newStatusMessage(ev)
			if m.OrderID == last.OrderID && m.Status == last.Status && m.TxnID == last.TxnID {
				// Already told (the current status read at
				// connect can include an event queued since).
				continue
			}
			if !write(m) {
				return
			}
		case <-ticker.C:
			deadline := time.Now().Add(h.cfg.WriteTimeout)
			if err := c.ws.WriteControl(websocket.PingMessage, nil, deadline); err != nil {
				return
			}
		}
	}
}
