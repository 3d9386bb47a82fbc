package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"switchyard/server/orchestrator"
	"switchyard/server/pay"
	"switchyard/server/store"
)

// moneyInsertStarted records a STARTED txn on an order the way StartTxn does
// before it calls the gateway: what a crash right after that commit leaves.
func moneyInsertStarted(t *testing.T, s *moneyServer, m *pay.Merchant, orderUUID, orderID string, amount int64) *pay.Txn {
	t.Helper()
	x := &pay.Txn{
		ID: pay.NewID("txnu_"), TxnID: m.ID + "-" + orderID + "-1", OrderUUID: orderUUID, MerchantID: m.ID, Seq: 1,
		Status: pay.StatusStarted, Amount: pay.Money{Amount: amount, Currency: "INR"}, Gateway: "sandbox_a",
		Connector: "sandbox", PaymentMethodType: pay.MethodCard, PaymentMethod: "VISA",
		Details: pay.TxnDetails{CardBIN: "424242", CardLast4: "4242", TxnFlow: "DIRECT"}, Routing: "{}",
	}
	_, _, err := s.App.DB.ChangeOrder(t.Context(), orderUUID, func(*pay.Order, []*pay.Txn, time.Time) (store.OrderChange, error) {
		return store.OrderChange{NewTxn: x}, nil
	})
	if err != nil {
		t.Fatalf("recording STARTED txn %s: %v", x.TxnID, err)
	}
	return x
}

// moneyAuthorizeAtSandbox sends a txn's authorization straight to the sandbox, as
// the connector would have just before the process died.
func moneyAuthorizeAtSandbox(t *testing.T, sh *moneyShop, txnID string, amount int64, card string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"txn_id": txnID, "amount": amount, "currency": "INR", "method_type": "CARD",
		"card": map[string]string{"number": card, "exp_month": "12", "exp_year": strconv.Itoa(time.Now().Year() + 3), "cvv": "123"},
	})
	sh.s.do(t, http.MethodPost, "/sandbox/v1/payments", nil, "application/json", string(body),
		"X-Sandbox-Processor", sh.processor).want(t, http.StatusCreated)
}

func moneyWantStatus(t *testing.T, s *moneyServer, orderUUID, txnID string, want pay.Status) *pay.Txn {
	t.Helper()
	x := s.txn(t, orderUUID, txnID)
	if x.Status != want {
		t.Errorf("txn %s is %s (%s %s), want %s", txnID, x.Status, x.ErrorCode, x.ErrorMessage, want)
	}
	return x
}

// TestMoneyReconcileInFlight: txns left in flight — by a crash before or
// after the gateway call, by a gateway timeout, by a shopper who never
// finished 3-D Secure — are settled by reconciliation with what the gateway
// knows, and only once no gateway call can still be on its way.
func TestMoneyReconcileInFlight(t *testing.T) {
	s := bootMoney(t)
	sh := newMoneyShop(t, s, "money_rec")
	m := sh.merchant(t)

	// A shopper left on the 3-D Secure page.
	uuidVBV := sh.newOrder(t, "rec_vbv", "10.00")
	vbv := sh.pay(t, "rec_vbv", moneyCard3DS, "PENDING_VBV")

	// A crash after STARTED was committed, before the gateway call.
	uuidLost := sh.newOrder(t, "rec_lost", "20.00")
	lost := moneyInsertStarted(t, s, m, uuidLost, "rec_lost", 2000)

	// A crash after the request reached the gateway, which charged it.
	uuidSent := sh.newOrder(t, "rec_sent", "30.00")
	sent := moneyInsertStarted(t, s, m, uuidSent, "rec_sent", 3000)
	moneyAuthorizeAtSandbox(t, sh, sent.TxnID, 3000, moneyCardOK)

	// A gateway that processes the payment and never answers: UNKNOWN.
	uuidUnknown := sh.newOrder(t, "rec_unknown", "40.00")
	sh.configure(t, `{"timeout": true}`)
	out, err := s.replica(time.Second).StartTxn(t.Context(), m, uuidUnknown, pay.TxnInput{
		PaymentMethodType: pay.MethodCard, CardNumber: moneyCardOK, CardExpMonth: "12",
		CardExpYear: strconv.Itoa(time.Now().Year() + 3), CardSecurityCode: "123",
	})
	sh.configure(t, `{"timeout": false}`)
	if err != nil {
		t.Fatalf("StartTxn with the gateway timing out: %v", err)
	}
	unknown := out.Txn
	if unknown.Status != pay.StatusAuthorizing {
		t.Fatalf("txn after a gateway timeout: %s (%s), want AUTHORIZING (unknown, never failed)", unknown.Status, unknown.ErrorCode)
	}
	if o := sh.order(t, "rec_unknown"); o.Status != "AUTHORIZING" {
		t.Errorf("order after a gateway timeout: %s, want AUTHORIZING", o.Status)
	}
	// While it is unknown, no other attempt may charge the order.
	r, err := sh.startTxn("rec_unknown", moneyCardOK)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, r, http.StatusConflict)
	if c := sh.counters(t); c.Charged != 2 || c.AmountCharged != 7000 {
		t.Fatalf("sandbox counters %+v, want rec_sent and rec_unknown charged (7000)", c)
	}

	// Too young: a sync could race the authorization it checks.
	if rep := s.reconcile(t); rep.Synced != 0 || rep.Expired != 0 {
		t.Errorf("reconcile right away: %+v, want nothing synced yet", rep)
	}
	moneyWantStatus(t, s, uuidUnknown, unknown.TxnID, pay.StatusAuthorizing)
	moneyWantStatus(t, s, uuidLost, lost.TxnID, pay.StatusStarted)

	s.clock.advance(2 * time.Minute)
	if rep := s.reconcile(t); rep.Synced != 4 || rep.Expired != 0 {
		t.Errorf("reconcile after 2 minutes: %+v, want the 4 txns synced, none expired", rep)
	}
	moneyWantStatus(t, s, uuidUnknown, unknown.TxnID, pay.StatusCharged)
	moneyWantStatus(t, s, uuidSent, sent.TxnID, pay.StatusCharged)
	if x := moneyWantStatus(t, s, uuidLost, lost.TxnID, pay.StatusAuthorizationFailed); x.Conflicted {
		t.Errorf("lost txn is conflicted")
	}
	moneyWantStatus(t, s, uuidVBV, vbv.TxnID, pay.StatusPendingVBV) // the shopper may still finish
	for id, want := range map[string]string{"rec_unknown": "CHARGED", "rec_sent": "CHARGED", "rec_lost": "AUTHORIZATION_FAILED", "rec_vbv": "PENDING_VBV"} {
		if o := sh.order(t, id); o.Status != want {
			t.Errorf("order %s is %s, want %s", id, o.Status, want)
		}
	}
	for uuid, want := range map[string]string{uuidUnknown: "ORDER_SUCCEEDED", uuidSent: "ORDER_SUCCEEDED", uuidLost: "ORDER_FAILED"} {
		if ev := s.events(t, uuid); ev[want] != 1 {
			t.Errorf("outbox of order %s: %v, want one %s", uuid, ev, want)
		}
	}
	if c := sh.counters(t); c.Charged != 2 || c.Attempts != 3 {
		t.Errorf("sandbox counters %+v: syncing must not create payments", c)
	}

	// The order expires (30 minutes) and the grace period passes: the
	// abandoned 3-D Secure attempt fails, and the merchant is told.
	s.clock.advance(40 * time.Minute)
	if rep := s.reconcile(t); rep.Expired != 1 {
		t.Errorf("reconcile after the order expired: %+v, want 1 expired", rep)
	}
	if x := moneyWantStatus(t, s, uuidVBV, vbv.TxnID, pay.StatusAuthenticationFailed); x.ErrorCode != "EXPIRED" {
		t.Errorf("expired 3DS txn: error_code %q, want EXPIRED", x.ErrorCode)
	}
	if o := sh.order(t, "rec_vbv"); o.Status != "AUTHENTICATION_FAILED" || o.StatusID != 26 {
		t.Errorf("expired order: %s/%d, want AUTHENTICATION_FAILED/26", o.Status, o.StatusID)
	}
	if ev := s.events(t, uuidVBV); ev["ORDER_FAILED"] != 1 {
		t.Errorf("outbox of the expired order: %v, want one ORDER_FAILED", ev)
	} else if p := s.eventPayload(t, uuidVBV, "ORDER_FAILED"); p.Status != "AUTHENTICATION_FAILED" {
		t.Errorf("ORDER_FAILED payload: order status %s", p.Status)
	}
	if rep := s.reconcile(t); rep != (orchestrator.ReconcileReport{}) {
		t.Errorf("a further pass: %+v, want nothing left to do", rep)
	}
}

// TestMoneyReconcileStartedAwaitingShopper: a crash after a 3-D Secure
// authorization reached the gateway, before its answer was recorded, leaves
// the txn STARTED while the gateway awaits the shopper. The sync records
// PENDING_VBV, so the order is payable again: the shopper's next attempt
// supersedes the one whose page they never saw, instead of being refused
// as "still in progress" until the order expires.
func TestMoneyReconcileStartedAwaitingShopper(t *testing.T) {
	s := bootMoney(t)
	sh := newMoneyShop(t, s, "money_rec3ds")
	m := sh.merchant(t)
	uuid := sh.newOrder(t, "rec_3ds_lost", "25.00")
	lost := moneyInsertStarted(t, s, m, uuid, "rec_3ds_lost", 2500)
	moneyAuthorizeAtSandbox(t, sh, lost.TxnID, 2500, moneyCard3DS)

	s.clock.advance(2 * time.Minute)
	if rep := s.reconcile(t); rep.Synced != 1 || rep.Expired != 0 {
		t.Errorf("reconcile after 2 minutes: %+v, want the txn synced, not expired", rep)
	}
	moneyWantStatus(t, s, uuid, lost.TxnID, pay.StatusPendingVBV)
	if o := sh.order(t, "rec_3ds_lost"); o.Status != "PENDING_VBV" {
		t.Errorf("order after the sync: %s, want PENDING_VBV", o.Status)
	}

	sh.pay(t, "rec_3ds_lost", moneyCardOK, "CHARGED")
	if x := moneyWantStatus(t, s, uuid, lost.TxnID, pay.StatusAuthenticationFailed); x.ErrorCode != "SUPERSEDED" {
		t.Errorf("the txn the shopper never saw: error_code %q, want SUPERSEDED", x.ErrorCode)
	}
	if c := sh.counters(t); c.Charged != 1 || c.AmountCharged != 2500 {
		t.Errorf("sandbox counters %+v, want one charge of 2500", c)
	}
}

// TestMoneyReconcileLeftTxnCharged: a 3-D Secure txn superseded by a new
// attempt, whose page the shopper approves after all in the tab left open,
// and then closes: the gateway charged it, its notification is lost (made
// unverifiable here by rotating the account's webhook secret), and the
// shopper never reaches the return URL. The reconciler still asks the
// gateway about the txn Switchyard failed on its own, finds the charge and
// refunds it.
func TestMoneyReconcileLeftTxnCharged(t *testing.T) {
	s := bootMoney(t)
	sh := newMoneyShop(t, s, "money_left")
	uuid := sh.newOrder(t, "left_1", "100.00")
	a := sh.pay(t, "left_1", moneyCard3DS, "PENDING_VBV")
	sh.pay(t, "left_1", moneyCardOK, "CHARGED")
	s.do(t, http.MethodPut, "/admin/v1/merchants/"+sh.id+"/gateways/sandbox_a", bearer(adminToken), "application/json",
		`{"connector": "sandbox", "credentials": {"processor": "`+sh.processor+`", "webhook_secret": "rotated-secret"},
		  "payment_methods": ["CARD", "UPI", "NB", "WALLET"], "currencies": ["INR"]}`).want(t, http.StatusOK)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.PostForm(a.Payment.Authentication.URL, url.Values{"decision": {"approve"}})
	if err != nil {
		t.Fatalf("approving on the ACS page: %v", err)
	}
	res.Body.Close()
	if c := sh.counters(t); c.Charged != 2 {
		t.Fatalf("sandbox counters %+v, want the order charged twice", c)
	}
	time.Sleep(2 * time.Second) // the sandbox's notification is tried, and refused
	moneyWantStatus(t, s, uuid, a.TxnID, pay.StatusAuthenticationFailed)

	if rep := s.reconcile(t); rep.LeftSynced != 0 {
		t.Errorf("reconcile right away: %+v, want the superseded txn not asked about yet", rep)
	}
	s.clock.advance(90 * time.Second)
	if rep := s.reconcile(t); rep.LeftSynced != 1 || rep.AutoRefunds != 1 {
		t.Errorf("reconcile 90 s later: %+v, want the superseded txn asked about and its charge refunded", rep)
	}
	if x := moneyWantStatus(t, s, uuid, a.TxnID, pay.StatusAutoRefunded); x.Details.ConflictReason != "MULTIPLE_CHARGED" {
		t.Errorf("the second charge: conflict reason %q, want MULTIPLE_CHARGED", x.Details.ConflictReason)
	}
	if c := sh.counters(t); c.AmountRefunded != 10000 {
		t.Errorf("sandbox counters %+v: the second charge was not refunded", c)
	}
	if o := sh.order(t, "left_1"); o.Status != "CHARGED" {
		t.Errorf("order left_1 is %s, want CHARGED by its kept charge", o.Status)
	}
}

// TestMoneyReconcileLateSuccess: a txn declined and then charged after all
// (the sandbox's late_success_after_ms). Within the merchant's conflict
// threshold it is the order's charge; past it (threshold 0 here) it is a
// conflicted LATE_SUCCESS, never the order's charge, and reconciliation
// refunds it.
func TestMoneyReconcileLateSuccess(t *testing.T) {
	s := bootMoney(t)
	sh := newMoneyShop(t, s, "money_late")
	sh.configure(t, `{"success_rate": 0, "late_success_after_ms": 300}`)

	uuid1 := sh.newOrder(t, "late_1", "25.00")
	x1 := sh.pay(t, "late_1", moneyCardByRate, "AUTHORIZATION_FAILED")
	moneyWait(t, x1.TxnID+" charged late", 10*time.Second, func() bool { return s.txn(t, uuid1, x1.TxnID).Status == pay.StatusCharged })
	if got := s.txn(t, uuid1, x1.TxnID); got.Conflicted {
		t.Errorf("late success within the threshold is conflicted (%s)", got.Details.ConflictReason)
	}
	if o := sh.order(t, "late_1"); o.Status != "CHARGED" || o.TxnID != x1.TxnID {
		t.Errorf("order late_1: %s by %s, want CHARGED", o.Status, o.TxnID)
	}
	if ev := s.events(t, uuid1); ev["ORDER_FAILED"] != 1 || ev["ORDER_SUCCEEDED"] != 1 {
		t.Errorf("outbox of late_1: %v, want ORDER_FAILED then ORDER_SUCCEEDED", ev)
	}

	sh.patch(t, `{"auto_refund_threshold_minutes": 0}`)
	uuid2 := sh.newOrder(t, "late_2", "35.00")
	x2 := sh.pay(t, "late_2", moneyCardByRate, "AUTHORIZATION_FAILED")
	moneyWait(t, x2.TxnID+" charged late", 10*time.Second, func() bool { return s.txn(t, uuid2, x2.TxnID).Status == pay.StatusCharged })
	if got := s.txn(t, uuid2, x2.TxnID); !got.Conflicted || got.Details.ConflictReason != "LATE_SUCCESS" {
		t.Errorf("late success past the threshold: conflicted=%v reason %q, want LATE_SUCCESS", got.Conflicted, got.Details.ConflictReason)
	}
	if ev := s.events(t, uuid2); ev["ORDER_SUCCEEDED"] != 0 {
		t.Errorf("a conflicted late success told the merchant ORDER_SUCCEEDED: %v", ev)
	}
	// The order was never paid: it must not look paid, nor go back to NEW
	// (status never regresses, DESIGN §3).
	if o := sh.order(t, "late_2"); o.Status == "CHARGED" || o.Status == "NEW" {
		t.Errorf("order late_2 after its conflicted late success: %s, want neither CHARGED nor back to NEW (it was AUTHORIZATION_FAILED)", o.Status)
	}

	before := sh.counters(t)
	if rep := s.reconcile(t); rep.AutoRefunds != 1 {
		t.Errorf("reconcile: %+v, want exactly one auto-refund (late_2's)", rep)
	}
	moneyWantStatus(t, s, uuid1, x1.TxnID, pay.StatusCharged)
	moneyWantStatus(t, s, uuid2, x2.TxnID, pay.StatusAutoRefunded)
	rs := s.refundRows(t, uuid2)
	if len(rs) != 1 || rs[0].InitiatedBy != "AUTO_REFUND" || rs[0].Status != pay.RefundSuccess || rs[0].Amount.Amount != 3500 {
		t.Errorf("refunds of late_2: %+v, want one AUTO_REFUND SUCCESS of 3500", rs)
	}
	if ev := s.events(t, uuid2); ev["AUTO_REFUND_SUCCEEDED"] != 1 {
		t.Errorf("outbox of late_2: %v, want AUTO_REFUND_SUCCEEDED", ev)
	}
	c := sh.counters(t)
	if c.Refunded-before.Refunded != 1 || c.AmountRefunded-before.AmountRefunded != 3500 {
		t.Errorf("sandbox refunded %d, %d minor units; want late_2's 3500 once", c.Refunded-before.Refunded, c.AmountRefunded-before.AmountRefunded)
	}
	if len(s.refundRows(t, uuid1)) != 0 {
		t.Errorf("late_1, the order's charge, was refunded")
	}
	// Juspay: the resulting order status of an auto-refunded conflicted
	// txn is AUTO_REFUNDED (juspay-api.md §8.3); at least it must not be
	// NEW, which it never was again.
	if o := sh.order(t, "late_2"); o.Status != "AUTO_REFUNDED" && o.Status != "AUTHORIZATION_FAILED" {
		t.Errorf("order late_2 after the auto-refund: %s, want AUTO_REFUNDED (or still AUTHORIZATION_FAILED)", o.Status)
	}
}

// TestMoneyReconcileRefunds: refunds the gateway did not answer stay
// PENDING; reconciliation settles them with the gateway, and parks those
// pending beyond 10 days in MANUAL_REVIEW, telling the merchant.
func TestMoneyReconcileRefunds(t *testing.T) {
	s := bootMoney(t)
	replica := s.replica(time.Second)
	shops := map[string]*moneyShop{}
	uuids := map[string]string{}
	// settles: the gateway answers again a minute later. stuck: it stays
	// unreachable. back: unreachable for 11 days, then back.
	for _, name := range []string{"settles", "stuck", "back"} {
		sh := newMoneyShop(t, s, "money_rr_"+name)
		shops[name] = sh
		uuids[name], _ = sh.charged(t, "rr_"+name, "60.00")
		sh.configure(t, `{"timeout": true}`)
	}
	// The three refunds time out together: one second, not three.
	names := []string{"settles", "stuck", "back"}
	results := make([]*pay.Refund, len(names))
	errs := make([]error, len(names))
	merchants := make([]*pay.Merchant, len(names))
	orders := make([]*pay.Order, len(names))
	for i, name := range names {
		merchants[i] = shops[name].merchant(t)
		o, err := s.App.Service.Order(t.Context(), merchants[i], "rr_"+name)
		if err != nil {
			t.Fatal(err)
		}
		orders[i] = o
	}
	moneyParallel(len(names), func(i int) {
		_, results[i], errs[i] = replica.Refund(t.Context(), merchants[i], orders[i],
			orchestrator.RefundRequest{UniqueRequestID: "slow", Amount: "60"})
	})
	for i, name := range names {
		if errs[i] != nil {
			t.Fatalf("refund of rr_%s with the gateway timing out: %v", name, errs[i])
		}
		if results[i].Status != pay.RefundPending {
			t.Fatalf("refund of rr_%s after a gateway timeout: %s, want PENDING", name, results[i].Status)
		}
		if name == "settles" {
			shops[name].configure(t, `{"timeout": false}`)
		} else {
			shops[name].configure(t, `{"timeout": false, "down": true}`)
		}
	}

	sh := shops["settles"]
	o := sh.order(t, "rr_settles")
	if rf := o.refund("slow"); rf == nil || rf.Status != "PENDING" {
		t.Errorf("refund in the order: %+v, want slow PENDING", o.Refunds)
	}
	sameAmount(t, "amount_refunded while pending", o.AmountRefunded.String(), "0")
	// A pending refund holds its amount: nothing more is refundable.
	r, err := sh.refundOrder("rr_settles", url.Values{"unique_request_id": {"more"}, "amount": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	if e := wantError(t, r, http.StatusBadRequest); e.ErrorCode != "invalid.amount.exceeded" {
		t.Errorf("refund beside a pending full refund: %s", e.ErrorCode)
	}

	if rep := s.reconcile(t); rep.RefundsSynced != 0 || rep.ManualReview != 0 {
		t.Errorf("reconcile right away: %+v, want nothing", rep)
	}
	s.clock.advance(2 * time.Minute)
	if rep := s.reconcile(t); rep.ManualReview != 0 {
		t.Errorf("reconcile after 2 minutes: %+v, want no manual review", rep)
	}
	o = sh.order(t, "rr_settles")
	if rf := o.refund("slow"); rf == nil || rf.Status != "SUCCESS" {
		t.Errorf("refund after the gateway answered a sync: %+v, want SUCCESS", o.Refunds)
	}
	sameAmount(t, "amount_refunded once settled", o.AmountRefunded.String(), "60")
	if ev := s.events(t, uuids["settles"]); ev["ORDER_REFUNDED"] != 1 {
		t.Errorf("outbox of rr_settles: %v, want ORDER_REFUNDED", ev)
	}
	for _, name := range []string{"stuck", "back"} {
		if rs := s.refundRows(t, uuids[name]); len(rs) != 1 || rs[0].Status != pay.RefundPending {
			t.Errorf("refund of rr_%s with its gateway down: %+v, want PENDING", name, rs)
		}
	}

	s.clock.advance(9 * 24 * time.Hour)
	if rep := s.reconcile(t); rep.ManualReview != 0 {
		t.Errorf("reconcile after 9 days: %+v, want no manual review yet", rep)
	}
	s.clock.advance(2 * 24 * time.Hour)
	shops["back"].configure(t, `{"down": false}`)
	if rep := s.reconcile(t); rep.ManualReview < 1 {
		t.Errorf("reconcile after 11 days: %+v, want the stuck refund in manual review", rep)
	}
	if rs := s.refundRows(t, uuids["stuck"]); len(rs) != 1 || rs[0].Status != pay.RefundManualReview {
		t.Errorf("refund pending 11 days: %+v, want MANUAL_REVIEW", rs)
	}
	if ev := s.events(t, uuids["stuck"]); ev["REFUND_MANUAL_REVIEW_NEEDED"] != 1 || ev["ORDER_REFUNDED"] != 0 {
		t.Errorf("outbox of rr_stuck: %v, want REFUND_MANUAL_REVIEW_NEEDED", ev)
	} else if p := s.eventPayload(t, uuids["stuck"], "REFUND_MANUAL_REVIEW_NEEDED"); p.refund("slow") == nil || p.refund("slow").Status != "MANUAL_REVIEW" {
		t.Errorf("REFUND_MANUAL_REVIEW_NEEDED payload refunds: %+v", p.Refunds)
	}
	if o := shops["stuck"].order(t, "rr_stuck"); o.refund("slow") == nil || o.refund("slow").Status != "MANUAL_REVIEW" {
		t.Errorf("GET /orders/rr_stuck refunds: %+v", o.Refunds)
	}
	// Why a person must look: the gateway did refund it.
	if c := shops["stuck"].counters(t); c.AmountRefunded != 6000 {
		t.Errorf("sandbox counters of the stuck refund: %+v", c)
	}

	// A refund the gateway can answer about is asked before it is parked:
	// the gateway refunded it, so it is SUCCESS, not a case for a person.
	t.Run("asked before parked", func(t *testing.T) {
		rs := s.refundRows(t, uuids["back"])
		if len(rs) != 1 || rs[0].Status != pay.RefundSuccess {
			t.Errorf("refund pending 11 days whose gateway is back and says it succeeded: %+v, want SUCCESS", rs[0].Status)
		}
	})
}

// TestMoneyReconcileConflictedBacklog: conflicted charges that a pass
// leaves as they are (a merchant who refunds duplicates itself, with
// auto_refund_multiple_charged off) must not keep other merchants'
// duplicates from being auto-refunded, however many pile up.
func TestMoneyReconcileConflictedBacklog(t *testing.T) {
	s := bootMoney(t)
	optOut := newMoneyShop(t, s, "money_bl_optout")
	optOut.patch(t, `{"auto_refund_multiple_charged": false}`)
	m := optOut.merchant(t)
	const backlog = 200 // the reconciler's batch size
	var mu sync.Mutex
	var setupErr error
	moneyParallel(20, func(w int) {
		for i := w; i < backlog; i += 20 {
			if err := moneyInsertConflictedCharge(t, s, m, fmt.Sprintf("bl_%03d", i)); err != nil {
				mu.Lock()
				setupErr = err
				mu.Unlock()
				return
			}
		}
	})
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	if rep := s.reconcile(t); rep.AutoRefunds != 0 {
		t.Fatalf("the opted-out merchant's duplicates were auto-refunded: %+v", rep)
	}

	sh := newMoneyShop(t, s, "money_bl")
	uuid, a, _ := moneyForceSecondCharge(t, sh, "bl_victim", nil)
	moneyWait(t, a.TxnID+" CHARGED", 10*time.Second, func() bool { return s.txn(t, uuid, a.TxnID).Status == pay.StatusCharged })
	s.reconcile(t)
	if got := s.txn(t, uuid, a.TxnID); got.Status != pay.StatusAutoRefunded {
		t.Errorf("duplicate charge %s behind %d conflicted charges the reconciler skips: %s, want AUTO_REFUNDED", a.TxnID, backlog, got.Status)
	}
	if c := sh.counters(t); c.AmountRefunded != 10000 {
		t.Errorf("sandbox counters %+v: the duplicate charge was not refunded", c)
	}
}

// moneyInsertConflictedCharge records an order of merchant m whose second txn
// is a conflicted (MULTIPLE_CHARGED) charge. It does not fail the test
// (goroutines call it).
func moneyInsertConflictedCharge(t *testing.T, s *moneyServer, m *pay.Merchant, orderID string) error {
	o, err := pay.NewOrder(m, pay.OrderInput{OrderID: orderID, Amount: "1", Currency: "INR"}, s.clock.now())
	if err != nil {
		return err
	}
	if o, _, err = s.App.DB.CreateOrder(t.Context(), o); err != nil {
		return err
	}
	dup := &pay.Txn{
		ID: pay.NewID("txnu_"), TxnID: m.ID + "-" + orderID + "-2", OrderUUID: o.ID, MerchantID: m.ID, Seq: 2,
		Status: pay.StatusCharged, Conflicted: true, Amount: o.Amount, Gateway: "sandbox_a", Connector: "sandbox",
		PaymentMethodType: pay.MethodCard, PaymentMethod: "VISA", Routing: "{}",
		Details: pay.TxnDetails{ConflictReason: "MULTIPLE_CHARGED"},
	}
	_, _, err = s.App.DB.ChangeOrder(t.Context(), o.ID, func(*pay.Order, []*pay.Txn, time.Time) (store.OrderChange, error) {
		return store.OrderChange{NewTxn: dup}, nil
	})
	return err
}
