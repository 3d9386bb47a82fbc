package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// TestMoneyRefunds drives the refund API (juspay-api.md §8) over HTTP:
// partial and full refunds, the refundable limit, unique_request_id
// idempotency, refusals, and POST /refunds by txn_id and by order_id.
func TestMoneyRefunds(t *testing.T) {
	s := bootMoney(t)
	sh := newMoneyShop(t, s, "money_rf")
	_, paid := sh.charged(t, "rf_1", "100.00")

	refund := func(orderID string, form url.Values) response {
		t.Helper()
		r, err := sh.refundOrder(orderID, form)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	refunded := func(r response) moneyOrder {
		t.Helper()
		var o moneyOrder
		r.want(t, http.StatusOK).decode(t, &o)
		return o
	}

	// A partial refund: the order stays CHARGED, shows the refund and the
	// refunded amount.
	o := refunded(refund("rf_1", url.Values{"unique_request_id": {"r1"}, "amount": {"30"}}))
	r1 := o.refund("r1")
	if r1 == nil || r1.Status != "SUCCESS" || r1.InitiatedBy != "API" || !r1.SentToGateway || r1.ID == "" {
		t.Fatalf("refund r1 in the answer: %+v (refunds %+v)", r1, o.Refunds)
	}
	sameAmount(t, "r1 amount", r1.Amount.String(), "30")
	if o.Status != "CHARGED" || o.StatusID != 21 || !o.Refunded {
		t.Errorf("after a partial refund: status %s/%d refunded=%v, want CHARGED/21 refunded", o.Status, o.StatusID, o.Refunded)
	}
	sameAmount(t, "amount_refunded after r1", o.AmountRefunded.String(), "30")
	sameAmount(t, "effective_amount after r1", o.EffectiveAmount.String(), "70")

	// More than is left is refused, naming the amount, and changes nothing.
	for _, amount := range []string{"70.01", "100", "1000"} {
		r := refund("rf_1", url.Values{"unique_request_id": {"r_over_" + strings.ReplaceAll(amount, ".", "_")}, "amount": {amount}})
		e := wantError(t, r, http.StatusBadRequest)
		if e.ErrorCode != "invalid.amount.exceeded" || len(e.ErrorInfo.Fields) == 0 || e.ErrorInfo.Fields[0].FieldName != "amount" {
			t.Errorf("refund of %s with 70 left: error_code %q fields %+v, want invalid.amount.exceeded naming amount", amount, e.ErrorCode, e.ErrorInfo.Fields)
		}
	}

	// The same unique_request_id with another amount is a duplicate call;
	// with the same amount, or none, it is the same refund, not a new one.
	if e := wantError(t, refund("rf_1", url.Values{"unique_request_id": {"r1"}, "amount": {"31"}}), http.StatusBadRequest); e.ErrorCode != "duplicate.call" {
		t.Errorf("r1 again with amount 31: error_code %q, want duplicate.call", e.ErrorCode)
	}
	for _, form := range []url.Values{
		{"unique_request_id": {"r1"}, "amount": {"30.00"}},
		{"unique_request_id": {"r1"}},
	} {
		o := refunded(refund("rf_1", form))
		if len(o.Refunds) != 1 || o.refund("r1") == nil || o.refund("r1").ID != r1.ID {
			t.Errorf("repeating r1 (%v): refunds %+v, want only the first r1 (%s)", form, o.Refunds, r1.ID)
		}
		sameAmount(t, "amount_refunded after repeating r1", o.AmountRefunded.String(), "30")
	}

	// No amount refunds everything left.
	o = refunded(refund("rf_1", url.Values{"unique_request_id": {"r2"}}))
	if r2 := o.refund("r2"); r2 == nil || r2.Status != "SUCCESS" {
		t.Fatalf("full refund r2: %+v", o.Refunds)
	} else {
		sameAmount(t, "r2 amount (what was left)", r2.Amount.String(), "70")
	}
	sameAmount(t, "amount_refunded after the full refund", o.AmountRefunded.String(), "100")
	sameAmount(t, "effective_amount after the full refund", o.EffectiveAmount.String(), "0")

	// Nothing is left: any further refund is refused.
	for _, form := range []url.Values{{"unique_request_id": {"r3"}, "amount": {"0.01"}}, {"unique_request_id": {"r4"}}} {
		if e := wantError(t, refund("rf_1", form), http.StatusBadRequest); e.ErrorCode != "invalid.amount.exceeded" {
			t.Errorf("refund %v of a fully refunded order: error_code %q, want invalid.amount.exceeded", form, e.ErrorCode)
		}
	}

	// GET /orders tells the same story, and so do the gateway's books.
	o = sh.order(t, "rf_1")
	if o.Status != "CHARGED" || len(o.Refunds) != 2 || o.refund("r1") == nil || o.refund("r2") == nil || o.TxnID != paid.TxnID {
		t.Errorf("GET /orders/rf_1: status %s txn %s refunds %+v", o.Status, o.TxnID, o.Refunds)
	}
	sameAmount(t, "GET amount_refunded", o.AmountRefunded.String(), "100")
	if c := sh.counters(t); c.Refunded != 2 || c.AmountRefunded != 10000 || c.AmountCharged != 10000 {
		t.Errorf("sandbox counters %+v, want 2 refunds of 10000 minor units of 10000 charged", c)
	}

	t.Run("not refundable", func(t *testing.T) {
		sh.newOrder(t, "rf_new", "10")
		if e := wantError(t, refund("rf_new", url.Values{"unique_request_id": {"n1"}, "amount": {"1"}}), http.StatusBadRequest); e.ErrorCode != "invalid.order.not_successful" {
			t.Errorf("refund of a NEW order: error_code %q, want invalid.order.not_successful", e.ErrorCode)
		}
		sh.newOrder(t, "rf_declined", "10")
		sh.pay(t, "rf_declined", moneyCardDeclined, "AUTHORIZATION_FAILED")
		if e := wantError(t, refund("rf_declined", url.Values{"unique_request_id": {"d1"}}), http.StatusBadRequest); e.ErrorCode != "invalid.order.not_successful" {
			t.Errorf("refund of a declined order: error_code %q, want invalid.order.not_successful", e.ErrorCode)
		}

		r := refund("rf_nope", url.Values{"unique_request_id": {"x1"}, "amount": {"1"}}).want(t, http.StatusNotFound)
		var nf struct {
			Status   string `json:"status"`
			StatusID int    `json:"status_id"`
			OrderID  string `json:"order_id"`
		}
		r.decode(t, &nf)
		if nf.Status != "NOT_FOUND" || nf.StatusID != 40 || nf.OrderID != "rf_nope" {
			t.Errorf("refund of an unknown order: %s, want NOT_FOUND/40 naming rf_nope", r.Body)
		}
		if c := sh.counters(t); c.Refunded != 2 {
			t.Errorf("refused refunds reached the gateway: %+v", c)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		sh.charged(t, "rf_bad", "10")
		e := wantError(t, refund("rf_bad", url.Values{"amount": {"1"}}), http.StatusBadRequest)
		if len(e.ErrorInfo.Fields) == 0 || e.ErrorInfo.Fields[0].FieldName != "unique_request_id" ||
			e.ErrorInfo.Code != "MISSING_MANDATORY_PARAMETER" {
			t.Errorf("refund without unique_request_id: %+v, want a missing unique_request_id", e)
		}
		for _, amount := range []string{"0", "0.00", "-5", "abc", "1.001"} {
			e := wantError(t, refund("rf_bad", url.Values{"unique_request_id": {"b1"}, "amount": {amount}}), http.StatusBadRequest)
			if e.ErrorCode != "invalid amount" || len(e.ErrorInfo.Fields) == 0 || e.ErrorInfo.Fields[0].FieldName != "amount" {
				t.Errorf("refund of amount %q: error_code %q fields %+v, want invalid amount naming amount", amount, e.ErrorCode, e.ErrorInfo.Fields)
			}
		}
		if o := sh.order(t, "rf_bad"); len(o.Refunds) != 0 {
			t.Errorf("refused requests left refunds: %+v", o.Refunds)
		}
	})

	t.Run("POST /refunds", func(t *testing.T) {
		_, x := sh.charged(t, "rf_2", "50.00")
		type flat struct {
			UniqueRequestID string      `json:"unique_request_id"`
			TxnID           string      `json:"txn_id"`
			OrderID         string      `json:"order_id"`
			Status          string      `json:"status"`
			Amount          json.Number `json:"amount"`
			InitiatedBy     string      `json:"initiated_by"`
			RefundType      string      `json:"refund_type"`
			Gateway         string      `json:"gateway"`
			SentToGateway   bool        `json:"sent_to_gateway"`
			ReferenceID     string      `json:"reference_id"`
		}
		check := func(r response, id, amount string) flat {
			t.Helper()
			var raw map[string]any
			r.want(t, http.StatusOK).decode(t, &raw)
			if _, nested := raw["refunds"]; nested {
				t.Errorf("POST /refunds answered an order object, want the flat refund: %s", r.Body)
			}
			var f flat
			r.decode(t, &f)
			if f.UniqueRequestID != id || f.TxnID != x.TxnID || f.OrderID != "rf_2" || f.Status != "SUCCESS" ||
				f.InitiatedBy != "API" || f.RefundType != "STANDARD" || f.Gateway != "sandbox_a" || !f.SentToGateway || f.ReferenceID == "" {
				t.Errorf("flat refund %s: %s", id, r.Body)
			}
			sameAmount(t, id+" amount", f.Amount.String(), amount)
			return f
		}
		post := func(form url.Values) response {
			t.Helper()
			return s.postForm(t, "/refunds", sh.key, form)
		}

		byTxn := check(post(url.Values{"unique_request_id": {"t1"}, "txn_id": {x.TxnID}, "amount": {"10"}}), "t1", "10")
		check(post(url.Values{"unique_request_id": {"t2"}, "order_id": {"rf_2"}, "amount": {"5.50"}}), "t2", "5.5")
		// JSON works too, and a repeat is the same refund.
		again := check(s.postJSON(t, "/refunds", sh.key, map[string]any{"unique_request_id": "t1", "txn_id": x.TxnID, "amount": 10}), "t1", "10")
		if again.ReferenceID != byTxn.ReferenceID {
			t.Errorf("repeated t1: reference_id %s, want %s", again.ReferenceID, byTxn.ReferenceID)
		}
		if e := wantError(t, post(url.Values{"unique_request_id": {"t3"}, "txn_id": {x.TxnID}, "amount": {"34.51"}}), http.StatusBadRequest); e.ErrorCode != "invalid.amount.exceeded" {
			t.Errorf("POST /refunds over the refundable 34.50: error_code %q", e.ErrorCode)
		}
		wantError(t, post(url.Values{"unique_request_id": {"t4"}, "amount": {"1"}}), http.StatusBadRequest)
		wantError(t, post(url.Values{"unique_request_id": {"t5"}, "txn_id": {"money_rf-nope-1"}, "amount": {"1"}}), http.StatusNotFound)

		o := sh.order(t, "rf_2")
		sameAmount(t, "rf_2 amount_refunded", o.AmountRefunded.String(), "15.5")
		if len(o.Refunds) != 2 {
			t.Errorf("rf_2 refunds: %+v, want t1 and t2", o.Refunds)
		}
	})
}

// TestMoneyRefundsConcurrent: concurrent refund requests can neither
// duplicate a refund nor together refund more than was charged — in
// Switchyard's books and in the gateway's.
func TestMoneyRefundsConcurrent(t *testing.T) {
	moneyNeedMySQL(t)
	s := bootMoney(t)

	t.Run("one unique_request_id", func(t *testing.T) {
		sh := newMoneyShop(t, s, "money_rc1")
		uuid, _ := sh.charged(t, "rc_1", "100.00")
		const n = 20
		var mu sync.Mutex
		ids := map[string]int{}
		var failures []string
		moneyParallel(n, func(int) {
			r, err := sh.refundOrder("rc_1", url.Values{"unique_request_id": {"same_req"}, "amount": {"10"}})
			mu.Lock()
			defer mu.Unlock()
			if err != nil || r.Code != http.StatusOK {
				failures = append(failures, moneyDescribe(r)+moneyErrString(err))
				return
			}
			var o moneyOrder
			if err := json.Unmarshal(r.Body, &o); err != nil {
				failures = append(failures, "unreadable "+string(r.Body))
				return
			}
			if rf := o.refund("same_req"); rf != nil && len(o.Refunds) == 1 {
				ids[rf.ID]++
			} else {
				failures = append(failures, "refunds "+string(r.Body))
			}
		})
		if len(failures) > 0 {
			t.Errorf("%d of %d identical refund requests failed, e.g. %s", len(failures), n, failures[0])
		}
		if len(ids) != 1 {
			t.Errorf("identical refund requests answered with refunds %v, want one", ids)
		}
		if rows := s.refundRows(t, uuid); len(rows) != 1 || rows[0].Amount.Amount != 1000 {
			t.Errorf("refund rows: %d, want one of 1000", len(rows))
		}
		// Settled: the refund is SUCCESS now, whichever request sent it.
		o := sh.order(t, "rc_1")
		if rf := o.refund("same_req"); rf == nil || rf.Status != "SUCCESS" {
			t.Errorf("refund after the burst: %+v", o.Refunds)
		}
		sameAmount(t, "amount_refunded", o.AmountRefunded.String(), "10")
		if c := sh.counters(t); c.Refunded != 1 || c.AmountRefunded != 1000 {
			t.Errorf("sandbox counters %+v, want exactly one refund of 1000", c)
		}
	})

	t.Run("partial refunds racing for the amount", func(t *testing.T) {
		sh := newMoneyShop(t, s, "money_rc2")
		uuid, _ := sh.charged(t, "rc_2", "100.00")
		const n = 10 // × 30.00 on an order of 100.00
		var mu sync.Mutex
		codes := map[string]int{}
		moneyParallel(n, func(i int) {
			r, err := sh.refundOrder("rc_2", url.Values{"unique_request_id": {"part_" + string(rune('a'+i))}, "amount": {"30"}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				codes["transport: "+err.Error()]++
			case r.Code == http.StatusOK:
				codes["200"]++
			default:
				codes[fmt.Sprintf("%d %s", r.Code, moneyErrorCode(r))]++
			}
		})
		t.Logf("answers: %v", codes)
		if codes["200"] != 3 || codes["400 invalid.amount.exceeded"] != n-3 {
			t.Errorf("answers %v, want 3 refunds of 30 and %d refused with invalid.amount.exceeded", codes, n-3)
		}
		var success int64
		for _, r := range s.refundRows(t, uuid) {
			if r.Status == "SUCCESS" {
				success += r.Amount.Amount
			} else {
				t.Errorf("refund %s left %s", r.UniqueRequestID, r.Status)
			}
		}
		if success > 10000 || success != 3*3000 {
			t.Errorf("SUCCESS refunds add up to %d minor units of 10000 charged, want 9000", success)
		}
		o := sh.order(t, "rc_2")
		if got := moneyMinor(t, "amount_refunded", o.AmountRefunded); got != success {
			t.Errorf("amount_refunded %d, refunds add up to %d", got, success)
		}
		if c := sh.counters(t); c.AmountRefunded != success || c.Refunded != 3 {
			t.Errorf("sandbox refunded %d in %d refunds; Switchyard says %d", c.AmountRefunded, c.Refunded, success)
		}
	})
}

func moneyErrString(err error) string {
	if err == nil {
		return ""
	}
	return " " + err.Error()
}
