package e2e_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// routingWarmup bounds the txns the router may take to find the best of
// three processors at 0.9, 0.6 and 0.3 success, after which the best must
// get at least 80% of the next 100.
//
// Why 150: the router starts every gateway at the segment's pooled rate with
// a standard deviation of 0.1 and explores by Thompson draws of 0.7 times
// the part of that spread beyond a floor of 0.055; a gateway's own evidence
// outweighs the prior after some 10-25 outcomes. A 0.3 point gap is found
// within the first few dozen txns — unless the best gateway's first few
// outcomes are failures: its estimate then sits near the pooled rate,
// below the 0.6 gateway's, and only a 2-sigma draw (about 1% of decisions)
// tries it again. Simulating the router (routing.New, Decide, Observe) with
// these three rates, 10,000 seeds, outcomes observed at once or 4 txns late
// (the concurrency used here): the best gets less than 80% of txns 100-199
// in 0.10-0.12% of runs, of txns 150-249 in 0.06%, of txns 200-299 in
// 0.02%; on average 95% of them. Those rare failures are all the best
// gateway declining its first 3-4 txns (p ≈ 0.1^4). 150 keeps the test
// fast and its flake rate below 1 in 1,000.
const routingWarmup = 150

// TestRoutingConvergence: with processors at 0.9, 0.6 and 0.3 success,
// traffic moves to the best within routingWarmup txns: it is the primary of
// at least 80% of the next 100, whose success stays within 5 points of an
// oracle sending all of them to it; the processors' books match the txns
// (nobody authorized twice).
func TestRoutingConvergence(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("hundreds of txns (a minute and more on the embedded engine); not in -short mode")
	}
	s := bootRouting(t)
	// The best account is created last, with the lowest priority: the
	// default order favours the worst, so only learning finds the best.
	sh := newRoutingShop(t, s, "rt_conv", routingGW{"conv_c", 0.3}, routingGW{"conv_b", 0.6}, routingGW{"conv_a", 0.9})
	best := "conv_a"

	start := time.Now()
	warm := sh.batch(t, "conv_w", routingWarmup, 4, routingCardByRate, nil)
	after := sh.batch(t, "conv", 100, 4, routingCardByRate, nil)
	elapsed := time.Since(start)
	all := append(append([]routingTxn(nil), warm...), after...)

	// How the traffic moved, 25 txns at a time.
	var blocks []string
	for i := 0; i < len(all); i += 25 {
		blocks = append(blocks, fmt.Sprintf("%d-%d: %v", i, i+24, routingPrimaries(all[i:i+25])))
	}
	t.Logf("%d txns in %s (%.1f ms each); primaries by block: %s", len(all), elapsed.Round(time.Millisecond),
		float64(elapsed.Milliseconds())/float64(len(all)), strings.Join(blocks, "; "))
	t.Logf("warm-up reasons %v; after: reasons %v", routingReasons(warm), routingReasons(after))
	var firstAtBest []string
	for i := range all {
		if all[i].Gateway == best && len(firstAtBest) < 6 {
			firstAtBest = append(firstAtBest, all[i].Status)
		}
	}
	t.Logf("the best gateway's first outcomes: %v", firstAtBest)

	share := routingShare(after, best)
	t.Logf("after %d txns of warm-up, %s is the primary of %d%% of the next %d", routingWarmup, best, share, len(after))
	if share < 80 {
		t.Errorf("after %d txns of warm-up, %s (0.9) is the primary of %d of the next 100 txns, want at least 80; primaries %v",
			routingWarmup, best, share, routingPrimaries(after))
	}
	for i := range after {
		if r := after[i].Routing.Decision.Reason; r != "SR_SELECTION" && r != "SR_EXPLORATION" && r != "COST_ADJUSTED" {
			t.Errorf("txn %s: reason %s, want a success-rate reason (no rule, no elimination)", after[i].TxnID, r)
		}
	}

	// The sandbox's books before any shadow payment.
	sh.checkBooks(t, all)

	got, oracle := sh.oracleGap(t, after, best)
	t.Logf("after warm-up: %d%% charged; an oracle sending all to %s: %d%% (its nominal rate 90%%)", got, best, oracle)
	if got < oracle-5 {
		t.Errorf("after warm-up %d of 100 txns charged; sent all to %s, %d would have: more than 5 points below the oracle", got, best, oracle)
	}
}
