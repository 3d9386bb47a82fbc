package e2e_test

import (
	"fmt"
	"testing"
	"time"
)

// TestRoutingDowntime: the best of three processors (0.9, 0.6, 0.3) goes
// down mid-run. Every txn that meets it falls back inside the same txn to
// the next candidate, whose answer it gets (none fails as unavailable); after
// the first failures it is the primary only of probes (at most 10 of the
// next 100 txns), and the merchant's success stays near an oracle sending
// everything to the best processor up. Once it is back, a probe finds out
// within 100 txns and it leads again (at least 40 of the next 50). The
// processors' books match the txns: a down processor recorded nothing, and
// nobody was authorized twice.
//
// With a 4111 card a fallback charges at its own success rate, so "every
// txn still charges" reads here: no txn fails for the outage — each ends
// with the fallback's own answer, never GATEWAY_UNAVAILABLE.
//
// The outage and recovery run one txn at a time, the clock moving 1 s per
// txn: probes need both 20 (then 40, 80, …) skipped decisions and 10 s
// (then 20 s, 40 s, …) since the last one, and sequential txns keep the
// "first failures" exact (3 consecutive UNAVAILABLE eliminate a gateway).
func TestRoutingDowntime(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("hundreds of txns (a minute and more on the embedded engine); not in -short mode")
	}
	s := bootRouting(t)
	sh := newRoutingShop(t, s, "rt_down", routingGW{"down_c", 0.3}, routingGW{"down_b", 0.6}, routingGW{"down_a", 0.9})
	best, second := "down_a", "down_b"
	tick := func(int) { s.clock.advance(time.Second) }

	// Warm up until the best leads (TestRoutingConvergence bounds how long
	// that takes): it must be the leader that goes down.
	start := time.Now()
	warm := sh.batch(t, "down_w", routingWarmup, 4, routingCardByRate, nil)
	for k := 0; routingShare(warm[len(warm)-25:], best) < 20; k++ {
		if k == 4 {
			t.Fatalf("precondition: after %d txns of warm-up %s should lead; it is the primary of %d of the last 25 (%v)",
				len(warm), best, routingShare(warm[len(warm)-25:], best), routingPrimaries(warm[len(warm)-25:]))
		}
		warm = append(warm, sh.batch(t, fmt.Sprintf("down_w%d", k), 25, 4, routingCardByRate, nil)...)
	}

	// The outage.
	sh.configure(t, best, `{"down": true}`)
	outage := sh.batch(t, "down_o", 100, 1, routingCardByRate, tick)
	// unavailable counts the UNAVAILABLE answers of the down gateway so
	// far: three in a row eliminate it.
	firstFailures, probes, asPrimary, unavailable := 0, 0, 0, 0
	for i := range outage {
		x := &outage[i]
		eliminated := unavailable >= 3
		if x.Primary() == best {
			asPrimary++
			switch {
			case x.Routing.Decision.Probe:
				probes++
			case !eliminated:
				firstFailures++
			default:
				t.Errorf("outage txn %d: %s leads after %d failures, not as a probe: %s", i, best, unavailable, x)
			}
		}
		for _, a := range x.Routing.Attempts {
			if a.Gateway == best {
				unavailable++
			}
		}
		// The down gateway never answered: whoever it was tried at, the
		// txn went on to the next candidate and got that one's answer.
		for k, a := range x.Routing.Attempts {
			if a.Gateway == best && (a.Outcome != "UNAVAILABLE" || k == len(x.Routing.Attempts)-1) {
				t.Errorf("outage txn %d: attempt %d at the down gateway answered %s and the txn ended there: %s", i, k, a.Outcome, x)
			}
		}
		if x.Gateway == best || x.ErrorCode == "GATEWAY_UNAVAILABLE" {
			t.Errorf("outage txn %d failed for the outage instead of falling back: %s", i, x)
		}
		if x.Primary() == best && (len(x.Routing.Attempts) != 2 || x.Routing.Attempts[1].Gateway != x.Candidates()[1]) {
			t.Errorf("outage txn %d led by the down gateway, want exactly one fallback to the next candidate: %s", i, x)
		}
		if x.Primary() != best && len(x.Routing.Attempts) != 1 {
			t.Errorf("outage txn %d led by an up gateway, want one attempt: %s", i, x)
		}
		if eliminated && !x.Routing.Decision.Probe {
			// The others' decisions show the gateway out of rotation.
			for _, c := range x.Routing.Decision.Candidates {
				if c.Gateway == best && !c.Eliminated {
					t.Errorf("outage txn %d: the decision does not mark %s eliminated: %s", i, best, x)
				}
			}
		}
	}
	t.Logf("outage: %s led %d of 100 txns (%d first failures, %d probes); primaries %v; reasons %v; %d charged",
		best, asPrimary, firstFailures, probes, routingPrimaries(outage), routingReasons(outage), routingCharged(outage))
	if asPrimary > 10 {
		t.Errorf("outage: the down gateway led %d of 100 txns, want at most 10 (the first failures and probes)", asPrimary)
	}
	if firstFailures > 3 {
		t.Errorf("outage: %d txns led by the down gateway before it was eliminated, want at most 3", firstFailures)
	}
	if probes == 0 {
		t.Errorf("outage: no probe of the down gateway in 100 txns and 100 s")
	}

	// The recovery: txns until the gateway leads again (a probe), then 50.
	sh.configure(t, best, `{"down": false}`)
	var recovery []routingTxn
	back := -1
	for i := 0; back < 0 || i < back+51; i++ {
		if back < 0 && i == 150 {
			t.Fatalf("recovery: %s has led none of 150 txns since it came back; primaries %v", best, routingPrimaries(recovery))
		}
		recovery = append(recovery, sh.batch(t, fmt.Sprintf("down_r%03d", i), 1, 1, routingCardByRate, tick)...)
		if back < 0 && recovery[i].Primary() == best {
			back = i
		}
	}
	regained := routingShare(recovery[back+1:], best)
	t.Logf("recovery: %s led again at txn %d (%s), then %d of the next 50; %.1fs for %d txns",
		best, back, recovery[back].Routing.Decision.Reason, regained, time.Since(start).Seconds(), len(warm)+len(outage)+len(recovery))
	// A probe was due 80 decisions after the outage's second one at the
	// latest (the gap doubles per failed probe: 20, 40, 80).
	if back > 100 {
		t.Errorf("recovery: %s led again only after %d txns, want at most 100", best, back)
	}
	if regained < 40 {
		t.Errorf("recovery: after its successful probe %s led %d of the next 50 txns, want at least 40: primaries %v",
			best, regained, routingPrimaries(recovery[back+1:]))
	}

	all := append(append(append([]routingTxn(nil), warm...), outage...), recovery...)
	sh.checkBooks(t, all)
	// The down processor recorded none of the txns that fell back.
	for i := range outage {
		if x := &outage[i]; x.Primary() == best {
			if at := sh.knownAt(t, x.TxnID); len(at) != 1 || at[0] != x.Gateway {
				t.Errorf("outage txn %s is known at %v, want only at %s: %s", x.TxnID, at, x.Gateway, x)
			}
		}
	}

	// Success during the outage against an oracle sending every txn to
	// the best processor up. Loosely: the worst processor, known from few
	// txns, is judged by the segment's pooled rate — which the down
	// gateway's good past inflates — so it leads some txns until its own
	// failures show. Simulating the router through this scenario (20,000
	// seeds), it costs 2 points on average, more than 5 in 5% of runs, more
	// than 10 in 0.3%, more than 15 in about 0.1%.
	got, oracle := sh.oracleGap(t, outage, second)
	t.Logf("outage: %d%% charged; an oracle sending all to %s: %d%% (nominal 60%%)", got, second, oracle)
	if got < oracle-15 {
		t.Errorf("outage: %d of 100 txns charged, sent all to %s %d would have: more than 15 points below the oracle", got, second, oracle)
	}
	got, oracle = sh.oracleGap(t, recovery[back+1:], best)
	t.Logf("after recovery: %d of %d charged; an oracle sending all to %s: %d", got, len(recovery)-back-1, best, oracle)
	if got < oracle-10 {
		t.Errorf("after recovery: %d of 50 txns charged, sent all to %s %d would have: more than 10 points below the oracle", got, best, oracle)
	}
}
