package sandbox_test

import (
	"fmt"
	"sync"
	"testing"

	"switchyard/server/connector"
	"switchyard/server/pay"
)

func TestRefunds(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	c := h.connector("A")
	ctx := t.Context()
	inr := func(minor int64) pay.Money { return pay.Money{Amount: minor, Currency: "INR"} }

	charge := func(t *testing.T, number string, amount int64) connector.Payment {
		t.Helper()
		p := cardPayment(number)
		p.Amount = inr(amount)
		c.Authorize(ctx, p)
		return p
	}
	refund := func(p connector.Payment, id string, amount int64) connector.RefundResult {
		return c.Refund(ctx, connector.Refund{RefundID: id, TxnID: p.TxnID, Amount: inr(amount)})
	}
	want := func(t *testing.T, what string, got connector.RefundResult, outcome connector.RefundOutcome, code string) {
		t.Helper()
		if got.Outcome != outcome || (code != "" && got.RespCode != code) {
			t.Errorf("%s: %s (%q, %q), want %s (%q)", what, got.Outcome, got.RespCode, got.RespMessage, outcome, code)
		}
	}

	t.Run("partial, full, exceeding, replay", func(t *testing.T) {
		p := charge(t, "4242424242424242", 1000)
		first := refund(p, "r-1", 300)
		want(t, "partial", first, connector.RefundSucceeded, "succeeded")
		want(t, "rest", refund(p, "r-2", 700), connector.RefundSucceeded, "succeeded")
		want(t, "beyond", refund(p, "r-3", 1), connector.RefundFailed, "amount_exceeds_refundable")
		again := refund(p, "r-1", 300)
		want(t, "replay", again, connector.RefundSucceeded, "succeeded")
		if again.GatewayRef != first.GatewayRef {
			t.Errorf("replayed refund_id: %s, first was %s", again.GatewayRef, first.GatewayRef)
		}
		want(t, "same refund_id, other amount", refund(p, "r-1", 200), connector.RefundFailed, "idempotency_mismatch")
		if cnt := h.processor("A").Counters; cnt.Refunded != 2 || cnt.AmountRefunded != 1000 {
			t.Errorf("counters %+v, want 2 refunds of 1000 in all", cnt)
		}
		if res := c.Sync(ctx, p.TxnID, ""); res.Outcome != connector.Charged {
			t.Errorf("a refunded payment syncs as %s, want CHARGED still", res.Outcome)
		}
	})
	t.Run("not charged", func(t *testing.T) {
		p := charge(t, "4000000000000002", 1000)
		want(t, "declined payment", refund(p, "r-d", 100), connector.RefundFailed, "payment_not_charged")
		unknown := connector.Payment{TxnID: "never-seen"}
		want(t, "unknown payment", refund(unknown, "r-u", 100), connector.RefundFailed, "payment_not_found")
	})
	t.Run("concurrent refunds never exceed the charge", func(t *testing.T) {
		p := charge(t, "4242424242424242", 1000)
		results := make([]connector.RefundResult, 20)
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() { results[i] = refund(p, fmt.Sprintf("rc-%d", i), 100) })
		}
		wg.Wait()
		succeeded := 0
		for _, r := range results {
			switch r.Outcome {
			case connector.RefundSucceeded:
				succeeded++
			case connector.RefundFailed:
				if r.RespCode != "amount_exceeds_refundable" {
					t.Errorf("refused with %q", r.RespCode)
				}
			default:
				t.Errorf("outcome %s", r.Outcome)
			}
		}
		if succeeded != 10 {
			t.Errorf("%d refunds of 100 succeeded on a charge of 1000, want exactly 10", succeeded)
		}
		var refunded, sum int64
		if err := h.db.Get(&refunded, `SELECT amount_refunded FROM sandbox_payments WHERE txn_id = ?`, p.TxnID); err != nil {
			t.Fatal(err)
		}
		if err := h.db.Get(&sum, `SELECT CAST(COALESCE(SUM(amount), 0) AS SIGNED) FROM sandbox_refunds WHERE txn_id = ? AND status = 'succeeded'`, p.TxnID); err != nil {
			t.Fatal(err)
		}
		if refunded != 1000 || sum != 1000 {
			t.Errorf("amount_refunded %d, sum of succeeded refunds %d, want 1000 both", refunded, sum)
		}
	})
	t.Run("concurrent retries of one refund_id", func(t *testing.T) {
		p := charge(t, "4242424242424242", 1000)
		refs := make([]connector.RefundResult, 10)
		var wg sync.WaitGroup
		for i := range refs {
			wg.Go(func() { refs[i] = refund(p, "rr-same", 400) })
		}
		wg.Wait()
		for _, r := range refs {
			if r.Outcome != connector.RefundSucceeded || r.GatewayRef != refs[0].GatewayRef {
				t.Fatalf("retries got %+v, want one succeeded refund", refs)
			}
		}
		var n int
		h.db.Get(&n, `SELECT COUNT(*) FROM sandbox_refunds WHERE refund_id = 'rr-same'`)
		var refunded int64
		h.db.Get(&refunded, `SELECT amount_refunded FROM sandbox_payments WHERE txn_id = ?`, p.TxnID)
		if n != 1 || refunded != 400 {
			t.Errorf("%d refund rows, amount_refunded %d; want 1 and 400", n, refunded)
		}
	})
}
