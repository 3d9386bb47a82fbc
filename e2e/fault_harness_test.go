package e2e_test

// Helpers of the crash fault test (fault_test.go): a merchant webhook
// receiver that fails a share of requests, the server as a process that can
// be SIGKILLed and restarted on the same database and port, and the
// database-side views of the books the test checks.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard/server/storetest"
)

// faultEvent is a webhook the receiver accepted.
type faultEvent struct {
	ID          string
	Name        string
	OrderUUID   string
	OrderID     string
	OrderStatus string
}

// faultReceiver is the merchant's webhook endpoint. It answers 500 to a
// share of the requests, drawn from a seeded PRNG, and accepts the others
// only with the merchant's Basic-auth credentials and a valid signature;
// anything else is recorded as a problem, which fails the test.
type faultReceiver struct {
	srv        *httptest.Server
	user, pass string
	failRate   float64

	mu          sync.Mutex
	rng         *rand.Rand
	responseKey string
	accepted    map[string]faultEvent // by event id
	deliveries  int                   // accepted requests, duplicates included
	failed      int                   // requests answered 500 on purpose
	problems    []string
}

func newFaultReceiver(t *testing.T, seed uint64, failRate float64) *faultReceiver {
	t.Helper()
	rcv := &faultReceiver{
		user: "hooks", pass: "hook-secret-" + strconv.FormatUint(seed, 16), failRate: failRate,
		rng: rand.New(rand.NewPCG(seed, 0x5eed)), accepted: map[string]faultEvent{},
	}
	rcv.srv = httptest.NewServer(http.HandlerFunc(rcv.serve))
	t.Cleanup(rcv.srv.Close)
	return rcv
}

// setKey gives the receiver the merchant's response key, which signs the
// webhooks; it is known only once the merchant exists.
func (rcv *faultReceiver) setKey(key string) {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	rcv.responseKey = key
}

func (rcv *faultReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.rng.Float64() < rcv.failRate {
		rcv.failed++
		http.Error(w, "receiver failing on purpose", http.StatusInternalServerError)
		return
	}
	if problem := rcv.check(r, body); problem != "" {
		rcv.problems = append(rcv.problems, problem)
		http.Error(w, problem, http.StatusUnauthorized)
		return
	}
	var ev struct {
		ID        string `json:"id"`
		EventName string `json:"event_name"`
		Content   struct {
			Order struct {
				ID      string `json:"id"`
				OrderID string `json:"order_id"`
				Status  string `json:"status"`
			} `json:"order"`
		} `json:"content"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.EventName == "" || ev.Content.Order.ID == "" {
		rcv.problems = append(rcv.problems, fmt.Sprintf("webhook body is not {id, event_name, content{order}}: %.200s", body))
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if got := r.Header.Get("X-Switchyard-Event-Id"); got != ev.ID {
		rcv.problems = append(rcv.problems, fmt.Sprintf("event %s: X-Switchyard-Event-Id %q", ev.ID, got))
	}
	e := faultEvent{ID: ev.ID, Name: ev.EventName, OrderUUID: ev.Content.Order.ID,
		OrderID: ev.Content.Order.OrderID, OrderStatus: ev.Content.Order.Status}
	if prev, dup := rcv.accepted[ev.ID]; dup && prev != e {
		rcv.problems = append(rcv.problems, fmt.Sprintf("event %s delivered twice with different contents: %+v, then %+v", ev.ID, prev, e))
	}
	rcv.accepted[ev.ID] = e
	rcv.deliveries++
	w.WriteHeader(http.StatusOK)
}

// check verifies a webhook's Basic auth and X-Switchyard-Signature
// (t=<unix>,v1=<hex HMAC-SHA256 of "t.body" keyed with the response key>),
// computed here independently of the server's code.
func (rcv *faultReceiver) check(r *http.Request, body []byte) string {
	if user, pass, ok := r.BasicAuth(); !ok || user != rcv.user || pass != rcv.pass {
		return "webhook without the merchant's Basic-auth credentials"
	}
	if rcv.responseKey == "" {
		return "webhook before the merchant existed"
	}
	var ts, v1 string
	for _, part := range strings.Split(r.Header.Get("X-Switchyard-Signature"), ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	sent, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Sprintf("signature header %q has no t=<unix>", r.Header.Get("X-Switchyard-Signature"))
	}
	if d := time.Since(time.Unix(sent, 0)); d > time.Minute || d < -time.Minute {
		return fmt.Sprintf("signature timestamp %d is %s off", sent, d)
	}
	mac := hmac.New(sha256.New, []byte(rcv.responseKey))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	got, err := hex.DecodeString(v1)
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return "webhook with a wrong v1 signature"
	}
	return ""
}

// snapshot returns a copy of the accepted events, the counts and the
// problems so far.
func (rcv *faultReceiver) snapshot() (accepted map[string]faultEvent, deliveries, failed int, problems []string) {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	accepted = make(map[string]faultEvent, len(rcv.accepted))
	for k, v := range rcv.accepted {
		accepted[k] = v
	}
	return accepted, rcv.deliveries, rcv.failed, append([]string(nil), rcv.problems...)
}

// faultServer is `switchyard serve` as a process on a fixed address, so
// that a restarted server keeps the URLs (payment pages, ACS pages, return
// URLs) the shoppers hold.
type faultServer struct {
	t       *testing.T
	bin     string
	environ []string
	base    string
	cur     *process
	// logs keeps what every process, killed or not, logged.
	logs []*process
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startFaultServer runs serve in sandbox mode on a fresh database, with a
// fixed master key (a restarted server must open the sealed secrets), a
// short reconcile interval, webhook retry schedule and lease.
func startFaultServer(t *testing.T, bin string) *faultServer {
	t.Helper()
	addr := freeAddr(t)
	fs := &faultServer{t: t, bin: bin, base: "http://" + addr, environ: env(
		"SWITCHYARD_DATABASE_URL="+emptyDatabase(t),
		"SWITCHYARD_MASTER_KEY="+base64.StdEncoding.EncodeToString(storetest.MasterKey()),
		"SWITCHYARD_ADMIN_TOKEN="+adminToken,
		"SWITCHYARD_ADDR="+addr,
		"SWITCHYARD_SANDBOX=true",
		"SWITCHYARD_RECONCILE_INTERVAL=1s",
		// With a 30% failure rate, 26 attempts all fail for one event
		// with probability 0.3^26: never.
		"SWITCHYARD_WEBHOOK_RETRY_SCHEDULE=200ms*5,1s*20",
		// The shortest lease the relay accepts: events the killed process
		// held become due again 25 s later.
		"SWITCHYARD_WEBHOOK_LEASE=25s",
	)}
	fs.restart()
	return fs
}

// restart starts a new server process; the previous one must be gone.
func (fs *faultServer) restart() {
	fs.t.Helper()
	fs.cur = start(fs.t, fs.bin, fs.environ)
	fs.logs = append(fs.logs, fs.cur)
	if got := fs.cur.field(fs.t, `listening on (http://127\.0\.0\.1:[0-9]+)\n`); got != fs.base {
		fs.t.Fatalf("server listens on %s, want %s", got, fs.base)
	}
}

// crash kills the server with SIGKILL: no drain, no deferred work.
func (fs *faultServer) crash() {
	fs.t.Helper()
	fs.cur.kill()
}

// dumpLogs shows the warnings and errors every process logged, for a
// failed run.
func (fs *faultServer) dumpLogs() {
	for i, p := range fs.logs {
		select {
		case <-p.exited:
		default:
			continue // still running: its buffer is being written
		}
		n := 0
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			if (strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`)) && n < 40 {
				fs.t.Logf("server %d: %s", i+1, line)
				n++
			}
		}
	}
}

// faultBooks reads the database the server runs on: what the test checks
// after the storm, independently of the API.
type faultBooks struct {
	db *sql.DB
}

func openFaultBooks(t *testing.T, fs *faultServer) *faultBooks {
	t.Helper()
	var dsn string
	for _, kv := range fs.environ {
		if v, ok := strings.CutPrefix(kv, "SWITCHYARD_DATABASE_URL="); ok {
			dsn = v
		}
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &faultBooks{db: db}
}

// count runs a SELECT COUNT(*) query.
func (b *faultBooks) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := b.db.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// strings runs a query returning rows of text columns, joined by spaces.
func (b *faultBooks) rows(t *testing.T, query string, args ...any) []string {
	t.Helper()
	rows, err := b.db.QueryContext(t.Context(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = v.String
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// unsettled lists what is still moving: txns in flight, charges to be
// refunded, refunds pending, webhooks undelivered, gateway notifications
// due. Empty when the system is quiescent.
func (b *faultBooks) unsettled(t *testing.T, merchantID string) []string {
	t.Helper()
	var out []string
	for _, q := range []struct{ what, query string }{
		{"txns in flight", `SELECT COUNT(*) FROM txns x WHERE x.merchant_id = ?
			AND x.status IN ('STARTED', 'PENDING_VBV', 'VBV_SUCCESSFUL', 'AUTHORIZING') AND NOT ` + faultAwaitingShopper},
		{"conflicted charges not yet refunded", `SELECT COUNT(*) FROM txns WHERE merchant_id = ?
			AND status = 'CHARGED' AND conflicted = TRUE`},
		{"refunds pending", `SELECT COUNT(*) FROM refunds WHERE merchant_id = ? AND status = 'PENDING'`},
		{"webhooks pending", `SELECT COUNT(*) FROM outbox WHERE merchant_id = ? AND state = 'pending'`},
	} {
		if n := b.count(t, q.query, merchantID); n > 0 {
			out = append(out, fmt.Sprintf("%d %s", n, q.what))
		}
	}
	if n := b.count(t, `SELECT COUNT(*) FROM sandbox_notifications WHERE state = 'due'`); n > 0 {
		out = append(out, fmt.Sprintf("%d gateway notifications due", n))
	}
	return out
}

// faultAwaitingShopper holds for a txn x that legitimately stays in flight
// after the storm: on a 3-D Secure page the shopper left (the processor
// still awaits the decision, nothing was charged) of an order whose expiry,
// plus the reconciler's 5 minutes of grace, is yet to come. Such a txn is
// failed at expiry; the test cannot wait that long. Anything else in
// flight is stuck.
const faultAwaitingShopper = `(x.status = 'PENDING_VBV'
	AND EXISTS (SELECT 1 FROM sandbox_payments p WHERE p.txn_id = x.txn_id AND p.status = 'requires_action')
	AND EXISTS (SELECT 1 FROM orders o WHERE o.id = x.order_uuid AND o.expires_at > UTC_TIMESTAMP(6) - INTERVAL 5 MINUTE))`

// processorNet returns, per Switchyard order id (order_uuid), the net
// amount the sandbox processors hold for its txns: succeeded payments
// minus succeeded refunds, in minor units — the gateway's own ledger.
func (b *faultBooks) processorNet(t *testing.T, merchantID string) map[string]int64 {
	t.Helper()
	net := map[string]int64{}
	rows, err := b.db.QueryContext(t.Context(), `
		SELECT x.order_uuid, p.amount FROM sandbox_payments p JOIN txns x ON x.txn_id = p.txn_id
		WHERE x.merchant_id = ? AND p.status = 'succeeded'
		UNION ALL
		SELECT x.order_uuid, -r.amount FROM sandbox_refunds r JOIN txns x ON x.txn_id = r.txn_id
		WHERE x.merchant_id = ? AND r.status = 'succeeded'`, merchantID, merchantID)
	if err != nil {
		t.Fatalf("reading the sandbox ledger: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var amount int64
		if err := rows.Scan(&id, &amount); err != nil {
			t.Fatal(err)
		}
		net[id] += amount
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return net
}

// outboxEvents returns the merchant's outbox rows: event id → state.
func (b *faultBooks) outboxEvents(t *testing.T, merchantID string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, row := range b.rows(t, `SELECT event_id, state FROM outbox WHERE merchant_id = ?`, merchantID) {
		id, state, _ := strings.Cut(row, " ")
		out[id] = state
	}
	return out
}

// waitFor polls cond every interval until it returns nil or ctx ends; it
// returns the last non-nil answer.
func waitFor(ctx context.Context, interval time.Duration, cond func() []string) []string {
	for {
		left := cond()
		if len(left) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return left
		case <-time.After(interval):
		}
	}
}
