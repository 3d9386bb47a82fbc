package routing

import (
	"encoding/json"
	"errors"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"switchyard/server/pay"
)

// fourGateways are A..D taking cards and UPI in INR, in that priority.
func fourGateways() []*pay.GatewayAccount {
	var out []*pay.GatewayAccount
	for i, n := range []string{"A", "B", "C", "D"} {
		out = append(out, account(n, i, []string{"CARD", "UPI"}, "INR"))
	}
	return out
}

var visa = Input{TxnID: "m-o-1", MethodType: "CARD", Method: "VISA", CardBIN: "411111", Amount: 100000, Currency: "INR"}

func decide(t testing.TB, r *Router, p *Plan, in Input, now time.Time) Decision {
	t.Helper()
	var d Decision
	if err := r.Decide(p, &in, now, &d); err != nil {
		t.Fatalf("Decide: %v", err)
	}
	return d
}

// teach reports n outcomes of gateway g for in's segment, a fraction sr of
// them successes (spread evenly), one a millisecond from at.
func teach(r *Router, g string, in Input, n int, sr float64, at time.Time) {
	acc := 0.0
	for i := 0; i < n; i++ {
		o := Failure
		if acc += sr; acc >= 1 {
			acc--
			o = Success
		}
		r.Observe(Feedback{MerchantID: "m", Gateway: g, MethodType: in.MethodType, Method: in.Method, Outcome: o}, at.Add(time.Duration(i)*time.Millisecond))
	}
}

// teachAll reports n outcomes of each gateway of srs, interleaved as live
// traffic would be, one a millisecond from at.
func teachAll(r *Router, in Input, srs map[string]float64, n int, at time.Time) {
	acc := map[string]float64{}
	gws := slices.Sorted(maps.Keys(srs))
	for i := 0; i < n; i++ {
		for _, g := range gws {
			o := Failure
			if acc[g] += srs[g]; acc[g] >= 1 {
				acc[g]--
				o = Success
			}
			at = at.Add(time.Millisecond)
			r.Observe(Feedback{MerchantID: "m", Gateway: g, MethodType: in.MethodType, Method: in.Method, Outcome: o}, at)
		}
	}
}

func TestForcedGateway(t *testing.T) {
	r := New(Options{Seed: 1})
	p := mustPlan(t, pay.DefaultRouting(), fourGateways(), nil)
	in := visa
	in.Gateway = "C"
	d := decide(t, r, p, in, t0)
	if !slices.Equal(names(&d), []string{"C"}) || d.Reason != ReasonForced || d.Primary().Name != "C" {
		t.Errorf("got %v %s", names(&d), d.Reason)
	}
	in.Gateway = "nope"
	if err := r.Decide(p, &in, t0, &d); !errors.Is(err, ErrNoGateway) || d.N != 0 {
		t.Errorf("unknown forced gateway: err %v, N %d", err, d.N)
	}
	in.Gateway, in.MethodType, in.Method = "C", "NB", "NB_HDFC"
	if err := r.Decide(p, &in, t0, &d); !errors.Is(err, ErrNoGateway) {
		t.Errorf("forced gateway that can't take the txn: err %v", err)
	}
}

func TestEnforce(t *testing.T) {
	accts := fourGateways()
	limits := map[string]Limits{"C": {Methods: []string{"VISA"}}}
	rule := pay.RoutingRule{Name: "amex-cd", When: pay.RuleCondition{PaymentMethod: []string{"AMEX"}},
		Then: pay.RuleAction{Type: pay.ActionEnforce, Gateways: []string{"D", "C"}}}
	amex := visa
	amex.Method = "AMEX"
	r := New(Options{Seed: 1})
	t.Run("OK", func(t *testing.T) {
		for _, mode := range []string{pay.RoutingPriority, pay.RoutingSuccessRate} {
			cfg := pay.DefaultRouting()
			cfg.Mode, cfg.Rules = mode, []pay.RoutingRule{rule}
			p := mustPlan(t, cfg, accts, limits)
			d := decide(t, r, p, amex, t0)
			// C does not take AMEX: D alone, though A and B could.
			if !slices.Equal(names(&d), []string{"D"}) || d.Reason != ReasonEnforced || d.Rule != "amex-cd" {
				t.Errorf("%s: got %v %s %q", mode, names(&d), d.Reason, d.Rule)
			}
		}
	})
	t.Run("OrderInPriorityMode", func(t *testing.T) {
		cfg := priorityConfig()
		rule := rule
		rule.When = pay.RuleCondition{}
		cfg.Rules = []pay.RoutingRule{rule}
		d := decide(t, r, mustPlan(t, cfg, accts, limits), visa, t0)
		if !slices.Equal(names(&d), []string{"D", "C"}) {
			t.Errorf("got %v, want the rule's order", names(&d))
		}
	})
	t.Run("ErrNoneEligible", func(t *testing.T) {
		cfg := pay.DefaultRouting()
		rule := rule
		rule.Then.Gateways = []string{"C"}
		cfg.Rules = []pay.RoutingRule{rule}
		var d Decision
		err := r.Decide(mustPlan(t, cfg, accts, limits), &amex, t0, &d)
		if !errors.Is(err, ErrNoGateway) || d.N != 0 || d.Rule != "amex-cd" || d.Reason != ReasonNone {
			t.Errorf("err %v, %v %s %q: an enforce list must not be left", err, names(&d), d.Reason, d.Rule)
		}
	})
	t.Run("DowntimeStaysInside", func(t *testing.T) {
		cfg := pay.DefaultRouting()
		rule := rule
		rule.When = pay.RuleCondition{}
		cfg.Rules = []pay.RoutingRule{rule}
		p := mustPlan(t, cfg, accts, limits)
		r := New(Options{Seed: 1})
		for i := 0; i < 3; i++ {
			r.Observe(Feedback{MerchantID: "m", Gateway: "D", MethodType: "CARD", Method: "VISA", Outcome: Unavailable}, t0)
			r.Observe(Feedback{MerchantID: "m", Gateway: "C", MethodType: "CARD", Method: "VISA", Outcome: Unavailable}, t0)
		}
		d := decide(t, r, p, visa, t0)
		got := names(&d)
		slices.Sort(got)
		if !slices.Equal(got, []string{"C", "D"}) || d.Reason != ReasonDowntime {
			t.Errorf("all enforced gateways down: got %v %s, want C and D anyway", names(&d), d.Reason)
		}
	})
}

func TestPriorityRule(t *testing.T) {
	r := New(Options{Seed: 1})
	teachAll(r, visa, map[string]float64{"A": 0.9, "B": 0.5, "D": 0.7}, 200, t0)
	cfg := pay.DefaultRouting()
	cfg.Rules = []pay.RoutingRule{{Name: "prefer", Then: pay.RuleAction{Type: pay.ActionPriority, Gateways: []string{"C", "B"}}}}
	p := mustPlan(t, cfg, fourGateways(), nil)
	d := decide(t, r, p, visa, t0.Add(time.Second))
	// The rule's list first, as listed; then the others by estimate.
	if got, want := names(&d), []string{"C", "B", "A", "D"}; !slices.Equal(got, want) || d.Reason != ReasonPriority {
		t.Errorf("got %v %s, want %v PRIORITY_LOGIC", got, d.Reason, want)
	}
}

func TestSplit(t *testing.T) {
	cfg := pay.DefaultRouting()
	cfg.Rules = []pay.RoutingRule{{Name: "ab", Then: pay.RuleAction{Type: pay.ActionSplit,
		Split: []pay.SplitShare{{Gateway: "A", Percent: 70}, {Gateway: "B", Percent: 20}, {Gateway: "C", Percent: 10}}}}}
	r := New(Options{Seed: 1})
	p := mustPlan(t, cfg, fourGateways(), nil)
	count := map[string]int{}
	const n = 20000
	for i := 0; i < n; i++ {
		in := visa
		in.TxnID = "merchant-order" + strconv.Itoa(i) + "-1"
		d := decide(t, r, p, in, t0)
		if d.Reason != ReasonSplit || d.Rule != "ab" || d.N != 4 {
			t.Fatalf("got %v %s %q", names(&d), d.Reason, d.Rule)
		}
		count[d.Candidates[0].Gateway]++
		if again := decide(t, r, p, in, t0); again.Candidates[0].Gateway != d.Candidates[0].Gateway {
			t.Fatalf("txn %s split to %s, then %s", in.TxnID, d.Candidates[0].Gateway, again.Candidates[0].Gateway)
		}
	}
	for g, want := range map[string]float64{"A": 0.7, "B": 0.2, "C": 0.1, "D": 0} {
		if got := float64(count[g]) / n; math.Abs(got-want) > 0.015 {
			t.Errorf("%s got %.3f of the traffic, want %.2f", g, got, want)
		}
	}

	t.Run("IneligibleShare", func(t *testing.T) {
		// B can't take AMEX: its share goes to A and C, pro rata.
		p := mustPlan(t, cfg, fourGateways(), map[string]Limits{"B": {Methods: []string{"VISA"}}})
		count := map[string]int{}
		for i := 0; i < n; i++ {
			in := visa
			in.Method, in.TxnID = "AMEX", "t"+strconv.Itoa(i)
			d := decide(t, r, p, in, t0)
			count[d.Candidates[0].Gateway]++
		}
		if a := float64(count["A"]) / n; count["B"] != 0 || math.Abs(a-0.875) > 0.015 {
			t.Errorf("got %v", count)
		}
	})
}

func TestLearning(t *testing.T) {
	r := New(Options{Seed: 7})
	p := mustPlan(t, pay.DefaultRouting(), fourGateways(), nil)
	now := t0
	teachAll(r, visa, map[string]float64{"A": 0.70, "B": 0.92, "C": 0.80, "D": 0.60}, 300, now)
	now = now.Add(time.Minute)
	first := map[string]int{}
	for i := 0; i < 1000; i++ {
		d := decide(t, r, p, visa, now)
		first[d.Candidates[0].Gateway]++
		if i == 0 {
			if got, want := names(&d), []string{"B", "C", "A", "D"}; !slices.Equal(got, want) {
				t.Errorf("order %v, want %v", got, want)
			}
			// Near 0.92, pulled a little towards the segment's mean.
			if s := d.Candidates[0].Score; s < 0.87 || s > 0.93 {
				t.Errorf("B's score %.3f, want about 0.92", s)
			}
		}
	}
	if first["B"] < 950 {
		t.Errorf("B, clearly best, led only %d of 1000 decisions: %v", first["B"], first)
	}
	// UPI has learned nothing: the segments are apart.
	upi := visa
	upi.MethodType, upi.Method = "UPI", "UPI"
	d := decide(t, r, p, upi, now)
	for _, c := range d.List() {
		if c.Score != 0.5 {
			t.Errorf("UPI score of %s is %.3f, want the blank prior 0.5", c.Gateway, c.Score)
		}
	}

	t.Run("Drift", func(t *testing.T) {
		// B degrades: the router must notice within a few dozen outcomes.
		teach(r, "B", visa, 60, 0.40, now)
		d := decide(t, r, p, visa, now.Add(time.Minute))
		if d.Candidates[0].Gateway == "B" && d.Reason == ReasonSR {
			t.Errorf("B still first after degrading: %v", d.List())
		}
	})
	t.Run("Ignore", func(t *testing.T) {
		before := r.Snapshot()
		r.Observe(Feedback{MerchantID: "m", Gateway: "A", MethodType: "CARD", Method: "VISA", Outcome: Ignore}, now)
		if after := r.Snapshot(); !reflect.DeepEqual(before, after) {
			t.Error("an Ignore outcome changed the estimates")
		}
	})
}

func TestExplorationFindsBetterGateway(t *testing.T) {
	// A is well known at 0.80; C is barely known: the router must try C
	// and, C being better, move to it.
	r := New(Options{Seed: 3})
	p := mustPlan(t, pay.DefaultRouting(), fourGateways()[:3], nil)
	now := t0
	teachAll(r, visa, map[string]float64{"A": 0.80, "B": 0.70}, 500, now)
	truth := map[string]float64{"A": 0.80, "B": 0.70, "C": 0.95}
	luck := 0.0
	var lastC int
	for i := 0; i < 3000; i++ {
		now = now.Add(200 * time.Millisecond)
		d := decide(t, r, p, visa, now)
		g := d.Candidates[0].Gateway
		if g == "C" {
			lastC++
		}
		o := Failure
		if luck = math.Mod(luck+0.6180339887, 1); luck < truth[g] {
			o = Success
		}
		r.Observe(Feedback{MerchantID: "m", Gateway: g, MethodType: "CARD", Method: "VISA", Outcome: o}, now)
		if i == 1999 {
			lastC = 0
		}
	}
	if lastC < 900 {
		t.Errorf("C led %d of the last 1000 decisions, want most", lastC)
	}
}

func TestCost(t *testing.T) {
	accts := fourGateways()[:2]
	accts[0].FeePercent, accts[1].FeePercent = "9", "1"
	cfg := pay.DefaultRouting()
	cfg.CostWeight = 1
	r := New(Options{Seed: 1})
	teachAll(r, visa, map[string]float64{"A": 0.95, "B": 0.90}, 2000, t0)
	p := mustPlan(t, cfg, accts, nil)
	d := decide(t, r, p, visa, t0.Add(3*time.Second))
	if d.Candidates[0].Gateway != "B" || d.Reason != ReasonCost {
		t.Errorf("got %v %s; want B (5 points less success, 8 points less fee) COST_ADJUSTED", d.List(), d.Reason)
	}
	// A fixed fee (in the fee currency) weighs more on small amounts.
	accts[1].FeeFixed = 1000 // ₹10
	p = mustPlan(t, cfg, accts, nil)
	small := visa
	small.Amount = 20000 // ₹200: B costs 1% + 5%, A 9%
	if d := decide(t, r, p, small, t0.Add(3*time.Second)); d.Candidates[0].Gateway != "A" {
		t.Errorf("small amount: got %v, want A", d.List())
	}
	usd := small
	usd.Currency = "USD"
	accts[0].Currencies, accts[1].Currencies = []string{"USD"}, []string{"USD"}
	p = mustPlan(t, cfg, accts, nil)
	teachAll(r, usd, map[string]float64{"A": 0.95, "B": 0.90}, 2000, t0)
	if d := decide(t, r, p, usd, t0.Add(3*time.Second)); d.Candidates[0].Gateway != "B" {
		t.Errorf("fixed fee in another currency must not count: got %v", d.List())
	}
}

func TestElimination(t *testing.T) {
	r := New(Options{Seed: 1})
	cfg := pay.DefaultRouting()
	cfg.Mode = pay.RoutingPriority // deterministic order: A, B, C, D
	p := mustPlan(t, cfg, fourGateways(), nil)
	now := t0
	fb := func(g string, o Outcome, sent time.Time) {
		r.Observe(Feedback{MerchantID: "m", Gateway: g, MethodType: "CARD", Method: "VISA", Outcome: o, Sent: sent}, now)
	}
	fb("A", Success, now)
	for i := 0; i < 3; i++ {
		now = now.Add(time.Second)
		fb("A", Unavailable, now)
	}
	d := decide(t, r, p, visa, now)
	if got := names(&d); !slices.Equal(got, []string{"B", "C", "D", "A"}) || d.Reason != ReasonDowntime || !d.Candidates[3].Eliminated {
		t.Fatalf("after 3 Unavailable: %v %s", d.List(), d.Reason)
	}
	// A late success of a txn sent before the outage changes nothing.
	fb("A", Success, t0)
	if d := decide(t, r, p, visa, now); d.Candidates[0].Gateway != "B" {
		t.Fatalf("stale success revived A: %v", names(&d))
	}
	// UPI too: downtime is the gateway's, not a payment method's.
	upi := visa
	upi.MethodType, upi.Method = "UPI", "UPI"
	if d := decide(t, r, p, upi, now); d.Candidates[0].Gateway != "B" {
		t.Errorf("UPI still goes to A: %v", names(&d))
	}

	// Probes: once 20 decisions skipped A and 10 s passed.
	probes := 0
	for i := 0; i < 40; i++ {
		now = now.Add(time.Second)
		d := decide(t, r, p, visa, now)
		if d.Probe {
			probes++
			if d.Candidates[0].Gateway != "A" || d.Reason != ReasonProbe || d.Candidates[1].Gateway != "B" {
				t.Errorf("probe decision %v %s", names(&d), d.Reason)
			}
		}
	}
	if probes < 1 || probes > 2 {
		t.Errorf("%d probes in 40 decisions over 40 s, want 1 or 2", probes)
	}
	// A probe fails: the next ones come at half the pace.
	fb("A", Unavailable, now)
	probes = 0
	for i := 0; i < 40; i++ {
		now = now.Add(time.Second)
		if d := decide(t, r, p, visa, now); d.Probe {
			probes++
		}
	}
	if probes != 1 {
		t.Errorf("%d probes in 40 decisions after a failed probe, want 1", probes)
	}
	// A probe gets through: A is back.
	fb("A", Success, now)
	if d := decide(t, r, p, visa, now); d.Candidates[0].Gateway != "A" || d.Reason != ReasonPriority || d.Candidates[0].Eliminated {
		t.Errorf("after a successful probe: %v %s", d.List(), d.Reason)
	}

	t.Run("Collapse", func(t *testing.T) {
		// 20 declines in a row for VISA, while UPI goes well, take A out
		// for VISA only.
		for i := 0; i < 20; i++ {
			fb("A", Failure, now)
			r.Observe(Feedback{MerchantID: "m", Gateway: "A", MethodType: "UPI", Method: "UPI", Outcome: Success}, now)
		}
		if d := decide(t, r, p, visa, now); d.Candidates[0].Gateway != "B" || d.Reason != ReasonDowntime {
			t.Errorf("VISA: %v %s", names(&d), d.Reason)
		}
		if d := decide(t, r, p, upi, now); d.Candidates[0].Gateway != "A" {
			t.Errorf("UPI: %v", names(&d))
		}
		// 20 declines in a row across all methods take A out everywhere.
		cash := upi
		cash.Method = "OTHER"
		for i := 0; i < 20; i++ {
			r.Observe(Feedback{MerchantID: "m", Gateway: "A", MethodType: "UPI", Method: "OTHER", Outcome: Failure}, now)
		}
		if d := decide(t, r, p, upi, now); d.Candidates[0].Gateway != "B" {
			t.Errorf("UPI after a gateway-wide collapse: %v", names(&d))
		}
	})
	t.Run("AllDown", func(t *testing.T) {
		for _, g := range []string{"B", "C", "D"} {
			for i := 0; i < 3; i++ {
				fb(g, Unavailable, now)
			}
		}
		d := decide(t, r, p, visa, now)
		if d.N != 4 || d.Reason != ReasonDowntime || d.Probe {
			t.Errorf("all down: %v %s", d.List(), d.Reason)
		}
		for i := 1; i < d.N; i++ {
			if d.Candidates[i].Score > d.Candidates[i-1].Score {
				t.Errorf("all down: not least bad first: %v", d.List())
			}
		}
	})
	t.Run("Disabled", func(t *testing.T) {
		cfg := cfg
		cfg.Elimination.Enabled = false
		p := mustPlan(t, cfg, fourGateways(), nil)
		if d := decide(t, r, p, visa, now); !slices.Equal(names(&d), []string{"A", "B", "C", "D"}) || d.Candidates[0].Eliminated {
			t.Errorf("elimination off: %v", d.List())
		}
	})
}

func TestTimeoutCountsOnce(t *testing.T) {
	r := New(Options{Seed: 1})
	teach(r, "A", visa, 100, 0.9, t0)
	mean := func() float64 {
		for _, s := range r.Snapshot().Segments {
			for _, c := range s.Cells {
				if c.Gateway == "A" {
					return c.Belief.Mean
				}
			}
		}
		return -1
	}
	m0 := mean()
	r.Observe(Feedback{MerchantID: "m", Gateway: "A", MethodType: "CARD", Method: "VISA", Outcome: Timeout}, t0)
	m1 := mean()
	for i := 0; i < 50; i++ {
		r.Observe(Feedback{MerchantID: "m", Gateway: "A", MethodType: "CARD", Method: "VISA", Outcome: Timeout}, t0)
		r.Observe(Feedback{MerchantID: "m", Gateway: "A", MethodType: "CARD", Method: "VISA", Outcome: Unavailable}, t0)
	}
	if m2 := mean(); !(m1 < m0) || m2 != m1 {
		t.Errorf("mean %.4f, after a timeout %.4f, after an outage %.4f: want one failure counted", m0, m1, m2)
	}
}

func TestSnapshotRestore(t *testing.T) {
	r := New(Options{Seed: 5})
	teach(r, "A", visa, 300, 0.8, t0)
	teach(r, "B", visa, 100, 0.9, t0)
	upi := visa
	upi.MethodType, upi.Method = "UPI", "UPI"
	teach(r, "C", upi, 50, 0.5, t0)
	for i := 0; i < 3; i++ {
		r.Observe(Feedback{MerchantID: "m", Gateway: "D", MethodType: "UPI", Method: "UPI", Outcome: Unavailable}, t0)
	}
	snap := r.Snapshot()
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	warm := New(Options{Seed: 5})
	if err := warm.Restore(back); err != nil {
		t.Fatal(err)
	}
	if again := warm.Snapshot(); !reflect.DeepEqual(again, snap) {
		t.Errorf("snapshot after restore differs:\n%+v\n%+v", again, snap)
	}
	// Same seed, same state: the same decisions.
	p := mustPlan(t, pay.DefaultRouting(), fourGateways(), nil)
	now := t0.Add(time.Minute)
	for i := 0; i < 50; i++ {
		for _, in := range []Input{visa, upi} {
			d1, d2 := decide(t, r, p, in, now), decide(t, warm, p, in, now)
			if !reflect.DeepEqual(d1, d2) {
				t.Fatalf("decision %d: %v %s vs %v %s", i, d1.List(), d1.Reason, d2.List(), d2.Reason)
			}
		}
	}

	t.Run("ErrBad", func(t *testing.T) {
		bad := []func(*Snapshot){
			func(s *Snapshot) { s.Version = 99 },
			func(s *Snapshot) { s.Segments[0].Cells[0].Belief.Mean = 1.5 },
			func(s *Snapshot) { s.Segments[0].Cells[0].Belief.Variance = -1 },
			func(s *Snapshot) { s.Segments[0].Pooled.Failures = math.NaN() },
			func(s *Snapshot) { s.Segments[0].Cells[0].Belief.Step = s.Segments[0].Steps + 1 },
			func(s *Snapshot) { s.Gateways[0].RecentN = 65 },
		}
		for i, mutate := range bad {
			var s Snapshot
			_ = json.Unmarshal(b, &s)
			mutate(&s)
			fresh := New(Options{})
			teach(fresh, "A", visa, 10, 1, t0)
			before := fresh.Snapshot()
			if err := fresh.Restore(s); err == nil {
				t.Errorf("case %d: no error", i)
			}
			if !reflect.DeepEqual(fresh.Snapshot(), before) {
				t.Errorf("case %d: a refused restore changed the router", i)
			}
		}
	})
}

func TestDeterministic(t *testing.T) {
	run := func() []string {
		r := New(Options{Seed: 42})
		p := mustPlan(t, pay.DefaultRouting(), fourGateways(), nil)
		var out []string
		now := t0
		for i := 0; i < 500; i++ {
			now = now.Add(time.Second)
			d := decide(t, r, p, visa, now)
			g := d.Candidates[0].Gateway
			out = append(out, g+string(d.Reason))
			o := Success
			if i%(3+len(g)+int(g[0]-'A')) == 0 {
				o = Failure
			}
			r.Observe(Feedback{MerchantID: "m", Gateway: g, MethodType: "CARD", Method: "VISA", Outcome: o}, now)
		}
		return out
	}
	if a, b := run(), run(); !slices.Equal(a, b) {
		t.Error("same seed, same traffic, different decisions")
	}
}

func TestConcurrent(t *testing.T) {
	r := New(Options{Seed: 1})
	plans := map[string]*Plan{}
	for _, m := range []string{"m", "n", "o"} {
		accts := fourGateways()
		for _, a := range accts {
			a.MerchantID = m
		}
		p, err := NewPlan(Setup{MerchantID: m, Routing: new(pay.DefaultRouting()), Gateways: accts, FeeCurrency: "INR"})
		if err != nil {
			t.Fatal(err)
		}
		plans[m] = p
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			var d Decision
			for i := 0; i < 2000; i++ {
				m := []string{"m", "n", "o"}[(w+i)%3]
				in := visa
				now := t0.Add(time.Duration(i) * time.Millisecond)
				if err := r.Decide(plans[m], &in, now, &d); err != nil {
					t.Error(err)
					return
				}
				o := []Outcome{Success, Failure, Unavailable, Timeout, Ignore}[i%5]
				r.Observe(Feedback{MerchantID: m, Gateway: d.Candidates[0].Gateway, MethodType: in.MethodType, Method: in.Method, Outcome: o}, now)
				if i%500 == 0 {
					_ = r.Restore(r.Snapshot())
				}
			}
		})
	}
	wg.Wait()
}

func TestDecideDoesNotAllocate(t *testing.T) {
	rt, p, in, now := benchSetup(t)
	var d Decision
	if n := testing.AllocsPerRun(100, func() { _ = rt.Decide(p, &in, now, &d) }); n != 0 {
		t.Errorf("Decide allocates %.0f times", n)
	}
}

func TestDecisionJSON(t *testing.T) {
	d := Decision{N: 2, Reason: ReasonProbe, Rule: "r", Probe: true}
	d.Candidates[0] = Candidate{Gateway: "A", Score: 0.123456, Eliminated: true}
	d.Candidates[1] = Candidate{Gateway: "B", Score: -0.01}
	b, err := json.Marshal(&d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"reason":"DOWNTIME_PROBE","rule":"r","probe":true,"candidates":[{"gateway":"A","score":0.1235,"eliminated":true},{"gateway":"B","score":-0.01}]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}
