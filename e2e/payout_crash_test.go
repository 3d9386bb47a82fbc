package e2e_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"switchyard/server/pay"
	"switchyard/server/store"
	"switchyard/server/storetest"
)

// Payouts survive kill -9: the server is killed twice while attempts are in
// flight (rails answer slowly, and outcomes stay pending for a while), and
// restarted on the same database. Every payout order still ends final, every
// fulfillment is paid exactly once (the rails' own books: one success per
// fulfillment, and exactly the sum of the amounts paid out), the status API
// shows one SUCCESS attempt per fulfillment, and the merchant receives each
// order's final callback.
func TestPayoutCrash(t *testing.T) {
	moneyNeedMySQL(t)
	bin := buildBinary(t)
	dsn := emptyDatabase(t)
	environ := env(
		"SWITCHYARD_DATABASE_URL="+dsn,
		"SWITCHYARD_MASTER_KEY="+base64.StdEncoding.EncodeToString(storetest.MasterKey()),
		"SWITCHYARD_ADMIN_TOKEN="+adminToken,
		"SWITCHYARD_ADDR=127.0.0.1:0",
		"SWITCHYARD_SANDBOX=true",
		"SWITCHYARD_PAYOUT_POLL_INTERVAL=100ms",
		"SWITCHYARD_PAYOUT_LEASE=2s",
		"SWITCHYARD_WEBHOOK_RETRY_SCHEDULE=200ms,500ms,1s,1s,1s,1s,1s",
	)
	p := start(t, bin, environ)
	s := &server{URL: p.field(t, `listening on (http://127\.0\.0\.1:[0-9]+)\n`), client: client()}
	sh := newPayoutShop(t, s, "payout_crash")
	sh.rail(t, "SANDBOX_IMPS", `{"success_rate": 0.5, "latency_ms": 150, "pending_ms": 400}`)
	sh.rail(t, "SANDBOX_NEFT", `{"success_rate": 1, "latency_ms": 150, "pending_ms": 400}`)

	const n = 24
	var total int64
	for i := range n {
		amount := fmt.Sprintf("%d.%02d", 10+i, i)
		minorAmount, _ := pay.ParseAmount(amount, "INR")
		total += minorAmount
		sh.create(t, payoutBody(fmt.Sprintf("crash_%02d", i), "FULFILL_ONLY", []string{"SANDBOX_IMPS", "SANDBOX_NEFT"}, amount))
	}
	// Two crashes while attempts are under way.
	db, err := store.Open(t.Context(), dsn, storetest.Sealer())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inFlight := 0
	for round := range 2 {
		time.Sleep(time.Duration(300+200*round) * time.Millisecond)
		p.kill()
		var open int
		if err := db.SQL().QueryRowContext(t.Context(),
			`SELECT COUNT(*) FROM payout_attempts WHERE status = 'INITIATED'`).Scan(&open); err != nil {
			t.Fatal(err)
		}
		t.Logf("crash %d: %d attempts unknown", round+1, open)
		inFlight += open
		p = start(t, bin, environ)
		s.URL = p.field(t, `listening on (http://127\.0\.0\.1:[0-9]+)\n`)
	}
	if inFlight == 0 {
		t.Fatalf("no crash caught an attempt in flight: the test proves nothing")
	}

	var internal []string
	for i := range n {
		orderID := fmt.Sprintf("crash_%02d", i)
		o := sh.final(t, orderID, 90*time.Second)
		f := o.Fulfillments[0]
		successes := 0
		for _, x := range f.Transactions {
			if x.Status == "SUCCESS" {
				successes++
			}
			if x.Status == "INITIATED" || x.Status == "MANUAL_REVIEW" {
				t.Errorf("%s: attempt %s left %s", orderID, x.TransactionRef, x.Status)
			}
		}
		if o.Status != "FULFILLMENTS_SUCCESSFUL" || f.Status != "SUCCESS" || successes != 1 {
			t.Errorf("%s: order %s, fulfillment %s, attempts %v", orderID, o.Status, f.Status, f.txnSummary())
		}
		internal = append(internal, o.internalID())
	}
	imps, neft := sh.counters(t, "SANDBOX_IMPS"), sh.counters(t, "SANDBOX_NEFT")
	if imps.Succeeded+neft.Succeeded != n || imps.AmountPaid+neft.AmountPaid != total || imps.Pending+neft.Pending != 0 {
		t.Errorf("the rails paid %d payouts (%d paise), want %d (%d paise): IMPS %+v, NEFT %+v",
			imps.Succeeded+neft.Succeeded, imps.AmountPaid+neft.AmountPaid, n, total, imps, neft)
	}
	// Attempts the rails know of = attempts the status API shows (none
	// lost, none made behind the workflow's back).
	shown := 0
	for i := range n {
		shown += len(sh.order(t, fmt.Sprintf("crash_%02d", i)).Fulfillments[0].Transactions)
	}
	if int(imps.Attempts+neft.Attempts) != shown {
		t.Errorf("the rails saw %d attempts, the status API shows %d", imps.Attempts+neft.Attempts, shown)
	}
	for i, id := range internal {
		orderID := fmt.Sprintf("crash_%02d", i)
		cbs := sh.callbacksOf(t, id, orderID, []string{"ORDER FULFILLMENTS_SUCCESSFUL", "FULFILLMENT_ORDER SUCCESS"})
		var successTxns []string
		for _, cb := range cbs {
			if cb.Label == "FULFILLMENT_TXN" && cb.Value == "SUCCESS" {
				var info struct {
					ID string `json:"id"`
				}
				json.Unmarshal(cb.Info, &info)
				if !slices.Contains(successTxns, info.ID) {
					successTxns = append(successTxns, info.ID)
				}
			}
		}
		if len(successTxns) != 1 {
			t.Errorf("%s: SUCCESS callbacks for attempts %v, want exactly one attempt", orderID, successTxns)
		}
	}
	logs := p.stop(t)
	if strings.Contains(logs, "hook-secret") {
		t.Errorf("a webhook password appears in the logs")
	}
}
