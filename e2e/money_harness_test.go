package e2e_test

// Helpers of the money tests (money_*_test.go): refunds, double charges and
// reconciliation, driven over HTTP against a booted app whose clock the test
// controls.

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"switchyard/server/api"
	"switchyard/server/connector"
	"switchyard/server/connector/sandbox"
	"switchyard/server/orchestrator"
	"switchyard/server/pay"
	"switchyard/server/storetest"
)

// Sandbox test cards (DESIGN §8).
const (
	moneyCardOK       = "4242424242424242"
	moneyCard3DS      = "4000000000003220"
	moneyCardDeclined = "4000000000000002"
	moneyCardByRate   = "4111111111111111"
)

// moneyServer is a booted Switchyard with a test-controlled clock and no
// background reconciliation: the test runs Reconcile passes itself.
type moneyServer struct {
	*server
	clock *testClock
}

// bootMoney is bootClocked.
func bootMoney(tb testing.TB) *moneyServer {
	tb.Helper()
	s, clock := bootClocked(tb)
	return &moneyServer{server: s, clock: clock}
}

// moneyNeedMySQL skips a concurrency test on the embedded engine, which
// serializes every statement on one connection: it would pass without
// proving anything about row locks.
func moneyNeedMySQL(t *testing.T) {
	t.Helper()
	if storetest.Backend() != storetest.BackendMySQL {
		t.Skipf("concurrency test: needs real MySQL/MariaDB row locks; set %s (the embedded engine runs one statement at a time)",
			storetest.EnvDatabaseURL)
	}
}

// reconcile runs one reconciliation pass of the app.
func (s *moneyServer) reconcile(t *testing.T) orchestrator.ReconcileReport {
	t.Helper()
	rep, err := s.App.Service.Reconcile(t.Context())
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	t.Logf("reconcile at +%s: %+v", time.Duration(s.clock.offset.Load()), rep)
	return rep
}

// txns returns an order's txns from the store, oldest first.
func (s *moneyServer) txns(t *testing.T, orderUUID string) []*pay.Txn {
	t.Helper()
	txns, err := s.App.DB.Txns(t.Context(), orderUUID)
	if err != nil {
		t.Fatalf("txns of %s: %v", orderUUID, err)
	}
	return txns
}

// txn returns the txn with txn_id id of an order.
func (s *moneyServer) txn(t *testing.T, orderUUID, id string) *pay.Txn {
	t.Helper()
	for _, x := range s.txns(t, orderUUID) {
		if x.TxnID == id {
			return x
		}
	}
	t.Fatalf("order %s has no txn %s", orderUUID, id)
	return nil
}

// refundRows returns an order's refunds from the store.
func (s *moneyServer) refundRows(t *testing.T, orderUUID string) []*pay.Refund {
	t.Helper()
	rs, err := s.App.DB.Refunds(t.Context(), orderUUID)
	if err != nil {
		t.Fatalf("refunds of %s: %v", orderUUID, err)
	}
	return rs
}

// events counts an order's outbox rows by event name.
func (s *moneyServer) events(t *testing.T, orderUUID string) map[string]int {
	t.Helper()
	rows, err := s.App.DB.SQL().QueryContext(t.Context(),
		`SELECT event_name, COUNT(*) FROM outbox WHERE order_uuid = ? GROUP BY event_name`, orderUUID)
	if err != nil {
		t.Fatalf("reading the outbox: %v", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// eventPayload returns the content.order of the latest outbox row named
// name of an order.
func (s *moneyServer) eventPayload(t *testing.T, orderUUID, name string) moneyOrder {
	t.Helper()
	var payload string
	err := s.App.DB.SQL().QueryRowContext(t.Context(),
		`SELECT payload FROM outbox WHERE order_uuid = ? AND event_name = ? ORDER BY id DESC LIMIT 1`,
		orderUUID, name).Scan(&payload)
	if err != nil {
		t.Fatalf("outbox row %s of %s: %v", name, orderUUID, err)
	}
	var ev struct {
		EventName string `json:"event_name"`
		Content   struct {
			Order moneyOrder `json:"order"`
		} `json:"content"`
	}
	if err := json.Unmarshal([]byte(payload), &ev); err != nil {
		t.Fatalf("outbox payload of %s: %v", name, err)
	}
	if ev.EventName != name {
		t.Errorf("outbox row %s carries event_name %q", name, ev.EventName)
	}
	return ev.Content.Order
}

// replica is a second orchestrator on the app's database, as another
// replica of the deployment would be, whose gateway calls give up after
// timeout instead of 30 s: it turns the sandbox's timeout mode into an
// UNKNOWN answer in a second. (Its connector signs the sandbox's
// notifications with its own key, so txns it starts get no notifications
// the app accepts; the tests using it need none.)
func (s *moneyServer) replica(timeout time.Duration) *orchestrator.Service {
	reg := connector.Registry{"sandbox": sandbox.Factory(sandbox.ConnectorConfig{
		BaseURL:   s.URL + "/sandbox",
		Client:    &http.Client{Timeout: timeout},
		NotifyKey: []byte("money-test-replica-notify-key"),
	})}
	return orchestrator.New(orchestrator.Config{
		DB: s.App.DB, Log: slog.New(slog.DiscardHandler), PublicURL: s.URL, Connectors: reg,
		RenderOrder: api.OrderJSON,
	})
}

// moneyWait polls cond every 25 ms until it holds, failing the test after
// timeout.
func moneyWait(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// moneyShop is a merchant with one sandbox gateway account (sandbox_a, every
// method, INR) on its own sandbox processor.
type moneyShop struct {
	s         *moneyServer
	id        string
	key       auth
	processor string
}

// The merchant is created through the service layer (as `switchyard
// merchant create` does) with the cheapest bcrypt cost for its dashboard
// password: through the admin API, bcrypt's default cost under -race costs
// 1.5 s per merchant, and these tests are about money, not the admin API.
func newMoneyShop(t *testing.T, s *moneyServer, id string) *moneyShop {
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
	sh := &moneyShop{s: s, id: id, key: basic(c.APIKey), processor: "mp_" + id}
	s.do(t, http.MethodPut, "/admin/v1/merchants/"+id+"/gateways/sandbox_a", bearer(adminToken), "application/json",
		`{"connector": "sandbox", "credentials": {"processor": "`+sh.processor+`"},
		  "payment_methods": ["CARD", "UPI", "NB", "WALLET"], "currencies": ["INR"]}`).want(t, http.StatusCreated)
	return sh
}

// merchant returns the shop's merchant as the store has it.
func (sh *moneyShop) merchant(t *testing.T) *pay.Merchant {
	t.Helper()
	m, err := sh.s.App.DB.Merchant(t.Context(), sh.id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// patch changes merchant settings through the admin API.
func (sh *moneyShop) patch(t *testing.T, body string) {
	t.Helper()
	sh.s.do(t, http.MethodPatch, "/admin/v1/merchants/"+sh.id, bearer(adminToken), "application/json", body).
		want(t, http.StatusOK)
}

// configure changes the shop's sandbox processor (PUT /sandbox/v1/processors).
func (sh *moneyShop) configure(t *testing.T, body string) {
	t.Helper()
	sh.s.do(t, http.MethodPut, "/sandbox/v1/processors/"+sh.processor, bearer(adminToken), "application/json", body).
		want(t, http.StatusOK)
}

// moneyCounters are what the sandbox processor itself counts, in minor
// units: the gateway's side of the books.
type moneyCounters struct {
	Attempts       int64 `json:"attempts"`
	Charged        int64 `json:"charged"`
	AmountCharged  int64 `json:"amount_charged"`
	Refunded       int64 `json:"refunded"`
	AmountRefunded int64 `json:"amount_refunded"`
}

func (sh *moneyShop) counters(t *testing.T) moneyCounters {
	t.Helper()
	var p struct {
		Counters moneyCounters `json:"counters"`
	}
	sh.s.get(t, "/sandbox/v1/processors/"+sh.processor, bearer(adminToken)).want(t, http.StatusOK).decode(t, &p)
	return p.Counters
}

// newOrder creates a NEW order through POST /orders and returns its id
// (Switchyard's, the order_uuid).
func (sh *moneyShop) newOrder(t *testing.T, orderID, amount string) string {
	t.Helper()
	var o moneyOrder
	sh.s.postForm(t, "/orders", sh.key, url.Values{
		"order_id": {orderID}, "amount": {amount}, "currency": {"INR"}, "customer_id": {"cust_money"},
	}).want(t, http.StatusOK).decode(t, &o)
	if o.Status != "NEW" || o.ID == "" {
		t.Fatalf("created order: %+v", o)
	}
	return o.ID
}

// moneyTxnForm is a POST /txns card payment of order orderID, answered as JSON.
func moneyTxnForm(orderID, card string) url.Values {
	return url.Values{
		"order_id": {orderID}, "payment_method_type": {"CARD"}, "card_number": {card},
		"card_exp_month": {"12"}, "card_exp_year": {strconv.Itoa(time.Now().Year() + 3)},
		"card_security_code": {"123"}, "name_on_card": {"Money Test"}, "format": {"json"},
	}
}

// startTxn posts a card payment; it does not fail the test (goroutines call
// it).
func (sh *moneyShop) startTxn(orderID, card string) (response, error) {
	return sh.s.send(http.MethodPost, "/txns", sh.key, "application/x-www-form-urlencoded", moneyTxnForm(orderID, card).Encode())
}

// moneyTxn is POST /txns's answer.
type moneyTxn struct {
	OrderID  string `json:"order_id"`
	TxnID    string `json:"txn_id"`
	TxnUUID  string `json:"txn_uuid"`
	Status   string `json:"status"`
	StatusID int    `json:"status_id"`
	Payment  struct {
		Authentication struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"authentication"`
	} `json:"payment"`
}

// pay posts a card payment and checks the txn's status.
func (sh *moneyShop) pay(t *testing.T, orderID, card, moneyWantStatus string) moneyTxn {
	t.Helper()
	r, err := sh.startTxn(orderID, card)
	if err != nil {
		t.Fatal(err)
	}
	var x moneyTxn
	r.want(t, http.StatusOK).decode(t, &x)
	if x.Status != moneyWantStatus || x.TxnID == "" {
		t.Fatalf("POST /txns for %s with card %s: status %q (txn %q), want %s; body %s",
			orderID, card, x.Status, x.TxnID, moneyWantStatus, r.Body)
	}
	return x
}

// charged creates order orderID for amount and charges it with 4242.
func (sh *moneyShop) charged(t *testing.T, orderID, amount string) (orderUUID string, x moneyTxn) {
	t.Helper()
	orderUUID = sh.newOrder(t, orderID, amount)
	return orderUUID, sh.pay(t, orderID, moneyCardOK, "CHARGED")
}

// moneyOrder is the order object, with the money fields these tests read.
type moneyOrder struct {
	ID              string        `json:"id"`
	OrderID         string        `json:"order_id"`
	Status          string        `json:"status"`
	StatusID        int           `json:"status_id"`
	Amount          json.Number   `json:"amount"`
	AmountRefunded  json.Number   `json:"amount_refunded"`
	EffectiveAmount json.Number   `json:"effective_amount"`
	Refunded        bool          `json:"refunded"`
	TxnID           string        `json:"txn_id"`
	Refunds         []moneyRefund `json:"refunds"`
}

type moneyRefund struct {
	ID              string      `json:"id"`
	UniqueRequestID string      `json:"unique_request_id"`
	Amount          json.Number `json:"amount"`
	Status          string      `json:"status"`
	InitiatedBy     string      `json:"initiated_by"`
	SentToGateway   bool        `json:"sent_to_gateway"`
}

// refund returns the order's refund with unique_request_id id, or nil.
func (o moneyOrder) refund(id string) *moneyRefund {
	for i := range o.Refunds {
		if o.Refunds[i].UniqueRequestID == id {
			return &o.Refunds[i]
		}
	}
	return nil
}

// order reads an order through the Order Status API.
func (sh *moneyShop) order(t *testing.T, orderID string) moneyOrder {
	t.Helper()
	var o moneyOrder
	sh.s.get(t, "/orders/"+url.PathEscape(orderID), sh.key).want(t, http.StatusOK).decode(t, &o)
	return o
}

// refundOrder posts POST /orders/{order_id}/refunds; it does not fail the
// test (goroutines call it).
func (sh *moneyShop) refundOrder(orderID string, form url.Values) (response, error) {
	return sh.s.send(http.MethodPost, "/orders/"+url.PathEscape(orderID)+"/refunds", sh.key,
		"application/x-www-form-urlencoded", form.Encode())
}

// moneyMinor converts a decimal amount to minor units (2 decimals), exactly.
func moneyMinor(t *testing.T, what string, n json.Number) int64 {
	t.Helper()
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		t.Fatalf("%s = %q is not a decimal", what, n)
	}
	r.Mul(r, big.NewRat(100, 1))
	if !r.IsInt() {
		t.Fatalf("%s = %q has more than 2 decimals", what, n)
	}
	return r.Num().Int64()
}

// moneyParallel runs f(i) for i in [0, n) at once, released together, and waits.
func moneyParallel(n int, f func(i int)) {
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			f(i)
		}()
	}
	start.Done()
	done.Wait()
}

// moneyErrorCode decodes an error response's error_code.
func moneyErrorCode(r response) string {
	var e struct {
		ErrorCode string `json:"error_code"`
	}
	json.Unmarshal(r.Body, &e)
	return e.ErrorCode
}

func moneyDescribe(r response) string { return fmt.Sprintf("%d %s", r.Code, r.Body) }
