package routing

import (
	"errors"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchyard/server/pay"
)

// The fuzz test builds a merchant (gateways, limits, rules, mode), a learned
// state and a txn from the fuzzer's bytes, decides, and checks the decision
// against reference implementations written differently: amounts with
// big.Rat, BINs as numbers, the first matching rule by plain loops.

type fuzzBytes struct {
	b []byte
	i int
}

func (f *fuzzBytes) n(k int) int {
	if f.i >= len(f.b) || k <= 1 {
		f.i++
		return 0
	}
	v := int(f.b[f.i])
	f.i++
	return v % k
}

func (f *fuzzBytes) pick(pool []string) string { return pool[f.n(len(pool))] }

func (f *fuzzBytes) subset(pool []string, nonEmpty bool) []string {
	var out []string
	mask := f.n(1 << len(pool))
	for i, s := range pool {
		if mask&(1<<i) != 0 {
			out = append(out, s)
		}
	}
	if nonEmpty && len(out) == 0 {
		out = append(out, pool[0])
	}
	return out
}

var (
	fuzzTypes      = []string{"CARD", "UPI", "NB", "WALLET"}
	fuzzCurrencies = []string{"INR", "USD", "JPY", "BHD"}
	fuzzMethods    = []string{"VISA", "MASTERCARD", "master", "AMEX", "UPI", "NB_HDFC", "PAYTM", "RUPAY"}
	fuzzBINs       = []string{"400000-499999", "459000-460000", "52000000-52000099", "510000-510000", "000000-999999"}
	fuzzAmounts    = []string{"", "", "0", "1", "0.3", "10.5", "100", "999.999", "1000", "1000.005"}
	fuzzUDFKeys    = []string{"udf1", "udf2", "udf10"}
	fuzzUDFValues  = []string{"a", "b"}
)

type fuzzCase struct {
	accts  []*pay.GatewayAccount
	limits map[string]Limits
	cfg    pay.RoutingConfig
	in     Input
}

func buildFuzzCase(data []byte) (fuzzCase, []Feedback) {
	f := &fuzzBytes{b: data}
	var c fuzzCase
	c.limits = map[string]Limits{}
	ng := 1 + f.n(6)
	var gws []string
	for i := 0; i < ng; i++ {
		name := "G" + strconv.Itoa(i)
		gws = append(gws, name)
		a := &pay.GatewayAccount{MerchantID: "m", Name: name, Connector: "sandbox", Enabled: f.n(10) != 0,
			PaymentMethods: f.subset(fuzzTypes, true), Currencies: f.subset(fuzzCurrencies, true),
			FeePercent: strconv.Itoa(f.n(5)), FeeFixed: int64(f.n(3) * 100), Priority: f.n(4)}
		c.accts = append(c.accts, a)
		if f.n(2) == 0 {
			c.limits[name] = Limits{Methods: f.subset(fuzzMethods, false), AmountMin: f.pick(fuzzAmounts), AmountMax: f.pick(fuzzAmounts)}
		}
	}
	c.cfg = pay.DefaultRouting()
	if f.n(2) == 0 {
		c.cfg.Mode = pay.RoutingPriority
	}
	c.cfg.Priority = f.subset(gws, false)
	c.cfg.CostWeight = float64(f.n(3))
	c.cfg.Elimination.Enabled = f.n(3) != 0
	c.cfg.Elimination.MinSamples = f.n(25)
	c.cfg.Elimination.Threshold = float64(f.n(10)) / 10
	for i, nr := 0, f.n(7); i < nr; i++ {
		r := pay.RoutingRule{Name: "r" + strconv.Itoa(i)}
		if f.n(3) == 0 {
			r.When.PaymentMethodType = f.subset(fuzzTypes, false)
		}
		if f.n(3) == 0 {
			r.When.PaymentMethod = f.subset(fuzzMethods, false)
		}
		if f.n(3) == 0 {
			r.When.BINRanges = f.subset(fuzzBINs, false)
		}
		if f.n(2) == 0 {
			r.When.AmountMin, r.When.AmountMax = f.pick(fuzzAmounts), f.pick(fuzzAmounts)
		}
		if f.n(3) == 0 {
			r.When.Currency = f.subset(fuzzCurrencies, false)
		}
		if f.n(3) == 0 {
			r.When.UDF = map[string]string{}
			for _, k := range f.subset(fuzzUDFKeys, true) {
				r.When.UDF[k] = f.pick(fuzzUDFValues)
			}
		}
		list := f.subset(gws, true)
		switch f.n(3) {
		case 0:
			r.Then = pay.RuleAction{Type: pay.ActionPriority, Gateways: list}
		case 1:
			r.Then = pay.RuleAction{Type: pay.ActionEnforce, Gateways: list}
		default:
			r.Then.Type = pay.ActionSplit
			left := 100
			for j, g := range list {
				p := left
				if j < len(list)-1 {
					p = 1 + f.n(left-len(list)+j+1)
				}
				left -= p
				r.Then.Split = append(r.Then.Split, pay.SplitShare{Gateway: g, Percent: p})
			}
		}
		c.cfg.Rules = append(c.cfg.Rules, r)
	}
	c.in = Input{TxnID: "t" + strconv.Itoa(f.n(256)), MethodType: f.pick(append(fuzzTypes, "CASH")),
		Method: strings.ToUpper(f.pick(fuzzMethods)), CardBIN: f.pick([]string{"", "459000", "45999999", "52000050", "5200", "4000001x", "510000"}),
		Amount: []int64{0, 1, 30, 1000, 100000, 100050, 1000005, 99999999}[f.n(8)], Currency: f.pick(append(fuzzCurrencies, "EUR"))}
	if c.in.Method == "MASTER" {
		c.in.Method = "MASTERCARD"
	}
	for _, k := range f.subset(fuzzUDFKeys, false) {
		n, _ := strconv.Atoi(k[3:])
		c.in.UDF[n-1] = f.pick(fuzzUDFValues)
	}
	if f.n(8) == 0 {
		c.in.Gateway = f.pick(append(gws, "nope"))
	}
	var fbs []Feedback
	for i, n := 0, f.n(80); i < n; i++ {
		fbs = append(fbs, Feedback{MerchantID: "m", Gateway: f.pick(gws), MethodType: c.in.MethodType, Method: c.in.Method,
			Outcome: Outcome(f.n(5))})
	}
	return c, fbs
}

// refAmount is a decimal in major units, or nil when empty.
func refAmount(s string) *big.Rat {
	if s == "" {
		return nil
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("bad amount " + s)
	}
	return r
}

// refTxnAmount is the txn's amount in major units, or nil.
func refTxnAmount(in Input) *big.Rat {
	exp, ok := pay.CurrencyExponent(in.Currency)
	if !ok {
		return nil
	}
	return new(big.Rat).SetFrac(big.NewInt(in.Amount), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil))
}

func refInRange(in Input, min, max string) bool {
	lo, hi, amt := refAmount(min), refAmount(max), refTxnAmount(in)
	if lo == nil && hi == nil {
		return true
	}
	if amt == nil {
		return false
	}
	return (lo == nil || amt.Cmp(lo) >= 0) && (hi == nil || amt.Cmp(hi) <= 0)
}

func refMethodIn(list []string, m string) bool {
	for _, v := range list {
		v = strings.ToUpper(v)
		if v == m || (v == "MASTER" && m == "MASTERCARD") {
			return true
		}
	}
	return false
}

func refEligible(a *pay.GatewayAccount, l Limits, hasLimits bool, in Input) bool {
	if !a.Supports(in.MethodType, in.Currency) {
		return false
	}
	if hasLimits {
		if len(l.Methods) > 0 && !refMethodIn(l.Methods, in.Method) {
			return false
		}
		if !refInRange(in, l.AmountMin, l.AmountMax) {
			return false
		}
	}
	return true
}

func refMatches(r pay.RoutingRule, in Input) bool {
	w := r.When
	if len(w.PaymentMethodType) > 0 && !slices.Contains(w.PaymentMethodType, in.MethodType) {
		return false
	}
	if len(w.PaymentMethod) > 0 && !refMethodIn(w.PaymentMethod, in.Method) {
		return false
	}
	if len(w.Currency) > 0 && !slices.Contains(w.Currency, in.Currency) {
		return false
	}
	if !refInRange(in, w.AmountMin, w.AmountMax) {
		return false
	}
	if len(w.BINRanges) > 0 {
		hit := false
		for _, b := range w.BINRanges {
			lo, hi, _ := strings.Cut(b, "-")
			if len(in.CardBIN) < len(lo) {
				continue
			}
			v, err := strconv.ParseUint(in.CardBIN[:len(lo)], 10, 64)
			l, _ := strconv.ParseUint(lo, 10, 64)
			h, _ := strconv.ParseUint(hi, 10, 64)
			if err == nil && v >= l && v <= h {
				hit = true
			}
		}
		if !hit {
			return false
		}
	}
	for k, v := range w.UDF {
		n, _ := strconv.Atoi(k[3:])
		if in.UDF[n-1] != v {
			return false
		}
	}
	return true
}

func FuzzDecide(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("switchyard routes payments"))
	f.Add([]byte{5, 1, 15, 15, 0, 0, 1, 1, 6, 3, 2, 1, 0, 200, 17, 3, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{3, 1, 1, 1, 1, 1, 0, 2, 1, 2, 2, 2, 2, 0, 1, 6, 0, 1, 1, 0, 0, 4, 1, 1, 3, 2, 2, 2, 2, 1, 0, 60, 3, 3, 3, 3, 3})
	for i := 0; i < 16; i++ {
		b := make([]byte, 96)
		for j := range b {
			b[j] = byte((i*131 + j*(i+7)*17) % 251)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, fbs := buildFuzzCase(data)
		plan, err := NewPlan(Setup{MerchantID: "m", Routing: &c.cfg, Gateways: c.accts, FeeCurrency: "INR", Limits: c.limits})
		if err != nil {
			return // an invalid config is refused, not routed
		}
		r := New(Options{Seed: 1})
		now := t0
		for _, fb := range fbs {
			now = now.Add(time.Second)
			r.Observe(fb, now)
		}
		var d Decision
		err = r.Decide(plan, &c.in, now, &d)

		byName := map[string]*pay.GatewayAccount{}
		var eligible []string
		for _, a := range c.accts {
			byName[a.Name] = a
			l, ok := c.limits[a.Name]
			if refEligible(a, l, ok, c.in) {
				eligible = append(eligible, a.Name)
			}
		}
		if (err == nil) != (d.N > 0) || (err != nil && !errors.Is(err, ErrNoGateway)) {
			t.Fatalf("err %v with %d candidates", err, d.N)
		}
		got := names(&d)
		seen := map[string]bool{}
		for _, g := range got {
			if seen[g] {
				t.Fatalf("%s listed twice: %v", g, got)
			}
			seen[g] = true
			if !slices.Contains(eligible, g) {
				t.Fatalf("%s is not eligible (eligible: %v)", g, eligible)
			}
			if d.Candidates[slices.Index(got, g)].Account != byName[g] {
				t.Fatalf("%s: wrong account", g)
			}
		}
		if c.in.Gateway != "" {
			if want := slices.Contains(eligible, c.in.Gateway); want != (err == nil) || (err == nil && (d.N != 1 || got[0] != c.in.Gateway)) {
				t.Fatalf("forced %s: got %v, err %v", c.in.Gateway, got, err)
			}
			return
		}

		var rule *pay.RoutingRule
		for i := range c.cfg.Rules {
			if refMatches(c.cfg.Rules[i], c.in) {
				rule = &c.cfg.Rules[i]
				break
			}
		}
		wantSet := eligible
		if rule == nil {
			if d.Rule != "" {
				t.Fatalf("rule %q matched, want none", d.Rule)
			}
		} else {
			if d.Rule != rule.Name {
				t.Fatalf("rule %q matched, want %q", d.Rule, rule.Name)
			}
			if rule.Then.Type == pay.ActionEnforce {
				wantSet = nil
				for _, g := range eligible {
					if slices.Contains(rule.Then.Gateways, g) {
						wantSet = append(wantSet, g)
					}
				}
			}
		}
		sorted := slices.Sorted(slices.Values(got))
		if !slices.Equal(sorted, wantSet) {
			t.Fatalf("candidates %v, want the set %v", got, wantSet)
		}
		if err != nil || rule == nil || d.Probe || d.Reason == ReasonDowntime {
			return
		}
		// Elimination demotes: the rule's order holds among the others.
		var healthy []string
		for _, c := range d.List() {
			if !c.Eliminated {
				healthy = append(healthy, c.Gateway)
			}
		}
		switch rule.Then.Type {
		case pay.ActionPriority:
			var want []string
			for _, g := range rule.Then.Gateways {
				if slices.Contains(healthy, g) {
					want = append(want, g)
				}
			}
			if !slices.Equal(healthy[:len(want)], want) {
				t.Fatalf("PRIORITY %v: candidates %v", rule.Then.Gateways, d.List())
			}
		case pay.ActionSplit:
			var split []string
			out := false
			for _, s := range rule.Then.Split {
				if slices.Contains(eligible, s.Gateway) {
					split = append(split, s.Gateway)
					out = out || !slices.Contains(healthy, s.Gateway)
				}
			}
			if len(split) > 0 && !out && !slices.Contains(split, got[0]) {
				t.Fatalf("SPLIT %v: primary %s", rule.Then.Split, got[0])
			}
		}
	})
}
