package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard/server/pay"
	"switchyard/server/store"
	"switchyard/server/webhook"
)

// newMerchant stores a merchant with the given webhook settings and returns
// it with its response key.
func newMerchant(t testing.TB, db *store.DB, id, url, user, password string) *pay.Merchant {
	t.Helper()
	m := &pay.Merchant{
		ID: id, Name: "Merchant " + id,
		AllowedReturnHosts:    []string{},
		WebhookURL:            url,
		WebhookUsername:       user,
		WebhookPassword:       password,
		DefaultCurrency:       "INR",
		OrderTimeout:          pay.DefaultOrderTimeout,
		EnabledPaymentMethods: append([]string(nil), pay.PaymentMethodTypes...),
		ResponseKey:           "rk_" + id + "_" + pay.RandomHex(16),
		DashboardLogin:        id,
		Routing:               pay.DefaultRouting(),
	}
	err := db.CreateMerchant(context.Background(), store.NewMerchant{
		Merchant: m, APIKey: "key_" + pay.RandomHex(16), DashboardPasswordHash: "x",
	})
	if err != nil {
		t.Fatalf("create merchant %s: %v", id, err)
	}
	return m
}

// orderJSON is an order status object of realistic size (about 1.5 KB), as
// the Order Status API renders it.
const orderJSON = `{"id":"ordeh_%[1]s","order_id":"order_%[1]s","merchant_id":"%[2]s","customer_id":"cust_1",` +
	`"customer_email":"shopper@example.com","customer_phone":"9999999999","product_id":"","status":"CHARGED",` +
	`"status_id":21,"amount":600,"currency":"INR","refunded":false,"amount_refunded":0,"effective_amount":600,` +
	`"date_created":"2026-01-05T13:48:48Z","last_updated":"2026-01-05T13:53:24Z","return_url":"https://shop.example.com/return",` +
	`"udf1":"","udf2":"","udf3":"","udf4":"","udf5":"","udf6":"","udf7":"","udf8":"","udf9":"","udf10":"",` +
	`"txn_id":"%[2]s-order_%[1]s-1","txn_uuid":"txn_%[1]s","gateway_id":18,"gateway_reference_id":null,` +
	`"bank_error_code":"","bank_error_message":"","auth_type":"THREE_DS","payment_method_type":"CARD",` +
	`"payment_method":"VISA","card":{"expiry_year":"2030","card_reference":"","card_issuer_country":"INDIA",` +
	`"card_isin":"424242","last_four_digits":"4242","card_fingerprint":"","card_type":"CREDIT","card_issuer":"",` +
	`"card_brand":"VISA","using_saved_card":false,"saved_to_locker":false,"name_on_card":"","expiry_month":"12"},` +
	`"payment_gateway_response":{"resp_code":"SUCCESS","rrn":"1234567890","created":"2026-01-05T13:53:24Z",` +
	`"epg_txn_id":"pi_3Nabc","resp_message":"Approved","auth_id_code":"123456","txn_id":"%[2]s-order_%[1]s-1"},` +
	`"txn_detail":{"txn_id":"%[2]s-order_%[1]s-1","order_id":"order_%[1]s","status":"CHARGED","gateway":"sandbox",` +
	`"txn_amount":600,"currency":"INR","express_checkout":false,"redirect":true,"net_amount":600,` +
	`"surcharge_amount":null,"tax_amount":null,"txn_uuid":"txn_%[1]s","error_code":"","error_message":""},` +
	`"refunds":[],"payment_links":{"web":"https://pay.example.com/pay/ses_%[1]s","expiry":"2026-01-05T14:18:48Z"}}`

// insertEvents writes n pending webhook events of the merchant straight into
// the outbox, due now, in the order given; it returns their ids.
func insertEvents(t testing.TB, db *store.DB, merchantID string, n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	now := time.Now().UTC()
	for start := 0; start < n; start += 500 {
		var q strings.Builder
		var args []any
		q.WriteString(`INSERT INTO outbox (event_id, merchant_id, order_uuid, event_name, payload, state,
			next_attempt_at, created_at, updated_at) VALUES `)
		for i := start; i < min(n, start+500); i++ {
			id := pay.NewID("evt_")
			ids = append(ids, id)
			order := fmt.Sprintf(orderJSON, id[4:], merchantID)
			payload := fmt.Sprintf(`{"id":%q,"event_name":"ORDER_SUCCEEDED","date_created":%q,"content":{"order":%s}}`,
				id, now.Format("2006-01-02T15:04:05Z"), order)
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, 'ORDER_SUCCEEDED', ?, 'pending', ?, ?, ?)")
			// Microsecond steps keep "oldest due first" in insertion order.
			at := now.Add(time.Duration(i) * time.Microsecond)
			args = append(args, id, merchantID, "ordeh_"+id[4:], payload, at, at, at)
		}
		if _, err := db.SQL().ExecContext(context.Background(), q.String(), args...); err != nil {
			t.Fatalf("insert events: %v", err)
		}
	}
	return ids
}

// startRelay starts a relay over db with cfg (DB filled in) and closes it
// when the test ends.
func startRelay(t testing.TB, db *store.DB, cfg webhook.Config) *webhook.Relay {
	t.Helper()
	cfg.DB = db
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	r, err := webhook.New(cfg)
	if err != nil {
		t.Fatalf("webhook.New: %v", err)
	}
	r.Start(context.Background())
	t.Cleanup(func() { r.Close() })
	return r
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// eventState reads an event's state and attempts.
func eventState(t testing.TB, db *store.DB, eventID string) (state string, attempts int) {
	t.Helper()
	err := db.SQL().QueryRowContext(context.Background(),
		`SELECT state, attempts FROM outbox WHERE event_id = ?`, eventID).Scan(&state, &attempts)
	if err != nil {
		t.Fatalf("event %s: %v", eventID, err)
	}
	return state, attempts
}

// countStates counts the outbox rows in each state.
func countStates(t testing.TB, db *store.DB) map[string]int {
	t.Helper()
	rows, err := db.SQL().QueryContext(context.Background(), `SELECT state, COUNT(*) FROM outbox GROUP BY state`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[s] = n
	}
	return out
}

// receiver is a webhook endpoint that checks what a merchant would check
// (Basic auth, the signature, the event id header against the body) and
// counts the requests and successes per event id.
type receiver struct {
	*httptest.Server
	t           testing.TB
	user, pass  string
	responseKey string
	// respond decides the status of a well-formed request; nil answers 200.
	respond func(eventID string) int

	mu        sync.Mutex
	requests  map[string]int
	successes map[string]int
	bad       []string
}

func newReceiver(t testing.TB, m *pay.Merchant, respond func(eventID string) int) *receiver {
	rc := &receiver{t: t, respond: respond, requests: map[string]int{}, successes: map[string]int{}}
	if m != nil {
		rc.expect(m)
	}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

// expect makes the receiver check requests against m's credentials.
func (rc *receiver) expect(m *pay.Merchant) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.user, rc.pass, rc.responseKey = m.WebhookUsername, m.WebhookPassword, m.ResponseKey
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	eventID := r.Header.Get(webhook.HeaderEventID)
	if problem := rc.check(r, body, eventID); problem != "" {
		rc.mu.Lock()
		rc.bad = append(rc.bad, problem)
		rc.mu.Unlock()
		http.Error(w, problem, http.StatusUnauthorized)
		return
	}
	status := http.StatusOK
	if rc.respond != nil {
		status = rc.respond(eventID)
	}
	rc.mu.Lock()
	rc.requests[eventID]++
	if status/100 == 2 {
		rc.successes[eventID]++
	}
	rc.mu.Unlock()
	w.WriteHeader(status)
}

// check verifies a request the way the README tells merchants to, with the
// HMAC computed here rather than by pay.WebhookSignature.
func (rc *receiver) check(r *http.Request, body []byte, eventID string) string {
	rc.mu.Lock()
	user, pass, responseKey := rc.user, rc.pass, rc.responseKey
	rc.mu.Unlock()
	if r.Method != http.MethodPost {
		return "method " + r.Method
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		return "content type " + ct
	}
	if ua := r.Header.Get("User-Agent"); ua != "Switchyard-Webhooks/1" {
		return "user agent " + ua
	}
	if !strings.Contains(string(body), `"id":"`+eventID+`"`) || eventID == "" {
		return "event id header " + eventID + " does not match the body"
	}
	if user != "" {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			return "basic auth"
		}
	}
	if responseKey == "" {
		return ""
	}
	sig := r.Header.Get("X-Switchyard-Signature")
	var ts, v1 string
	for part := range strings.SplitSeq(sig, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return "signature timestamp " + ts
	}
	mac := hmac.New(sha256.New, []byte(responseKey))
	mac.Write([]byte(ts + "." + string(body)))
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(v1), []byte(want)) {
		return "signature mismatch"
	}
	return ""
}

func (rc *receiver) counts() (requests, successes map[string]int, bad []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	requests, successes = map[string]int{}, map[string]int{}
	for k, v := range rc.requests {
		requests[k] = v
	}
	for k, v := range rc.successes {
		successes[k] = v
	}
	return requests, successes, append([]string(nil), rc.bad...)
}

func (rc *receiver) delivered() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.successes)
}
