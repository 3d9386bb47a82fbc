package e2e_test

// Helpers of the routing tests (routing_*_test.go): merchants with three
// sandbox gateway accounts on processors of different behaviour, paid over
// HTTP (POST /txns with order.* fields), every txn's routing read back from
// the Order Status API and checked against the sandbox's own books.

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"switchyard/server/api"
	"switchyard/server/orchestrator"
)

// Sandbox test cards the routing tests pay with.
const (
	// routingCardByRate's outcome is drawn from the processor's success
	// rate, reproducibly from the sandbox seed, the processor and the txn id.
	routingCardByRate = "4111111111111111"
	// routingCardOK always succeeds.
	routingCardOK = "4242424242424242"
)

// routingServer is a booted Switchyard whose clock the test controls and
// whose reconciler stays idle (a test runs passes itself).
type routingServer struct {
	*server
	clock *testClock
	// slow makes requests that may be held by a processor in timeout mode
	// for the orchestrator's whole gateway timeout (30 s): the harness's
	// client gives up at 30 s too.
	slow *http.Client
}

// bootRouting is bootClocked with a client for slow requests: a txn left
// AUTHORIZING by a timeout stays so until the test reconciles. Errors only
// are logged: every fallback logs a warning, and the downtime test makes
// dozens.
func bootRouting(tb testing.TB) *routingServer {
	tb.Helper()
	s, clock := bootClocked(tb)
	return &routingServer{server: s, clock: clock, slow: &http.Client{Transport: s.client.Transport, Timeout: 90 * time.Second}}
}

// routingGW is one gateway account of a routing shop and its processor's
// success rate.
type routingGW struct {
	name string
	rate float64
}

// routingShop is a merchant whose gateway accounts each sit on their own
// sandbox processor.
type routingShop struct {
	s    *routingServer
	id   string
	key  auth
	gws  []string          // account names, in creation order
	proc map[string]string // account name → processor name
}

// newRoutingShop creates merchant id with a CARD/INR sandbox account per
// gw, each on processor "rp_<id>_<name>" with the given success rate, and
// the default routing (SUCCESS_RATE, elimination on). The merchant is
// created through the service layer with the cheapest bcrypt cost (through
// the admin API, bcrypt under -race costs 1.5 s a merchant); accounts,
// processors and everything after go over HTTP.
func newRoutingShop(t *testing.T, s *routingServer, id string, gws ...routingGW) *routingShop {
	t.Helper()
	svc := orchestrator.New(orchestrator.Config{DB: s.App.DB, Log: slog.New(slog.DiscardHandler), PublicURL: s.URL,
		BcryptCost: bcrypt.MinCost, RenderOrder: api.OrderJSON})
	m := orchestrator.NewMerchant(id, "Shop "+id)
	m.PaymentRedirectURL = "https://shop.example/payment-result"
	m.AllowedReturnHosts = []string{"shop.example"}
	c, err := svc.CreateMerchant(t.Context(), m)
	if err != nil {
		t.Fatalf("creating merchant %s: %v", id, err)
	}
	sh := &routingShop{s: s, id: id, key: basic(c.APIKey), proc: map[string]string{}}
	for i, g := range gws {
		proc := "rp_" + id + "_" + g.name
		sh.gws = append(sh.gws, g.name)
		sh.proc[g.name] = proc
		s.do(t, http.MethodPut, "/admin/v1/merchants/"+id+"/gateways/"+g.name, bearer(adminToken), "application/json",
			fmt.Sprintf(`{"connector": "sandbox", "credentials": {"processor": %q}, "payment_methods": ["CARD"],
			  "currencies": ["INR"], "priority": %d}`, proc, i)).want(t, http.StatusCreated)
		sh.configure(t, g.name, fmt.Sprintf(`{"success_rate": %g}`, g.rate))
	}
	return sh
}

// configure changes the processor behind account gw
// (PUT /sandbox/v1/processors/{name}).
func (sh *routingShop) configure(t *testing.T, gw, body string) {
	t.Helper()
	sh.s.do(t, http.MethodPut, "/sandbox/v1/processors/"+sh.proc[gw], bearer(adminToken), "application/json", body).
		want(t, http.StatusOK)
}

// putRouting sends PUT /admin/v1/merchants/{id}/routing.
func (sh *routingShop) putRouting(t *testing.T, body string) response {
	t.Helper()
	return sh.s.do(t, http.MethodPut, "/admin/v1/merchants/"+sh.id+"/routing", bearer(adminToken), "application/json", body)
}

// routingCounters are what a sandbox processor counted itself.
type routingCounters struct {
	Attempts      int64 `json:"attempts"`
	Charged       int64 `json:"charged"`
	AmountCharged int64 `json:"amount_charged"`
}

func (sh *routingShop) counters(t *testing.T, gw string) routingCounters {
	t.Helper()
	var p struct {
		Counters routingCounters `json:"counters"`
	}
	sh.s.get(t, "/sandbox/v1/processors/"+sh.proc[gw], bearer(adminToken)).want(t, http.StatusOK).decode(t, &p)
	return p.Counters
}

// allCounters sums the counters of every processor of the shop.
func (sh *routingShop) allCounters(t *testing.T) routingCounters {
	t.Helper()
	var sum routingCounters
	for _, g := range sh.gws {
		c := sh.counters(t, g)
		sum.Attempts += c.Attempts
		sum.Charged += c.Charged
		sum.AmountCharged += c.AmountCharged
	}
	return sum
}

// sandboxPayment asks the processor behind gw what it knows of txnID
// (GET /sandbox/v1/payments/{txn_id}, as a sync would): its status, or ""
// when it has no record of the txn. The processor must not be down.
func (sh *routingShop) sandboxPayment(t *testing.T, gw, txnID string) string {
	t.Helper()
	r := sh.s.do(t, http.MethodGet, "/sandbox/v1/payments/"+url.PathEscape(txnID), nil, "", "",
		"X-Sandbox-Processor", sh.proc[gw])
	switch r.Code {
	case http.StatusNotFound:
		return ""
	case http.StatusOK:
		var p struct {
			Status string `json:"status"`
		}
		r.decode(t, &p)
		return p.Status
	}
	t.Fatalf("GET /sandbox/v1/payments/%s at %s: %d %s", txnID, sh.proc[gw], r.Code, r.Body)
	return ""
}

// knownAt lists the accounts whose processor has a record of txnID.
func (sh *routingShop) knownAt(t *testing.T, txnID string) []string {
	t.Helper()
	var at []string
	for _, g := range sh.gws {
		if sh.sandboxPayment(t, g, txnID) != "" {
			at = append(at, g)
		}
	}
	return at
}

// shadowOutcome is what account gw's processor would have answered to a
// txn that went elsewhere: the test sends the same payment (same txn id, so
// the same reproducible draw) straight to the processor. It reports whether
// that would have charged. It leaves a payment at the processor: call it
// after the counters were checked.
func (sh *routingShop) shadowOutcome(t *testing.T, gw, txnID, card string) bool {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"txn_id": txnID, "amount": 10000, "currency": "INR", "method_type": "CARD",
		"card": map[string]string{"number": card, "exp_month": "12", "exp_year": strconv.Itoa(time.Now().Year() + 3), "cvv": "123"},
	})
	r := sh.s.do(t, http.MethodPost, "/sandbox/v1/payments", nil, "application/json", string(body),
		"X-Sandbox-Processor", sh.proc[gw])
	if r.Code != http.StatusCreated && r.Code != http.StatusOK {
		t.Fatalf("shadow payment of %s at %s: %d %s", txnID, sh.proc[gw], r.Code, r.Body)
	}
	var p struct {
		Status string `json:"status"`
	}
	r.decode(t, &p)
	return p.Status == "succeeded"
}

// routingRecord is the routing record of the order's txn, as the Order
// Status API shows it.
type routingRecord struct {
	Decision struct {
		Reason     string `json:"reason"`
		Rule       string `json:"rule"`
		Probe      bool   `json:"probe"`
		Candidates []struct {
			Gateway    string  `json:"gateway"`
			Score      float64 `json:"score"`
			Eliminated bool    `json:"eliminated"`
		} `json:"candidates"`
	} `json:"decision"`
	Attempts []routingAttempt `json:"attempts"`
}

// routingAttempt is one gateway call of a txn.
type routingAttempt struct {
	Gateway string `json:"gateway"`
	Outcome string `json:"outcome"`
	Code    string `json:"code"`
}

// routingTxn is one payment of a routing test: the order's status object
// after POST /txns returned.
type routingTxn struct {
	OrderID string
	TxnID   string
	// Answer is the status POST /txns answered with.
	Answer string
	// Status, Gateway and ErrorCode are the Order Status API's status,
	// gateway and bank_error_code.
	Status    string
	Gateway   string
	ErrorCode string
	Card      string
	Routing   routingRecord
}

// Primary is the gateway the decision put first.
func (x *routingTxn) Primary() string {
	if len(x.Routing.Decision.Candidates) == 0 {
		return ""
	}
	return x.Routing.Decision.Candidates[0].Gateway
}

// Candidates lists the decision's gateways in order.
func (x *routingTxn) Candidates() []string {
	var out []string
	for _, c := range x.Routing.Decision.Candidates {
		out = append(out, c.Gateway)
	}
	return out
}

// Tried lists the gateways attempted, in order, with their outcomes.
func (x *routingTxn) Tried() []string {
	var out []string
	for _, a := range x.Routing.Attempts {
		out = append(out, a.Gateway+":"+a.Outcome)
	}
	return out
}

// Charged reports whether the txn charged.
func (x *routingTxn) Charged() bool { return x.Status == "CHARGED" }

func (x *routingTxn) String() string {
	return fmt.Sprintf("%s %s at %s (%s) decision %s%s %v, attempts %v", x.TxnID, x.Status, x.Gateway,
		x.ErrorCode, x.Routing.Decision.Reason, ruleSuffix(x.Routing.Decision.Rule), x.Candidates(), x.Tried())
}

func ruleSuffix(r string) string {
	if r == "" {
		return ""
	}
	return "/" + r
}

// pay creates order orderID (100.00 INR) and pays it by card in one
// POST /txns (order.* fields, format=json), then reads the order back. extra
// adds or overrides form fields. It does not fail the test, so that
// goroutines may call it; client is the HTTP client to use (nil: the
// harness's).
func (sh *routingShop) pay(client *http.Client, orderID, card string, extra url.Values) (routingTxn, error) {
	x := routingTxn{OrderID: orderID, Card: card}
	r, err := sh.payRaw(client, orderID, card, extra)
	if err != nil {
		return x, fmt.Errorf("POST /txns for %s: %w", orderID, err)
	}
	if r.Code != http.StatusOK {
		return x, fmt.Errorf("POST /txns for %s: %d %s", orderID, r.Code, r.Body)
	}
	var ans struct {
		TxnID  string `json:"txn_id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(r.Body, &ans); err != nil {
		return x, fmt.Errorf("POST /txns for %s: %v; body %s", orderID, err, r.Body)
	}
	x.TxnID, x.Answer = ans.TxnID, ans.Status
	if err := sh.read(&x); err != nil {
		return x, err
	}
	if x.TxnID != ans.TxnID {
		return x, fmt.Errorf("order %s shows txn %s, POST /txns answered %s", orderID, x.TxnID, ans.TxnID)
	}
	return x, nil
}

// payRaw sends pay's POST /txns and returns the answer as it is.
func (sh *routingShop) payRaw(client *http.Client, orderID, card string, extra url.Values) (response, error) {
	form := url.Values{
		"order.order_id": {orderID}, "order.amount": {"100.00"}, "order.currency": {"INR"},
		"order.customer_id":   {"cust_routing"},
		"payment_method_type": {"CARD"}, "card_number": {card}, "card_exp_month": {"12"},
		"card_exp_year": {strconv.Itoa(time.Now().Year() + 3)}, "card_security_code": {"123"},
		"name_on_card": {"Routing Test"}, "format": {"json"},
	}
	for k, v := range extra {
		form[k] = v
	}
	return sh.send(client, http.MethodPost, "/txns", form.Encode())
}

// send is server.send with a choice of client.
func (sh *routingShop) send(client *http.Client, method, path, form string) (response, error) {
	if client == nil {
		return sh.s.send(method, path, sh.key, "application/x-www-form-urlencoded", form)
	}
	s := *sh.s.server
	s.client = client
	return s.send(method, path, sh.key, "application/x-www-form-urlencoded", form)
}

// read fills x from the Order Status API.
func (sh *routingShop) read(x *routingTxn) error {
	r, err := sh.s.send(http.MethodGet, "/orders/"+url.PathEscape(x.OrderID), sh.key, "", "")
	if err != nil {
		return fmt.Errorf("GET /orders/%s: %w", x.OrderID, err)
	}
	if r.Code != http.StatusOK {
		return fmt.Errorf("GET /orders/%s: %d %s", x.OrderID, r.Code, r.Body)
	}
	var o struct {
		Status        string          `json:"status"`
		TxnID         string          `json:"txn_id"`
		Gateway       string          `json:"gateway"`
		BankErrorCode string          `json:"bank_error_code"`
		Routing       json.RawMessage `json:"routing"`
	}
	if err := json.Unmarshal(r.Body, &o); err != nil {
		return fmt.Errorf("GET /orders/%s: %v; body %s", x.OrderID, err, r.Body)
	}
	if len(o.Routing) == 0 {
		return fmt.Errorf("order %s (txn %s) shows no routing record: %s", x.OrderID, o.TxnID, r.Body)
	}
	x.TxnID, x.Status, x.Gateway, x.ErrorCode = o.TxnID, o.Status, o.Gateway, o.BankErrorCode
	x.Routing = routingRecord{}
	if err := json.Unmarshal(o.Routing, &x.Routing); err != nil {
		return fmt.Errorf("order %s: routing %s: %v", x.OrderID, o.Routing, err)
	}
	return nil
}

// routingInvariants checks what must hold of every routed txn: it was tried
// at the decision's candidates in order, moving on only after UNAVAILABLE
// (never after a decline or an unknown outcome: the shopper might be
// charged twice), and its status and gateway are the last attempt's.
func routingInvariants(x *routingTxn) error {
	d, at := &x.Routing.Decision, x.Routing.Attempts
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if d.Reason == "" {
		bad("the decision has no reason")
	}
	if d.Probe != (d.Reason == "DOWNTIME_PROBE") {
		bad("probe %v with reason %s", d.Probe, d.Reason)
	}
	if len(d.Candidates) == 0 || len(at) == 0 || len(at) > len(d.Candidates) {
		bad("%d candidates, %d attempts", len(d.Candidates), len(at))
	}
	seen := map[string]bool{}
	for _, c := range d.Candidates {
		if seen[c.Gateway] {
			bad("candidate %s listed twice", c.Gateway)
		}
		seen[c.Gateway] = true
	}
	for k, a := range at {
		if k < len(d.Candidates) && a.Gateway != d.Candidates[k].Gateway {
			bad("attempt %d at %s, but candidate %d is %s", k, a.Gateway, k, d.Candidates[k].Gateway)
		}
		if k < len(at)-1 && a.Outcome != "UNAVAILABLE" {
			bad("attempt %d (%s) answered %s, yet the txn moved on to another gateway", k, a.Gateway, a.Outcome)
		}
	}
	if len(at) > 0 {
		last := at[len(at)-1]
		if x.Gateway != last.Gateway {
			bad("the order shows gateway %s, the last attempt was at %s", x.Gateway, last.Gateway)
		}
		want := map[string]string{"CHARGED": "CHARGED", "DECLINED_HARD": "AUTHORIZATION_FAILED",
			"DECLINED_SOFT": "AUTHORIZATION_FAILED", "UNAVAILABLE": "AUTHORIZATION_FAILED", "UNKNOWN": "AUTHORIZING"}[last.Outcome]
		if want == "" || x.Status != want {
			bad("status %s after a last attempt %s", x.Status, last.Outcome)
		}
		if last.Outcome == "UNAVAILABLE" && len(at) != len(d.Candidates) {
			bad("failed as unavailable with candidates left untried")
		}
		if (last.Outcome == "UNAVAILABLE") != (x.ErrorCode == "GATEWAY_UNAVAILABLE") {
			bad("bank_error_code %q after a last attempt %s", x.ErrorCode, last.Outcome)
		}
	}
	if x.Answer != "" && x.Answer != x.Status {
		bad("POST /txns answered %s, the order status shows %s", x.Answer, x.Status)
	}
	if len(problems) > 0 {
		return fmt.Errorf("txn %s: %s; %s", x.TxnID, strings.Join(problems, "; "), x)
	}
	return nil
}

// routingBatch pays n orders named prefix_0000… by card, conc at a time,
// and returns them in order. before, if set, runs before txn i is sent
// (with conc 1: after txn i-1 finished). Every txn must get an answer and
// satisfy routingInvariants.
func (sh *routingShop) batch(t *testing.T, prefix string, n, conc int, card string, before func(i int)) []routingTxn {
	t.Helper()
	out := make([]routingTxn, n)
	errs := make([]error, n)
	idx := make(chan int)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				x, err := sh.pay(nil, fmt.Sprintf("%s_%04d", prefix, i), card, nil)
				if err == nil {
					err = routingInvariants(&x)
				}
				out[i], errs[i] = x, err
			}
		}()
	}
	for i := range n {
		if before != nil {
			before(i)
		}
		idx <- i
	}
	close(idx)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("paying %s_*: %v", prefix, err)
	}
	return out
}

// routingShare counts the txns whose primary (the decision's first
// candidate) is gw.
func routingShare(xs []routingTxn, gw string) int {
	n := 0
	for i := range xs {
		if xs[i].Primary() == gw {
			n++
		}
	}
	return n
}

// routingCharged counts the charged txns.
func routingCharged(xs []routingTxn) int {
	n := 0
	for i := range xs {
		if xs[i].Charged() {
			n++
		}
	}
	return n
}

// routingReasons counts the decisions' reasons.
func routingReasons(xs []routingTxn) map[string]int {
	m := map[string]int{}
	for i := range xs {
		m[xs[i].Routing.Decision.Reason]++
	}
	return m
}

// routingPrimaries counts the txns by primary gateway.
func routingPrimaries(xs []routingTxn) map[string]int {
	m := map[string]int{}
	for i := range xs {
		m[xs[i].Primary()]++
	}
	return m
}

// checkBooks checks that the sandbox processors' own books agree with the
// txns: every attempt that was not UNAVAILABLE reached exactly one
// processor once, and every charged txn was charged once (100.00 INR), so
// nobody was authorized twice. Call it before any shadow payment.
func (sh *routingShop) checkBooks(t *testing.T, xs []routingTxn) {
	t.Helper()
	var reached, charged int64
	for i := range xs {
		for _, a := range xs[i].Routing.Attempts {
			if a.Outcome != "UNAVAILABLE" {
				reached++
			}
		}
		if xs[i].Charged() {
			charged++
		}
	}
	c := sh.allCounters(t)
	if c.Attempts != reached || c.Charged != charged || c.AmountCharged != 10000*charged {
		t.Errorf("the processors counted %d attempts and %d charges (%d minor units); the txns show %d attempts reaching a processor and %d charged (%d)",
			c.Attempts, c.Charged, c.AmountCharged, reached, charged, 10000*charged)
	}
}

// oracleGap compares the txns' success with an oracle that sends every one
// of them to gw: for each txn that did not end at gw, gw's processor is
// asked what it would have answered (a shadow payment with the same txn id
// draws the same outcome). It returns the txns charged and those the oracle
// would have charged.
func (sh *routingShop) oracleGap(t *testing.T, xs []routingTxn, gw string) (got, oracle int) {
	t.Helper()
	for i := range xs {
		x := &xs[i]
		if x.Charged() {
			got++
		}
		ok := x.Charged()
		if x.Gateway != gw {
			ok = sh.shadowOutcome(t, gw, x.TxnID, x.Card)
		}
		if ok {
			oracle++
		}
	}
	return got, oracle
}

// one pays order orderID (see pay) from the test's goroutine and checks
// routingInvariants.
func (sh *routingShop) one(t *testing.T, orderID, card string, extra url.Values) routingTxn {
	t.Helper()
	x, err := sh.pay(nil, orderID, card, extra)
	if err != nil {
		t.Fatal(err)
	}
	if err := routingInvariants(&x); err != nil {
		t.Error(err)
	}
	return x
}

// routingFields returns the field names of a 400 answer's error_info, and
// fails the test unless r is a 400 in the documented error shape.
func routingFields(t *testing.T, r response) map[string]string {
	t.Helper()
	e := wantError(t, r, http.StatusBadRequest)
	out := map[string]string{}
	for _, f := range e.ErrorInfo.Fields {
		out[f.FieldName] = f.Reason
	}
	return out
}
