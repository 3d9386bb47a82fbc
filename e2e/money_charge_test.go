package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard/server/pay"
)

// TestMoneyNoDoubleCharge fires concurrent payments at one order: exactly
// one is charged, every other is refused with 409 before reaching the
// gateway, and the gateway took the order's amount once.
func TestMoneyNoDoubleCharge(t *testing.T) {
	moneyNeedMySQL(t)
	s := bootMoney(t)
	sh := newMoneyShop(t, s, "money_dc")

	burst := func(t *testing.T, orderID string) (charged []moneyTxn, answers map[string]int) {
		t.Helper()
		const n = 30
		var mu sync.Mutex
		answers = map[string]int{}
		moneyParallel(n, func(int) {
			r, err := sh.startTxn(orderID, moneyCardOK)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				answers["transport error: "+err.Error()]++
			case r.Code == http.StatusOK:
				var x moneyTxn
				if err := json.Unmarshal(r.Body, &x); err != nil {
					answers["200 unreadable: "+string(r.Body)]++
					return
				}
				answers["200 "+x.Status]++
				if x.Status == "CHARGED" {
					charged = append(charged, x)
				}
			case r.Code == http.StatusConflict:
				var e apiError
				json.Unmarshal(r.Body, &e)
				switch msg := e.ErrorMessage; {
				case strings.Contains(msg, "in progress"), strings.Contains(msg, "already CHARGED"),
					strings.Contains(msg, "at the same time"):
					answers["409"]++
				default:
					answers["409 "+msg]++
				}
			default:
				answers[fmt.Sprintf("%d %s", r.Code, r.Body)]++
			}
		})
		t.Logf("answers: %v", answers)
		if len(charged) != 1 || answers["200 CHARGED"] != 1 || answers["409"] != n-1 {
			t.Errorf("%d concurrent payments of one order: %v; want one CHARGED and %d refused with 409", n, answers, n-1)
		}
		return charged, answers
	}

	t.Run("fresh order", func(t *testing.T) {
		uuid := sh.newOrder(t, "dc_1", "100.00")
		before := sh.counters(t)
		charged, _ := burst(t, "dc_1")
		txns := s.txns(t, uuid)
		if len(txns) != 1 || txns[0].Status != pay.StatusCharged || txns[0].Conflicted {
			t.Errorf("txns of dc_1: %s, want exactly one, CHARGED", moneyTxnList(txns))
		}
		if len(charged) == 1 && len(txns) == 1 && charged[0].TxnID != txns[0].TxnID {
			t.Errorf("the CHARGED answer names %s, the store %s", charged[0].TxnID, txns[0].TxnID)
		}
		if o := sh.order(t, "dc_1"); o.Status != "CHARGED" {
			t.Errorf("order dc_1 is %s", o.Status)
		}
		c := sh.counters(t)
		if c.Attempts-before.Attempts != 1 || c.Charged-before.Charged != 1 || c.AmountCharged-before.AmountCharged != 10000 {
			t.Errorf("sandbox saw %d attempts and %d charges of %d minor units; want one charge of the order's 10000",
				c.Attempts-before.Attempts, c.Charged-before.Charged, c.AmountCharged-before.AmountCharged)
		}
	})

	// An order whose shopper left a 3-D Secure page: every request would
	// supersede that attempt, but only one may, and only it may charge.
	t.Run("order with an abandoned 3DS attempt", func(t *testing.T) {
		uuid := sh.newOrder(t, "dc_2", "100.00")
		pending := sh.pay(t, "dc_2", moneyCard3DS, "PENDING_VBV")
		before := sh.counters(t)
		burst(t, "dc_2")
		txns := s.txns(t, uuid)
		if len(txns) != 2 || txns[0].TxnID != pending.TxnID || txns[0].Status != pay.StatusAuthenticationFailed ||
			txns[0].ErrorCode != "SUPERSEDED" || txns[1].Status != pay.StatusCharged {
			t.Errorf("txns of dc_2: %s; want the 3DS attempt superseded and one CHARGED", moneyTxnList(txns))
		}
		c := sh.counters(t)
		if c.Charged-before.Charged != 1 || c.AmountCharged-before.AmountCharged != 10000 {
			t.Errorf("sandbox charged %d times, %d minor units; want once, 10000", c.Charged-before.Charged, c.AmountCharged-before.AmountCharged)
		}
	})
}

func moneyTxnList(txns []*pay.Txn) string {
	var b strings.Builder
	for _, x := range txns {
		fmt.Fprintf(&b, "[%s %s conflicted=%v %s %s] ", x.TxnID, x.Status, x.Conflicted, x.Details.ConflictReason, x.ErrorCode)
	}
	return b.String()
}

// moneyForceSecondCharge makes order orderID (amount 100.00) charged twice at
// the gateway: txn A waits on a 3-D Secure page, txn B (4242) supersedes
// and charges it, then the shopper approves A's page after all and comes
// back to A's return URL. beforeApprove, if set, runs just before the
// approval. It returns A and B and the order's id.
func moneyForceSecondCharge(t *testing.T, sh *moneyShop, orderID string, beforeApprove func()) (uuid string, a, b moneyTxn) {
	t.Helper()
	s := sh.s
	uuid = sh.newOrder(t, orderID, "100.00")
	a = sh.pay(t, orderID, moneyCard3DS, "PENDING_VBV")
	acs := a.Payment.Authentication.URL
	if !strings.Contains(acs, "/sandbox/acs/") {
		t.Fatalf("3DS txn %s: authentication URL %q is not the sandbox ACS page", a.TxnID, acs)
	}
	b = sh.pay(t, orderID, moneyCardOK, "CHARGED")
	if got := s.txn(t, uuid, a.TxnID); got.Status != pay.StatusAuthenticationFailed {
		t.Fatalf("superseded 3DS txn is %s, want AUTHENTICATION_FAILED", got.Status)
	}

	if beforeApprove != nil {
		beforeApprove()
	}
	// The shopper, in the tab left open, approves A on the ACS page.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.PostForm(acs, url.Values{"decision": {"approve"}})
	if err != nil {
		t.Fatalf("approving on the ACS page: %v", err)
	}
	res.Body.Close()
	back := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(back, "/pay/"+uuid+"/return/"+url.PathEscape(a.TxnID)) {
		t.Fatalf("ACS approve: %s to %q, want 303 to the return URL of %s", res.Status, back, a.TxnID)
	}
	// ... and lands on A's return URL.
	res, err = noFollow.Get(back)
	if err != nil {
		t.Fatalf("return of %s: %v", a.TxnID, err)
	}
	res.Body.Close()
	if res.StatusCode >= 500 {
		t.Fatalf("return of %s: %s", a.TxnID, res.Status)
	}
	return uuid, a, b
}

// TestMoneySecondChargeAutoRefund: a second success on an already charged
// order is recorded (the money was taken) as a conflicted charge, the order
// keeps exactly one charge, and reconciliation refunds the extra one
// (AUTO_REFUNDED), telling the merchant by webhook.
func TestMoneySecondChargeAutoRefund(t *testing.T) {
	s := bootMoney(t)
	sh := newMoneyShop(t, s, "money_sc")

	uuid, a, b := moneyForceSecondCharge(t, sh, "sc_1", nil)
	// The gateway's notification, or the return, records A's charge.
	moneyWait(t, a.TxnID+" CHARGED", 10*time.Second, func() bool { return s.txn(t, uuid, a.TxnID).Status == pay.StatusCharged })

	txnA, txnB := s.txn(t, uuid, a.TxnID), s.txn(t, uuid, b.TxnID)
	if !txnA.Conflicted || txnA.Details.ConflictReason != "MULTIPLE_CHARGED" {
		t.Errorf("second charge %s: conflicted=%v reason %q, want conflicted MULTIPLE_CHARGED", a.TxnID, txnA.Conflicted, txnA.Details.ConflictReason)
	}
	if txnB.Status != pay.StatusCharged || txnB.Conflicted {
		t.Errorf("first charge %s: %s conflicted=%v, want the order's kept charge", b.TxnID, txnB.Status, txnB.Conflicted)
	}
	if n := moneyKeptCharges(s.txns(t, uuid)); n != 1 {
		t.Errorf("order sc_1 has %d kept charges, want 1", n)
	}
	// The Order Status API shows the order's payment: the kept charge, not
	// the duplicate about to be refunded.
	t.Run("order status shows the kept charge", func(t *testing.T) {
		o := sh.order(t, "sc_1")
		if o.Status != "CHARGED" || o.TxnID != b.TxnID {
			t.Errorf("order sc_1: %s with txn_id %s, want CHARGED by %s (%s is the conflicted duplicate)", o.Status, o.TxnID, b.TxnID, a.TxnID)
		}
	})
	if c := sh.counters(t); c.Charged != 2 || c.AmountCharged != 20000 || c.Refunded != 0 {
		t.Fatalf("sandbox counters %+v, want the order charged twice and nothing refunded yet", c)
	}
	// The database refuses a second kept charge whatever the code does.
	if _, err := s.App.DB.SQL().ExecContext(t.Context(), `UPDATE txns SET conflicted = FALSE WHERE txn_id = ?`, a.TxnID); err == nil {
		t.Errorf("the database let order sc_1 keep two charges (txns_one_charge)")
	}

	rep := s.reconcile(t)
	if rep.AutoRefunds != 1 {
		t.Errorf("reconcile report %+v, want 1 auto-refund", rep)
	}
	txnA = s.txn(t, uuid, a.TxnID)
	if txnA.Status != pay.StatusAutoRefunded {
		t.Errorf("second charge after reconcile: %s, want AUTO_REFUNDED", txnA.Status)
	}
	var auto *pay.Refund
	for _, r := range s.refundRows(t, uuid) {
		if r.InitiatedBy == "AUTO_REFUND" {
			if auto != nil {
				t.Errorf("two auto-refunds: %s and %s", auto.ID, r.ID)
			}
			auto = r
		}
	}
	if auto == nil || auto.Status != pay.RefundSuccess || auto.TxnUUID != txnA.ID || auto.Amount.Amount != 10000 {
		t.Fatalf("auto-refund of %s: %+v, want SUCCESS of 10000 on it", a.TxnID, auto)
	}
	if c := sh.counters(t); c.Refunded != 1 || c.AmountRefunded != 10000 {
		t.Errorf("sandbox counters %+v: want one refund, of one charge (10000)", c)
	}
	if ev := s.events(t, uuid); ev["AUTO_REFUND_SUCCEEDED"] != 1 || ev["ORDER_SUCCEEDED"] != 1 {
		t.Errorf("outbox of sc_1: %v, want one ORDER_SUCCEEDED and one AUTO_REFUND_SUCCEEDED", ev)
	}
	if p := s.eventPayload(t, uuid, "AUTO_REFUND_SUCCEEDED"); p.Status != "CHARGED" || p.refund(auto.UniqueRequestID) == nil ||
		p.refund(auto.UniqueRequestID).Status != "SUCCESS" || p.refund(auto.UniqueRequestID).InitiatedBy != "AUTO_REFUND" {
		t.Errorf("AUTO_REFUND_SUCCEEDED payload: order %s refunds %+v", p.Status, p.Refunds)
	}
	if o := sh.order(t, "sc_1"); o.Status != "CHARGED" || o.TxnID != b.TxnID {
		t.Errorf("order sc_1 after the auto-refund: %s by %s, want still CHARGED by %s", o.Status, o.TxnID, b.TxnID)
	}

	// A second pass has nothing left to do.
	if rep := s.reconcile(t); rep.AutoRefunds != 0 {
		t.Errorf("second reconcile pass: %+v, want no auto-refund", rep)
	}
	if c := sh.counters(t); c.Refunded != 1 {
		t.Errorf("second pass refunded again: %+v", c)
	}

	// The shopper paid twice and got one payment back; the merchant may
	// still refund the order's own charge, in full and no further, and the
	// order's refund totals stay within the order's amount.
	t.Run("merchant refund of the kept charge", func(t *testing.T) {
		r, err := sh.refundOrder("sc_1", url.Values{"unique_request_id": {"merchant_full"}})
		if err != nil {
			t.Fatal(err)
		}
		var o moneyOrder
		r.want(t, http.StatusOK).decode(t, &o)
		if rf := o.refund("merchant_full"); rf == nil || rf.Status != "SUCCESS" {
			t.Fatalf("merchant refund: %+v", o.Refunds)
		} else {
			sameAmount(t, "merchant refund amount", rf.Amount.String(), "100")
		}
		if c := sh.counters(t); c.AmountRefunded != 20000 {
			t.Errorf("sandbox refunded %d, want both charges (20000)", c.AmountRefunded)
		}
		amount, refunded, effective := moneyMinor(t, "amount", o.Amount), moneyMinor(t, "amount_refunded", o.AmountRefunded), moneyMinor(t, "effective_amount", o.EffectiveAmount)
		if refunded > amount || effective < 0 {
			t.Errorf("order sc_1 of %d: amount_refunded %d, effective_amount %d; want at most the order's amount refunded and nothing negative",
				amount, refunded, effective)
		}
	})

	// Auto-refunds are keyed "auto_refund_<seq>" in the order's
	// unique_request_id space, which is the merchant's: a merchant refund
	// that happens to use that id must not stand in for the auto-refund.
	t.Run("merchant refund id shaped like an auto-refund", func(t *testing.T) {
		uuid, a, _ := moneyForceSecondCharge(t, sh, "sc_2", nil)
		r, err := sh.refundOrder("sc_2", url.Values{"unique_request_id": {"auto_refund_1"}, "amount": {"10"}})
		if err != nil {
			t.Fatal(err)
		}
		// Refusing the reserved-looking id is fine too; taking it for
		// the auto-refund is not.
		if r.Code != http.StatusOK && r.Code != http.StatusBadRequest {
			t.Fatalf("merchant refund auto_refund_1: %s", moneyDescribe(r))
		}
		moneyWait(t, a.TxnID+" CHARGED", 10*time.Second, func() bool { return s.txn(t, uuid, a.TxnID).Status == pay.StatusCharged })
		before := sh.counters(t)
		s.reconcile(t)
		if got := s.txn(t, uuid, a.TxnID); got.Status != pay.StatusAutoRefunded {
			t.Errorf("second charge %s after reconcile: %s conflicted=%v; want AUTO_REFUNDED (the merchant's refund auto_refund_1 of the kept charge was taken for its auto-refund)",
				a.TxnID, got.Status, got.Conflicted)
		}
		if c := sh.counters(t); c.AmountRefunded-before.AmountRefunded != 10000 {
			t.Errorf("reconcile refunded %d minor units at the gateway, want the duplicate charge's 10000", c.AmountRefunded-before.AmountRefunded)
		}
	})

	// The superseded 3DS txn was failed by Switchyard alone; the gateway
	// still charged it when the shopper approved. Without the gateway's
	// notification (lost, or — simulated here — no longer verifiable after
	// the account's webhook secret changed), the shopper's return and the
	// reconciler must still find the charge: money taken must be recorded
	// and refunded.
	t.Run("second charge without the gateway's notification", func(t *testing.T) {
		sh := newMoneyShop(t, s, "money_sc_nw")
		uuid, a, _ := moneyForceSecondCharge(t, sh, "nw_1", func() {
			s.do(t, http.MethodPut, "/admin/v1/merchants/"+sh.id+"/gateways/sandbox_a", bearer(adminToken), "application/json",
				`{"connector": "sandbox", "credentials": {"processor": "`+sh.processor+`", "webhook_secret": "rotated-secret"},
				  "payment_methods": ["CARD", "UPI", "NB", "WALLET"], "currencies": ["INR"]}`).want(t, http.StatusOK)
		})
		if c := sh.counters(t); c.Charged != 2 {
			t.Fatalf("sandbox counters %+v, want the order charged twice", c)
		}
		s.clock.advance(5 * time.Minute)
		s.reconcile(t)
		got := s.txn(t, uuid, a.TxnID)
		if got.Status != pay.StatusAutoRefunded && !(got.Status == pay.StatusCharged && got.Conflicted) {
			t.Errorf("%s, charged at the gateway, is %s (%s) in Switchyard after the return and a reconcile pass; want it recorded as a conflicted charge and refunded",
				a.TxnID, got.Status, got.ErrorCode)
		}
		if c := sh.counters(t); c.AmountRefunded != 10000 {
			t.Errorf("sandbox counters %+v: the duplicate charge was never refunded", c)
		}
	})
}

func moneyKeptCharges(txns []*pay.Txn) int {
	n := 0
	for _, x := range txns {
		if x.Status == pay.StatusCharged && !x.Conflicted {
			n++
		}
	}
	return n
}
