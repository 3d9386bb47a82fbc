package e2e_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"switchyard/server/app"
	"switchyard/server/connector/sandbox"
	"switchyard/server/pay"
	"switchyard/server/payout"
	"switchyard/server/store"
)

// Several workers (replicas on the same database) race over the same
// fulfillments with leases shorter than a rail call, so they keep taking
// fulfillments from each other in the middle of attempts. Still every
// fulfillment is paid exactly once, and the rails paid out exactly the sum
// of the amounts.
func TestPayoutConcurrentWorkers(t *testing.T) {
	moneyNeedMySQL(t)
	s := boot(t)
	sh := newPayoutShop(t, s, "payout_race")
	sh.rail(t, "SANDBOX_IMPS", `{"success_rate": 0.5, "latency_ms": 60, "pending_ms": 100}`)
	sh.rail(t, "SANDBOX_NEFT", `{"success_rate": 1, "latency_ms": 60}`)

	rails, err := sandbox.PayoutRails(sandbox.ConnectorConfig{BaseURL: s.URL + "/sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 3 {
		replica := payout.New(payout.Config{DB: s.App.DB, Payments: s.App.Service, Rails: rails,
			Log: slog.New(slog.DiscardHandler), PollInterval: 20 * time.Millisecond, Lease: 30 * time.Millisecond, Batch: 8})
		wg.Go(func() {
			for ctx.Err() == nil {
				replica.RunOnce(ctx)
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	defer func() { cancel(); wg.Wait() }()

	const n = 30
	var total int64
	for i := range n {
		amount := fmt.Sprintf("%d", 100+i)
		total += int64(100+i) * 100
		sh.create(t, payoutBody(fmt.Sprintf("race_%02d", i), "FULFILL_ONLY", []string{"SANDBOX_IMPS", "SANDBOX_NEFT"}, amount))
	}
	var paid []*pay.Fulfillment
	for i := range n {
		orderID := fmt.Sprintf("race_%02d", i)
		o := sh.final(t, orderID, 60*time.Second)
		if o.Status != "FULFILLMENTS_SUCCESSFUL" {
			t.Errorf("%s: %s %v", orderID, o.Status, o.Fulfillments[0].txnSummary())
		}
		po, err := s.App.DB.PayoutOrder(t.Context(), sh.id, orderID)
		if err != nil {
			t.Fatal(err)
		}
		f := po.Fulfillments[0]
		if f.Paid() != 1 {
			t.Errorf("%s: %d attempts paid, want 1", orderID, f.Paid())
		}
		paid = append(paid, f)
	}
	imps, neft := sh.counters(t, "SANDBOX_IMPS"), sh.counters(t, "SANDBOX_NEFT")
	if imps.Succeeded+neft.Succeeded != n || imps.AmountPaid+neft.AmountPaid != total {
		t.Errorf("rails paid %d payouts, %d paise; want %d, %d (IMPS %+v, NEFT %+v)",
			imps.Succeeded+neft.Succeeded, imps.AmountPaid+neft.AmountPaid, n, total, imps, neft)
	}

	// The database itself refuses a second attempt that could pay a
	// fulfillment already paid.
	f := paid[0]
	_, err = s.App.DB.ChangePayout(t.Context(), f.PayoutOrderID, func(o *pay.PayoutOrder, now time.Time) (store.PayoutChange, error) {
		a := &pay.PayoutAttempt{ID: f.ID + "-t9", FulfillmentID: f.ID, PayoutOrderID: o.ID, Seq: 9, Method: "SANDBOX_NEFT",
			Amount: f.Amount, Status: pay.AttemptInitiated, CreatedAt: now, UpdatedAt: now}
		return store.PayoutChange{NewAttempts: []*pay.PayoutAttempt{a}}, nil
	})
	if pay.ErrorCode(err) != pay.ECONFLICT {
		t.Fatalf("a second live attempt of a paid fulfillment: err %v, want ECONFLICT", err)
	}
}

// Late changes at the rail: a success later returned (REVERSED) is paid
// again on the next method; a failure that paid after all is CONFLICTED and
// counts as the payment; an attempt that stays unknown goes to manual
// review and nothing else is tried for it.
func TestPayoutReversedConflictedStuck(t *testing.T) {
	s := bootPayouts(t, func(cfg *app.Config) {
		cfg.PayoutPollInterval = 100 * time.Millisecond
		cfg.PayoutSettleCheck = 2 * time.Second
		cfg.PayoutStuckAfter = time.Second
	})
	sh := newPayoutShop(t, s, "payout_late")

	t.Run("reversed", func(t *testing.T) {
		o := sh.create(t, payoutBody("late_rev", "FULFILL_ONLY", []string{"SANDBOX_IMPS", "SANDBOX_NEFT"}, "30"))
		if got := sh.final(t, "late_rev", 20*time.Second); got.Status != "FULFILLMENTS_SUCCESSFUL" {
			t.Fatalf("before the reversal: %s", got.Status)
		}
		sh.forceRail(t, "SANDBOX_IMPS", o.Fulfillments[0].ID+"-t1", "REVERSED")
		var got payoutOrder
		moneyWait(t, "the reversal to be paid again", 20*time.Second, func() bool {
			got = sh.order(t, "late_rev")
			return slices.Equal(got.Fulfillments[0].txnSummary(), []string{"SANDBOX_IMPS REVERSED", "SANDBOX_NEFT SUCCESS"})
		})
		if got.Status != "FULFILLMENTS_SUCCESSFUL" || got.Fulfillments[0].Status != "SUCCESS" {
			t.Fatalf("after the reversal: %s %s", got.Status, got.Fulfillments[0].Status)
		}
		sh.callbacksOf(t, o.internalID(), "late_rev", []string{"FULFILLMENT_TXN SUCCESS", "FULFILLMENT_TXN REVERSED",
			"FULFILLMENT_TXN SUCCESS", "ORDER FULFILLMENTS_SUCCESSFUL", "ORDER FULFILLMENTS_SUCCESSFUL"})
	})

	t.Run("conflicted", func(t *testing.T) {
		sh.rail(t, "SANDBOX_NEFT", `{"success_rate": 0}`)
		o := sh.create(t, payoutBody("late_conf", "FULFILL_ONLY", []string{"SANDBOX_NEFT"}, "40"))
		if got := sh.final(t, "late_conf", 20*time.Second); got.Status != "FULFILLMENTS_FAILURE" {
			t.Fatalf("before the late success: %s", got.Status)
		}
		sh.forceRail(t, "SANDBOX_NEFT", o.Fulfillments[0].ID+"-t1", "SUCCESS")
		var got payoutOrder
		moneyWait(t, "the late success", 20*time.Second, func() bool {
			got = sh.order(t, "late_conf")
			return got.Status == "FULFILLMENTS_SUCCESSFUL"
		})
		if !slices.Equal(got.Fulfillments[0].txnSummary(), []string{"SANDBOX_NEFT CONFLICTED"}) || got.Fulfillments[0].Status != "SUCCESS" {
			t.Fatalf("after the late success: %s %v", got.Fulfillments[0].Status, got.Fulfillments[0].txnSummary())
		}
		sh.callbacksOf(t, o.internalID(), "late_conf", []string{"FULFILLMENT_TXN FAILURE", "FULFILLMENT_TXN CONFLICTED",
			"ORDER FULFILLMENTS_FAILURE", "ORDER FULFILLMENTS_SUCCESSFUL"})
	})

	t.Run("stuck", func(t *testing.T) {
		sh.rail(t, "SANDBOX_IMPS", `{"pending_ms": 3600000}`)
		sh.rail(t, "SANDBOX_NEFT", `{"success_rate": 1}`)
		neftBefore := sh.counters(t, "SANDBOX_NEFT").Attempts
		o := sh.create(t, payoutBody("late_stuck", "FULFILL_ONLY", []string{"SANDBOX_IMPS", "SANDBOX_NEFT"}, "50"))
		got := sh.final(t, "late_stuck", 20*time.Second)
		f := got.Fulfillments[0]
		if got.Status != "FULFILLMENTS_MANUAL_REVIEW" || f.Status != "MANUAL_REVIEW" ||
			!slices.Equal(f.txnSummary(), []string{"SANDBOX_IMPS MANUAL_REVIEW"}) {
			t.Fatalf("stuck attempt: %s %s %v", got.Status, f.Status, f.txnSummary())
		}
		sh.callbacksOf(t, o.internalID(), "late_stuck", []string{"FULFILLMENT_TXN MANUAL_REVIEW",
			"FULFILLMENT_ORDER MANUAL_REVIEW", "ORDER FULFILLMENTS_MANUAL_REVIEW"})
		if c := sh.counters(t, "SANDBOX_NEFT"); c.Attempts != neftBefore {
			t.Errorf("NEFT tried while IMPS was unknown: %+v", c)
		}
	})
}
