package e2e_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard/server/app"
	"switchyard/server/pay"
)

// payoutShop is a merchant with a webhook receiver, talking to the payout
// API of a booted server.
type payoutShop struct {
	s     *server
	id    string
	key   auth
	creds credentials
	hooks *callbackSink
}

// callbackSink is a merchant's webhook endpoint: it records every callback
// with how it was authenticated.
type callbackSink struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []callback
}

// callback is one received payout callback.
type callback struct {
	ID       string          `json:"id"`
	Category string          `json:"category"`
	Label    string          `json:"label"`
	Value    string          `json:"value"`
	Info     json.RawMessage `json:"info"`
	// What came with it.
	Body      []byte `json:"-"`
	User      string `json:"-"`
	Password  string `json:"-"`
	Signature string `json:"-"`
}

func newCallbackSink(t *testing.T) *callbackSink {
	c := &callbackSink{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var cb callback
		if err := json.Unmarshal(body, &cb); err == nil {
			cb.Body = body
			cb.User, cb.Password, _ = r.BasicAuth()
			cb.Signature = r.Header.Get("X-Switchyard-Signature")
			c.mu.Lock()
			c.got = append(c.got, cb)
			c.mu.Unlock()
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// payout returns the callbacks about one payout order: ORDER ones by
// merchantOrderId, the others by the fulfillment ids of that order (which
// start with the order's internal id).
func (c *callbackSink) all() []callback {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// labels lists "LABEL VALUE" of the callbacks, in arrival order.
func labels(cbs []callback) []string {
	var out []string
	for _, cb := range cbs {
		out = append(out, cb.Label+" "+cb.Value)
	}
	return out
}

func newPayoutShop(t *testing.T, s *server, id string) *payoutShop {
	t.Helper()
	c := s.createMerchant(t, id)
	sh := &payoutShop{s: s, id: id, key: basic(c.APIKey), creds: c, hooks: newCallbackSink(t)}
	s.do(t, http.MethodPatch, "/admin/v1/merchants/"+id, bearer(adminToken), "application/json",
		`{"webhook_url": "`+sh.hooks.srv.URL+`/hooks", "webhook_username": "shop", "webhook_password": "hook-secret"}`).
		want(t, http.StatusOK)
	return sh
}

// rail configures a sandbox payout rail.
func (sh *payoutShop) rail(t *testing.T, name, body string) {
	t.Helper()
	sh.s.do(t, http.MethodPut, "/sandbox/v1/payout-rails/"+name, bearer(adminToken), "application/json", body).
		want(t, http.StatusOK)
}

// railCounters are what a sandbox rail itself counts: the money that left.
type railCounters struct {
	Attempts   int64 `json:"attempts"`
	Succeeded  int64 `json:"succeeded"`
	AmountPaid int64 `json:"amount_paid"`
	Failed     int64 `json:"failed"`
	Pending    int64 `json:"pending"`
	Reversed   int64 `json:"reversed"`
}

func (sh *payoutShop) counters(t *testing.T, rail string) railCounters {
	t.Helper()
	var r struct {
		Counters railCounters `json:"counters"`
	}
	sh.s.get(t, "/sandbox/v1/payout-rails/"+rail, bearer(adminToken)).want(t, http.StatusOK).decode(t, &r)
	return r.Counters
}

// payoutOrder is the status API's payout order, with what these tests read.
type payoutOrder struct {
	OrderID      string        `json:"orderId"`
	Type         string        `json:"type"`
	Status       string        `json:"status"`
	Amount       json.Number   `json:"amount"`
	Fulfillments []fulfillment `json:"fulfillments"`
	Payments     []struct {
		ID           string `json:"id"`
		OrderID      string `json:"orderId"`
		Status       string `json:"status"`
		PaymentLinks struct {
			Web string `json:"web"`
		} `json:"paymentLinks"`
	} `json:"payments"`
	Refunds []struct {
		Amount json.Number `json:"amount"`
		Status string      `json:"status"`
	} `json:"refunds"`
}

type fulfillment struct {
	ID                    string      `json:"id"`
	Status                string      `json:"status"`
	Amount                json.Number `json:"amount"`
	PreferredMethodList   []string    `json:"preferredMethodList"`
	FulfillmentMethodList []string    `json:"fulfillmentMethodList"`
	Transactions          []struct {
		TransactionRef    string      `json:"transactionRef"`
		Status            string      `json:"status"`
		FulfillmentMethod string      `json:"fulfillmentMethod"`
		Amount            json.Number `json:"amount"`
		ResponseCode      string      `json:"responseCode"`
		ResponseMessage   string      `json:"responseMessage"`
	} `json:"transactions"`
}

// txnSummary is "<method> <status>" per transaction.
func (f fulfillment) txnSummary() []string {
	var out []string
	for _, x := range f.Transactions {
		out = append(out, x.FulfillmentMethod+" "+x.Status)
	}
	return out
}

// payoutBody is a create request with one IMPS-able fulfillment per amount.
func payoutBody(orderID, typ string, methods []string, amounts ...string) map[string]any {
	var fs []any
	total := int64(0)
	for _, a := range amounts {
		minor, _ := pay.ParseAmount(a, "INR")
		total += minor
		fs = append(fs, map[string]any{
			"preferredMethodList": methods,
			"amount":              json.Number(a),
			"beneficiaryDetails": map[string]any{"type": "ACCOUNT_IFSC",
				"details": map[string]string{"name": "Asha Rao", "account": "026291800001191", "ifsc": "YESB0000262"}},
			"additionalInfo": map[string]any{"remark": "Payout Transaction"},
		})
	}
	return map[string]any{
		"orderId": orderID, "amount": json.Number(pay.FormatAmount(total, "INR")), "customerId": "cth_59Yibs1JauYP6WJP",
		"customerPhone": "9999999999", "customerEmail": "asha@example.com", "type": typ, "udf1": "u1",
		"fulfillments": fs,
	}
}

func (sh *payoutShop) create(t *testing.T, body any) payoutOrder {
	t.Helper()
	var o payoutOrder
	sh.s.postJSON(t, "/payout/merchant/v1/orders", sh.key, body).want(t, http.StatusOK).decode(t, &o)
	return o
}

func (sh *payoutShop) order(t *testing.T, orderID string) payoutOrder {
	t.Helper()
	var o payoutOrder
	sh.s.get(t, "/payout/merchant/v1/orders/"+orderID+"?expand=fulfillment,payment,refund", sh.key).
		want(t, http.StatusOK).decode(t, &o)
	return o
}

// final waits until the order's status is final, and returns it.
func (sh *payoutShop) final(t *testing.T, orderID string, timeout time.Duration) payoutOrder {
	t.Helper()
	var o payoutOrder
	moneyWait(t, "payout "+orderID+" to be final", timeout, func() bool {
		o = sh.order(t, orderID)
		return pay.PayoutStatus(o.Status).Final()
	})
	return o
}

// callbacksOf waits until the callbacks about one order include want (in
// any order), and returns the order's callbacks in arrival order.
func (sh *payoutShop) callbacksOf(t *testing.T, internalID, orderID string, want []string) []callback {
	t.Helper()
	var mine []callback
	moneyWait(t, "callbacks of "+orderID, 15*time.Second, func() bool {
		mine = nil
		for _, cb := range sh.hooks.all() {
			var info struct {
				ID              string `json:"id"`
				MerchantOrderID string `json:"merchantOrderId"`
			}
			json.Unmarshal(cb.Info, &info)
			if info.MerchantOrderID == orderID || strings.HasPrefix(info.ID, internalID+"-") {
				mine = append(mine, cb)
			}
		}
		got := labels(mine)
		for _, w := range want {
			i := slices.Index(got, w)
			if i < 0 {
				return false
			}
			got = slices.Delete(got, i, i+1)
		}
		return true
	})
	return mine
}

// eventOrder lists the names of a merchant's outbox events in the order
// they were written (the order the workflow took its steps in).
func eventOrder(t *testing.T, s *server, merchantID, payoutID string) []string {
	t.Helper()
	evs, err := s.App.DB.RecentEvents(t.Context(), merchantID, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].OrderUUID == payoutID {
			out = append(out, strings.TrimPrefix(evs[i].Name, "PAYOUT_"))
		}
	}
	return out
}

// internalID is the payout order's internal id: the prefix of its
// fulfillment ids.
func (o payoutOrder) internalID() string {
	id, _, _ := strings.Cut(o.Fulfillments[0].ID, "-f")
	return id
}

func minor(t *testing.T, n json.Number) int64 {
	t.Helper()
	v, err := pay.ParseAmount(n.String(), "INR")
	if err != nil {
		t.Fatalf("amount %q: %v", n, err)
	}
	return v
}

func itoa(n int) string { return strconv.Itoa(n) }

// bootPayouts is boot with the payout worker's timings changed by tune
// (short settle checks and stuck thresholds, so tests see them happen).
func bootPayouts(tb testing.TB, tune func(cfg *app.Config)) *server {
	tb.Helper()
	return bootWith(tb, slog.LevelWarn, tune, nil)
}

// forceRail makes a sandbox rail change an attempt's payout later, as real
// rails do: REVERSED (a success returned) or SUCCESS (a failure that paid).
func (sh *payoutShop) forceRail(t *testing.T, rail, attemptID, status string) {
	t.Helper()
	sh.s.postJSON(t, "/sandbox/v1/payout-rails/"+rail+"/payouts/"+attemptID+"/status", bearer(adminToken),
		`{"status": "`+status+`"}`).want(t, http.StatusOK)
}
