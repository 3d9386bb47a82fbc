package e2e_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"switchyard/server/routing"
)

// TestRoutingRules: the merchant's routing config decides, and each txn's
// decision, shown by the Order Status API, says which rule and why.
// PRIORITY mode follows its list even to the worst gateway; the first
// matching rule wins: a PRIORITY rule on udf1, an ENFORCE rule on a BIN
// range (which never leaves its list, even when its gateway is down), a
// 70/30 SPLIT on another BIN range; txns no rule matches are ranked by the
// mode. The split lands within bounds over 200 txns and is deterministic
// per txn id: a fresh router — another replica, or this one after a
// restart — sends every txn id to the same gateway.
func TestRoutingRules(t *testing.T) {
	t.Parallel()
	s := bootRouting(t)
	sh := newRoutingShop(t, s, "rt_rules", routingGW{"rules_a", 0.9}, routingGW{"rules_b", 0.6}, routingGW{"rules_c", 0.3})
	var all []routingTxn
	decision := func(x routingTxn, reason, rule string, candidates ...string) {
		t.Helper()
		d := &x.Routing.Decision
		if d.Reason != reason || d.Rule != rule || candidates != nil && !slices.Equal(x.Candidates(), candidates) {
			t.Errorf("txn %s: decision %s rule %q candidates %v; want %s rule %q candidates %v", x.TxnID, d.Reason, d.Rule,
				x.Candidates(), reason, rule, candidates)
		}
	}

	// PRIORITY mode: the list, worst first, is followed.
	sh.putRouting(t, `{"mode": "PRIORITY", "priority": ["rules_c", "rules_a", "rules_b"],
		"elimination": {"enabled": true, "threshold": 0.05, "min_samples": 20}}`).want(t, http.StatusOK)
	for _, x := range sh.batch(t, "rules_prio", 10, 2, routingCardByRate, nil) {
		decision(x, "PRIORITY_LOGIC", "", "rules_c", "rules_a", "rules_b")
		all = append(all, x)
	}

	sh.putRouting(t, `{"mode": "SUCCESS_RATE", "priority": [], "cost_weight": 0,
		"elimination": {"enabled": true, "threshold": 0.05, "min_samples": 20},
		"rules": [
		  {"name": "vip", "when": {"udf": {"udf1": "vip"}}, "then": {"type": "PRIORITY", "gateways": ["rules_b", "rules_c"]}},
		  {"name": "bin-4111", "when": {"payment_method_type": ["CARD"], "bin_ranges": ["411100-411199"]},
		   "then": {"type": "ENFORCE", "gateways": ["rules_b"]}},
		  {"name": "split-4242", "when": {"bin_ranges": ["42424242-42424242"]},
		   "then": {"type": "SPLIT", "split": [{"gateway": "rules_a", "percent": 70}, {"gateway": "rules_c", "percent": 30}]}}
		]}`).want(t, http.StatusOK)

	// The first matching rule decides: vip before the BIN rule.
	for i := range 3 {
		x := sh.one(t, fmt.Sprintf("rules_vip_%d", i), routingCardByRate, url.Values{"order.udf1": {"vip"}})
		decision(x, "PRIORITY_LOGIC", "vip", "rules_b", "rules_c", "rules_a")
		all = append(all, x)
	}
	for _, x := range sh.batch(t, "rules_bin", 10, 2, routingCardByRate, nil) {
		decision(x, "ENFORCED_RULE", "bin-4111", "rules_b")
		all = append(all, x)
	}
	// A Mastercard matches no rule: the mode ranks all three.
	for _, x := range sh.batch(t, "rules_mc", 4, 2, "5555555555554444", nil) {
		if r := x.Routing.Decision.Reason; (r != "SR_SELECTION" && r != "SR_EXPLORATION") || x.Routing.Decision.Rule != "" || len(x.Candidates()) != 3 {
			t.Errorf("txn %s matching no rule: %s; want a success-rate decision over the three gateways", x.TxnID, &x)
		}
		all = append(all, x)
	}

	// The split, 200 txns.
	start := time.Now()
	split := sh.batch(t, "rules_split", 200, 4, routingCardOK, nil)
	onA := 0
	for _, x := range split {
		if p := x.Primary(); p != "rules_a" && p != "rules_c" || len(x.Candidates()) != 3 {
			t.Errorf("split txn %s: %s; want rules_a or rules_c first, the others as fallbacks", x.TxnID, &x)
		}
		decision(x, "VOLUME_SPLIT", "split-4242")
		if x.Primary() == "rules_a" {
			onA++
		}
	}
	t.Logf("split 70/30 over 200 txns (%s): %d to rules_a, %d to rules_c", time.Since(start).Round(time.Millisecond), onA, 200-onA)
	// 70% of 200 ± 3.1 standard deviations (6.5 txns) of a binomial split.
	if onA < 120 || onA > 160 {
		t.Errorf("split 70/30: %d of 200 txns to rules_a, want 120-160", onA)
	}
	// Another router, seeded otherwise and knowing nothing, splits the same
	// txn ids the same way.
	m, err := s.App.DB.Merchant(t.Context(), sh.id)
	if err != nil {
		t.Fatal(err)
	}
	gws, err := s.App.DB.Gateways(t.Context(), sh.id)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := routing.NewPlan(routing.Setup{MerchantID: sh.id, Routing: &m.Routing, Gateways: gws, FeeCurrency: m.DefaultCurrency})
	if err != nil {
		t.Fatal(err)
	}
	fresh := routing.New(routing.Options{Seed: uint64(time.Now().UnixNano())})
	for _, x := range split {
		in := routing.Input{TxnID: x.TxnID, MethodType: "CARD", Method: "VISA", CardBIN: "42424242", Amount: 10000, Currency: "INR"}
		var d routing.Decision
		if err := fresh.Decide(plan, &in, s.clock.now(), &d); err != nil {
			t.Fatal(err)
		}
		if d.Reason != routing.ReasonSplit || d.Candidates[0].Gateway != x.Primary() {
			t.Errorf("split txn %s went to %s; a fresh router sends it to %s (%s)", x.TxnID, x.Primary(), d.Candidates[0].Gateway, d.Reason)
		}
	}
	all = append(all, split...)

	// ENFORCE never leaves its list: with rules_b down, its txns fail.
	sh.configure(t, "rules_b", `{"down": true}`)
	for i := range 2 {
		x := sh.one(t, fmt.Sprintf("rules_bin_down_%d", i), routingCardByRate, nil)
		decision(x, "ENFORCED_RULE", "bin-4111", "rules_b")
		if x.Status != "AUTHORIZATION_FAILED" || x.ErrorCode != "GATEWAY_UNAVAILABLE" || !slices.Equal(x.Tried(), []string{"rules_b:UNAVAILABLE"}) {
			t.Errorf("txn %s enforced to a down gateway: %s; want AUTHORIZATION_FAILED (GATEWAY_UNAVAILABLE) after rules_b only", x.TxnID, &x)
		}
		all = append(all, x)
	}
	sh.configure(t, "rules_b", `{"down": false}`)
	sh.checkBooks(t, all)
}
