package e2e_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

// TestRoutingTimeout: a processor in timeout mode takes the payment and never
// answers. A txn routed there, with two healthy fallbacks in its decision,
// ends AUTHORIZING (unknown) after the orchestrator's gateway timeout and is
// never tried at another gateway: only that processor ever knows the txn
// id, before and after reconciliation settles it, and nobody is authorized
// twice. Three such timeouts take the processor out of rotation.
//
// Why the real 30 s timeout over HTTP rather than a second orchestrator with
// a short client timeout (money_reconcile_test.go): this is the path a
// merchant's request takes, with the app's own connector registry and its
// own classification of a gateway that does not answer; a replica would
// have its own router and connectors, and would test the StartTxn loop
// only. The cost is kept off the critical path: the test boots its app and
// sends its three txns (at once: the 30 s are paid once) before calling
// t.Parallel, so they wait out the 30 s while the other routing tests run;
// by the time the test gets a parallel slot they are back or nearly.
func TestRoutingTimeout(t *testing.T) {
	s := bootRouting(t)
	sh := newRoutingShop(t, s, "rt_to", routingGW{"to_t", 1}, routingGW{"to_b", 1}, routingGW{"to_c", 1})
	// The timeout processor leads every decision, the others follow as
	// fallbacks.
	sh.putRouting(t, `{"mode": "PRIORITY", "priority": ["to_t", "to_b", "to_c"],
		"elimination": {"enabled": true, "threshold": 0.05, "min_samples": 20}}`).want(t, http.StatusOK)
	sh.configure(t, "to_t", `{"timeout": true}`)

	type result struct {
		x    routingTxn
		err  error
		took time.Duration
	}
	cards := []string{routingCardOK, routingCardByRate, routingCardOK}
	results := make([]chan result, len(cards))
	sent := time.Now()
	for i, card := range cards {
		results[i] = make(chan result, 1)
		go func() {
			start := time.Now()
			x, err := sh.pay(s.slow, fmt.Sprintf("to_%d", i), card, nil)
			results[i] <- result{x, err, time.Since(start)}
		}()
	}
	t.Parallel()

	var txns []routingTxn
	for i := range cards {
		r := <-results[i]
		x := r.x
		if r.err != nil {
			// Go on with what the order shows: the checks below say
			// whether the money is safe all the same.
			t.Errorf("after %s: %v", r.took.Round(time.Millisecond), r.err)
			if err := sh.read(&x); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("txn %s came back after %s: %s", x.TxnID, r.took.Round(time.Millisecond), &x)
		if err := routingInvariants(&x); err != nil {
			t.Error(err)
		}
		if x.Status != "AUTHORIZING" || x.Answer != "AUTHORIZING" {
			t.Errorf("txn %s at a gateway that never answers: %s (answered %s), want AUTHORIZING", x.TxnID, x.Status, x.Answer)
		}
		if want := []string{"to_t", "to_b", "to_c"}; !slices.Equal(x.Candidates(), want) || x.Routing.Decision.Reason != "PRIORITY_LOGIC" {
			t.Errorf("txn %s: decision %s %v, want PRIORITY_LOGIC %v", x.TxnID, x.Routing.Decision.Reason, x.Candidates(), want)
		}
		if got := x.Tried(); !slices.Equal(got, []string{"to_t:UNKNOWN"}) {
			t.Errorf("txn %s: attempts %v, want only to_t:UNKNOWN — an unknown outcome must never be retried elsewhere", x.TxnID, got)
		}
		txns = append(txns, x)
	}
	t.Logf("the %d txns collected %s after they were sent", len(txns), time.Since(sent).Round(time.Millisecond))

	// Only the timeout processor knows the txns (its status queries
	// answer even in timeout mode).
	for i := range txns {
		if at := sh.knownAt(t, txns[i].TxnID); !slices.Equal(at, []string{"to_t"}) {
			t.Errorf("txn %s is known at %v, want only at to_t", txns[i].TxnID, at)
		}
	}
	for _, g := range []string{"to_b", "to_c"} {
		if c := sh.counters(t, g); c.Attempts != 0 {
			t.Errorf("fallback %s counted %d attempts, want none", g, c.Attempts)
		}
	}

	// Three timeouts in a row take the gateway out of rotation: the next
	// txn goes to the first fallback at once, and only it knows the txn.
	recorded := true
	for i := range txns {
		recorded = recorded && txns[i].Status == "AUTHORIZING"
	}
	if !recorded {
		t.Errorf("not checking that timeouts eliminate the gateway: the timeouts were not recorded (a txn would wait 30 s more)")
	} else {
		x := sh.one(t, "to_next", routingCardOK, nil)
		d := &x.Routing.Decision
		if d.Reason != "DOWNTIME_FALLBACK" || !slices.Equal(x.Candidates(), []string{"to_b", "to_c", "to_t"}) ||
			!d.Candidates[2].Eliminated || !slices.Equal(x.Tried(), []string{"to_b:CHARGED"}) {
			t.Errorf("txn after 3 timeouts at to_t: %s; want DOWNTIME_FALLBACK [to_b to_c to_t] with to_t eliminated, charged at to_b", &x)
		}
		if at := sh.knownAt(t, x.TxnID); !slices.Equal(at, []string{x.Gateway}) {
			t.Errorf("txn %s is known at %v, want only at %s", x.TxnID, at, x.Gateway)
		}
		txns = append(txns, x)
	}

	// While the outcome is unknown, the shopper cannot start another
	// payment of the order: it would be a second authorization.
	r, err := sh.payRaw(nil, txns[0].OrderID, routingCardOK, url.Values{"order.order_id": nil, "order_id": {txns[0].OrderID}})
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, r, http.StatusConflict)

	// The processor answers again; reconciliation (once no gateway call
	// can still be on its way) settles the txns where they went.
	sh.configure(t, "to_t", `{"timeout": false}`)
	s.clock.advance(2 * time.Minute)
	rep, err := s.App.Service.Reconcile(t.Context())
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	t.Logf("reconcile: %+v", rep)
	for i := range txns {
		x := txns[i]
		if x.Gateway != "to_t" {
			continue // to_next
		}
		x.Answer = ""
		if err := sh.read(&x); err != nil {
			t.Fatal(err)
		}
		if x.Status != "CHARGED" || x.Gateway != "to_t" || !slices.Equal(x.Tried(), []string{"to_t:UNKNOWN"}) {
			t.Errorf("txn %s after reconciliation: %s; want CHARGED at to_t, its one attempt unchanged", x.TxnID, &x)
		}
		if at := sh.knownAt(t, x.TxnID); !slices.Equal(at, []string{"to_t"}) {
			t.Errorf("txn %s is known at %v after reconciliation, want only at to_t", x.TxnID, at)
		}
		txns[i] = x
	}
	sh.checkBooks(t, txns)
}
