package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Shape of the crash fault test.
const (
	faultPayments    = 300
	faultClients     = 12
	faultFailRate    = 0.3
	faultMerchant    = "fault_shop"
	faultLatencyMS   = 120
	faultLateSuccess = 1500 // ms after a by-rate decline, the processor charges after all
	// faultSettle bounds the wait for the system to settle after the last
	// restart: a txn the crash left in flight is synced once it is older
	// than any gateway call (60 s), webhooks the dead process held wait
	// out their lease (25 s), the sandbox's notifications theirs (60 s).
	faultSettle = 150 * time.Second
)

// faultSeedEnv reproduces a run: the test logs the seed it used.
const faultSeedEnv = "SWITCHYARD_TEST_FAULT_SEED"

// TestFaultCrashDuringPayments is issue #5's crash-safety test: `kill -9`
// at any moment loses nothing. It drives a few hundred payments (cards that
// charge or decline, 3-D Secure approved, failed, abandoned for another card
// or left by the back button, UPI collects that succeed late by gateway
// webhook or fail, late successes after a decline) from concurrent clients,
// with the merchant's webhook endpoint failing 30% of requests; kills the
// server twice at random moments mid-traffic and restarts it on the same
// database; and once it has settled checks that:
//   - every order that was created still exists, and none that a client saw
//     CHARGED is anything else;
//   - no txn is left in flight, no refund pending, nothing left to refund;
//   - every event was delivered with valid Basic auth and signature, and
//     every order in a final status got the webhook of that status, whose
//     payload agrees with the Order Status API;
//   - the sandbox processors' net charged amount equals the charged orders'
//     amounts, order by order: no money taken without the order showing it
//     (or an auto-refund), no order paid twice.
func TestFaultCrashDuringPayments(t *testing.T) {
	moneyNeedMySQL(t)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(faultSeedEnv); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("%s: %v", faultSeedEnv, err)
		}
	}
	t.Logf("seed %d (rerun with %s=%d)", seed, faultSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	bin := buildBinary(t)
	rcv := newFaultReceiver(t, seed, faultFailRate)
	fs := startFaultServer(t, bin)
	defer func() {
		if t.Failed() {
			fs.dumpLogs()
		}
	}()
	books := openFaultBooks(t, fs)
	s := &server{URL: fs.base, client: &http.Client{Timeout: 30 * time.Second}}

	creds := s.createMerchant(t, faultMerchant)
	rcv.setKey(creds.ResponseKey)
	s.do(t, http.MethodPatch, "/admin/v1/merchants/"+faultMerchant, bearer(adminToken), "application/json", fmt.Sprintf(
		`{"webhook_url": %q, "webhook_username": %q, "webhook_password": %q,
		  "auto_refund_conflicted": true, "auto_refund_threshold_minutes": 0, "auto_refund_multiple_charged": true}`,
		rcv.srv.URL+"/hooks", rcv.user, rcv.pass)).want(t, http.StatusOK)
	processors := []string{"fault_p1", "fault_p2"}
	for i, proc := range processors {
		s.do(t, http.MethodPut, "/sandbox/v1/processors/"+proc, bearer(adminToken), "application/json", fmt.Sprintf(
			`{"success_rate": 0.6, "latency_ms": %d, "late_success_after_ms": %d}`, faultLatencyMS, faultLateSuccess)).
			want(t, http.StatusOK)
		s.do(t, http.MethodPut, fmt.Sprintf("/admin/v1/merchants/%s/gateways/gw_%d", faultMerchant, i+1), bearer(adminToken),
			"application/json", `{"connector": "sandbox", "credentials": {"processor": "`+proc+`"},
			"payment_methods": ["CARD", "UPI"], "currencies": ["INR"]}`).want(t, http.StatusCreated)
	}

	// The storm, with two crashes at random moments.
	shop := &faultShop{s: s, key: basic(creds.APIKey)}
	payments := make([]*faultPayment, faultPayments)
	for i := range payments {
		payments[i] = &faultPayment{
			orderID: fmt.Sprintf("flt_%d", i),
			amount:  100 + rng.Int64N(99900),
			kind:    faultKinds[rng.IntN(len(faultKinds))],
			seed:    rng.Uint64(),
		}
	}
	var next, finished atomic.Int64
	trafficCtx, stopTraffic := context.WithTimeout(t.Context(), 90*time.Second)
	defer stopTraffic()
	var workers sync.WaitGroup
	for range faultClients {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for {
				i := next.Add(1) - 1
				if i >= faultPayments {
					return
				}
				shop.run(trafficCtx, payments[i])
				finished.Add(1)
			}
		}()
	}
	trafficDone := make(chan struct{})
	go func() { workers.Wait(); close(trafficDone) }()

	started := time.Now()
	for k, share := range []int{20 + rng.IntN(25), 55 + rng.IntN(25)} {
		at := int64(faultPayments * share / 100)
		for finished.Load() < at {
			select {
			case <-trafficDone:
				t.Fatalf("traffic ended before crash %d", k+1)
			case <-time.After(5 * time.Millisecond):
			}
		}
		time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		fs.crash()
		t.Logf("crash %d: SIGKILL after %d of %d payments (%s)", k+1, finished.Load(), faultPayments, time.Since(started).Round(time.Millisecond))
		fs.restart()
	}
	<-trafficDone
	lastRestart := time.Now()
	if trafficCtx.Err() != nil {
		t.Fatalf("the clients did not finish their payments within 90 s")
	}
	t.Logf("traffic done in %s: %d requests interrupted", time.Since(started).Round(time.Millisecond), shop.interrupted.Load())
	for _, u := range shop.unexpected {
		t.Errorf("unexpected answer: %s", u)
	}
	if shop.interrupted.Load() == 0 {
		t.Errorf("no request was interrupted by the crashes: the test proved nothing")
	}

	// Let the reconciler, the relay and the sandbox's notifications finish.
	settleCtx, cancel := context.WithTimeout(t.Context(), faultSettle)
	defer cancel()
	left := waitFor(settleCtx, 500*time.Millisecond, func() []string {
		left := books.unsettled(t, faultMerchant)
		accepted, _, _, _ := rcv.snapshot()
		missing := 0
		for id := range books.outboxEvents(t, faultMerchant) {
			if _, ok := accepted[id]; !ok {
				missing++
			}
		}
		if missing > 0 {
			left = append(left, fmt.Sprintf("%d events not received", missing))
		}
		return left
	})
	if left != nil {
		t.Errorf("not settled %s after the last restart: %s", faultSettle, strings.Join(left, ", "))
		for _, row := range books.rows(t, `SELECT x.txn_id, x.status, x.error_code, x.updated_at, COALESCE(p.status, 'no payment')
			FROM txns x LEFT JOIN sandbox_payments p ON p.txn_id = x.txn_id WHERE x.merchant_id = ?
			AND x.status IN ('STARTED', 'PENDING_VBV', 'VBV_SUCCESSFUL', 'AUTHORIZING') LIMIT 20`, faultMerchant) {
			t.Logf("in flight: %s", row)
		}
		for _, row := range books.rows(t, `SELECT r.unique_request_id, r.status, r.created_at, COALESCE(sr.status, 'not at the processor')
			FROM refunds r LEFT JOIN sandbox_refunds sr ON sr.refund_id = r.id WHERE r.merchant_id = ? AND r.status = 'PENDING'`, faultMerchant) {
			t.Logf("refund pending: %s", row)
		}
	} else {
		t.Logf("settled %s after the last restart", time.Since(lastRestart).Round(time.Millisecond))
	}

	accepted, deliveries, failedOnPurpose, problems := rcv.snapshot()
	t.Logf("webhooks: %d events, %d accepted deliveries, %d failed on purpose", len(accepted), deliveries, failedOnPurpose)
	for _, p := range problems {
		t.Errorf("webhook receiver: %s", p)
	}

	// (a) Every order created still exists, and no CHARGED went back.
	orders := map[string]moneyOrder{} // by order_uuid
	for _, p := range payments {
		if p.uuid == "" {
			t.Errorf("order %s (%s) was never created: POST /orders did not succeed", p.orderID, p.kind)
			continue
		}
		r := s.get(t, "/orders/"+p.orderID, shop.key)
		if r.Code != http.StatusOK {
			t.Errorf("order %s created (200) but GET /orders answers %s", p.orderID, moneyDescribe(r))
			continue
		}
		var o moneyOrder
		r.decode(t, &o)
		if o.ID != p.uuid {
			t.Errorf("order %s: id %s, want %s as created", p.orderID, o.ID, p.uuid)
		}
		if p.sawCharged && o.Status != "CHARGED" {
			t.Errorf("order %s (%s) was seen CHARGED, now %s", p.orderID, p.kind, o.Status)
		}
		orders[o.ID] = o
	}
	if n := books.count(t, `SELECT COUNT(*) FROM orders WHERE merchant_id = ?`, faultMerchant); n != len(orders) {
		t.Errorf("the database has %d orders of %s, the clients created %d", n, faultMerchant, len(orders))
	}

	// (b) Nothing in flight, nothing left to refund.
	for _, row := range books.rows(t, `SELECT x.txn_id, x.status, x.conflicted FROM txns x WHERE x.merchant_id = ?
		AND (x.status IN ('STARTED', 'PENDING_VBV', 'VBV_SUCCESSFUL', 'AUTHORIZING') AND NOT `+faultAwaitingShopper+`
			OR x.status = 'CHARGED' AND x.conflicted = TRUE)`, faultMerchant) {
		t.Errorf("txn left unresolved: %s", row)
	}
	awaiting := books.count(t, `SELECT COUNT(*) FROM txns x WHERE x.merchant_id = ? AND `+faultAwaitingShopper, faultMerchant)
	t.Logf("%d txns on a 3-D Secure page the shopper left (failed at the order's expiry)", awaiting)
	for _, row := range books.rows(t, `SELECT unique_request_id, status FROM refunds WHERE merchant_id = ? AND status IN ('PENDING', 'MANUAL_REVIEW')`, faultMerchant) {
		t.Errorf("refund not settled: %s", row)
	}

	// (c) Every event delivered; every final order has the webhook of its
	// status.
	for id, state := range books.outboxEvents(t, faultMerchant) {
		if _, ok := accepted[id]; !ok || state != "delivered" {
			t.Errorf("outbox event %s: state %s, received %v", id, state, ok)
		}
	}
	byOrder := map[string][]faultEvent{}
	for _, e := range accepted {
		byOrder[e.OrderUUID] = append(byOrder[e.OrderUUID], e)
	}
	statuses := map[string]int{}
	for _, o := range orders {
		statuses[o.Status]++
		want := map[string]string{
			"CHARGED": "ORDER_SUCCEEDED", "AUTHORIZATION_FAILED": "ORDER_FAILED",
			"AUTHENTICATION_FAILED": "ORDER_FAILED", "AUTO_REFUNDED": "AUTO_REFUND_SUCCEEDED",
		}[o.Status]
		if want == "" {
			if o.Status != "NEW" && o.Status != "PENDING_VBV" {
				t.Errorf("order %s ended %s, not a final status", o.OrderID, o.Status)
			}
			continue
		}
		found := false
		for _, e := range byOrder[o.ID] {
			found = found || e.Name == want && e.OrderStatus == o.Status
		}
		if !found {
			t.Errorf("order %s is %s but no %s webhook says so; received: %s", o.OrderID, o.Status, want, faultEventList(byOrder[o.ID]))
		}
	}
	t.Logf("orders by status: %v", statuses)

	// (d) The processors' books agree with the orders', order by order and
	// in total.
	netByOrder := books.processorNet(t, faultMerchant)
	var chargedOrders, ledger int64
	for _, o := range orders {
		amount := moneyMinor(t, "amount of "+o.OrderID, o.Amount)
		want := int64(0)
		if o.Status == "CHARGED" {
			want = amount
			chargedOrders += amount
		}
		if got := netByOrder[o.ID]; got != want {
			t.Errorf("order %s is %s (amount %d) but the processors hold %d for it", o.OrderID, o.Status, amount, got)
		}
	}
	var counters []string
	for _, proc := range processors {
		var p struct {
			Counters moneyCounters `json:"counters"`
		}
		s.get(t, "/sandbox/v1/processors/"+proc, bearer(adminToken)).want(t, http.StatusOK).decode(t, &p)
		ledger += p.Counters.AmountCharged - p.Counters.AmountRefunded
		counters = append(counters, fmt.Sprintf("%s %+v", proc, p.Counters))
	}
	t.Logf("processors: %s", strings.Join(counters, "; "))
	if ledger != chargedOrders {
		t.Errorf("the processors' net charged amount is %d, the CHARGED orders' amounts add up to %d", ledger, chargedOrders)
	}
}

// faultKinds are the shoppers' journeys, drawn per payment.
var faultKinds = []string{
	"card", "card", "card", // 4242: charged
	"decline_retry", // declined, then a by-rate card (may decline, then succeed late)
	"3ds_approve",   // 3-D Secure approved, back at the return URL
	"3ds_fail",      // 3-D Secure failed on the ACS page
	"3ds_supersede", // 3-D Secure abandoned for 4242; some approve the old page later
	"3ds_back",      // 3-D Secure left with the back button: the return without a decision
	"upi_pending",   // pending@upi: charged later, by gateway webhook
	"upi_fail",      // failure@upi: failed by gateway webhook
	"by_rate",       // 4111: drawn; a decline succeeds late
}

// faultPayment is one shopper's order and what the client saw of it.
type faultPayment struct {
	orderID string
	amount  int64 // minor units
	kind    string
	seed    uint64
	// uuid is the order's id once POST /orders answered 200.
	uuid string
	// sawCharged: some answer showed the order CHARGED.
	sawCharged bool
}

// faultShop is the merchant's and the shoppers' side of the traffic.
type faultShop struct {
	s   *server
	key auth
	// interrupted counts requests that got no answer (the server died).
	interrupted atomic.Int64
	mu          sync.Mutex
	unexpected  []string
}

var noRedirects = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (sh *faultShop) note(format string, args ...any) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.unexpected = append(sh.unexpected, fmt.Sprintf(format, args...))
}

// retry repeats an idempotent request until it gets an answer: while the
// server is down, requests fail to connect.
func (sh *faultShop) retry(ctx context.Context, send func() (response, error)) (response, bool) {
	for {
		r, err := send()
		if err == nil {
			return r, true
		}
		sh.interrupted.Add(1)
		select {
		case <-ctx.Done():
			return r, false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// run plays one shopper's journey. Idempotent steps are retried across a
// crash; a payment request that got no answer is not (the shopper does not
// know whether it went through), the journey ends there and leaves the txn
// to the reconciler.
func (sh *faultShop) run(ctx context.Context, p *faultPayment) {
	form := url.Values{"order_id": {p.orderID}, "amount": {fmt.Sprintf("%d.%02d", p.amount/100, p.amount%100)},
		"currency": {"INR"}, "customer_id": {"cust_fault"}}
	r, ok := sh.retry(ctx, func() (response, error) {
		return sh.s.send(http.MethodPost, "/orders", sh.key, "application/x-www-form-urlencoded", form.Encode())
	})
	if !ok {
		return
	}
	var o moneyOrder
	if r.Code != http.StatusOK || decodeInto(r, &o) != nil {
		sh.note("POST /orders %s: %s", p.orderID, moneyDescribe(r))
		return
	}
	p.uuid = o.ID
	rng := rand.New(rand.NewPCG(p.seed, 2))

	card := func(number string) (moneyTxn, bool) { return sh.pay(p, moneyTxnForm(p.orderID, number)) }
	switch p.kind {
	case "card":
		card(moneyCardOK)
	case "by_rate":
		card(moneyCardByRate)
	case "decline_retry":
		if x, ok := card(moneyCardDeclined); ok && x.Status == "AUTHORIZATION_FAILED" {
			card(moneyCardByRate)
		}
	case "3ds_approve", "3ds_fail":
		if x, ok := card(moneyCard3DS); ok && x.Status == "PENDING_VBV" {
			decision := "approve"
			if p.kind == "3ds_fail" {
				decision = "fail"
			}
			if back, ok := sh.acs(ctx, x, decision); ok {
				sh.back(ctx, back)
			}
		}
	case "3ds_supersede":
		x, ok := card(moneyCard3DS)
		if !ok || x.Status != "PENDING_VBV" {
			break
		}
		if y, ok := card(moneyCardOK); ok && y.Status == "CHARGED" && rng.IntN(2) == 0 {
			// The old tab, still open, is approved after all: the
			// gateway charges the abandoned txn too.
			sh.acs(ctx, x, "approve")
		}
	case "3ds_back":
		if x, ok := card(moneyCard3DS); ok && x.Status == "PENDING_VBV" {
			sh.back(ctx, sh.s.URL+"/pay/"+p.uuid+"/return/"+url.PathEscape(x.TxnID))
		}
	case "upi_pending", "upi_fail":
		vpa := "pending@upi"
		if p.kind == "upi_fail" {
			vpa = "failure@upi"
		}
		sh.pay(p, url.Values{"order_id": {p.orderID}, "payment_method_type": {"UPI"}, "payment_method": {"UPI"},
			"upi_vpa": {vpa}, "txn_type": {"UPI_COLLECT"}, "format": {"json"}})
	}

	// The merchant checks the order, as a shop's return page does.
	r, ok = sh.retry(ctx, func() (response, error) {
		return sh.s.send(http.MethodGet, "/orders/"+p.orderID, sh.key, "", "")
	})
	if ok && r.Code == http.StatusOK && decodeInto(r, &o) == nil && o.Status == "CHARGED" {
		p.sawCharged = true
	}
}

// pay posts one payment request, once.
func (sh *faultShop) pay(p *faultPayment, form url.Values) (moneyTxn, bool) {
	r, err := sh.s.send(http.MethodPost, "/txns", sh.key, "application/x-www-form-urlencoded", form.Encode())
	if err != nil {
		sh.interrupted.Add(1)
		return moneyTxn{}, false
	}
	var x moneyTxn
	if r.Code != http.StatusOK || decodeInto(r, &x) != nil {
		sh.note("POST /txns %s (%s): %s", p.orderID, p.kind, moneyDescribe(r))
		return x, false
	}
	if x.Status == "CHARGED" {
		p.sawCharged = true
	}
	return x, true
}

// acs posts the shopper's decision on the sandbox ACS page of txn x and
// returns where the page sends the shopper back to.
// The shopper clicks again when the page does not answer; a repeated
// decision changes nothing.
func (sh *faultShop) acs(ctx context.Context, x moneyTxn, decision string) (string, bool) {
	var back string
	r, ok := sh.retry(ctx, func() (response, error) {
		res, err := noRedirects.PostForm(x.Payment.Authentication.URL, url.Values{"decision": {decision}})
		if err != nil {
			return response{}, err
		}
		res.Body.Close()
		back = res.Header.Get("Location")
		return response{Code: res.StatusCode}, nil
	})
	if !ok {
		return "", false
	}
	if r.Code != http.StatusSeeOther {
		sh.note("ACS %s of %s: %d", decision, x.TxnID, r.Code)
		return "", false
	}
	return back, true
}

// back is the shopper's browser landing on a return URL; it is retried,
// as a shopper reloads a page that did not load.
func (sh *faultShop) back(ctx context.Context, u string) {
	r, ok := sh.retry(ctx, func() (response, error) {
		res, err := noRedirects.Get(u)
		if err != nil {
			return response{}, err
		}
		res.Body.Close()
		return response{Code: res.StatusCode}, nil
	})
	if ok && r.Code >= 400 {
		sh.note("return %s: %d", u, r.Code)
	}
}

func decodeInto(r response, v any) error {
	if len(r.Body) == 0 {
		return errors.New("empty body")
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	return dec.Decode(v)
}

func faultEventList(events []faultEvent) string {
	sort.Slice(events, func(i, j int) bool { return events[i].ID < events[j].ID })
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "[%s %s] ", e.Name, e.OrderStatus)
	}
	return b.String()
}
